// The one place that speaks gRPC to assistantd. Every call runs on a worker
// thread of the client's own pool; its result is delivered on the thread that
// owns the client (the GUI thread) through a queued invocation, so the GUI
// never blocks on the network. Streams can be cancelled from any thread.
//
// Lifetime: destroying the client cancels every call in flight and waits for
// the workers, so a callback never runs after the client is gone. Callbacks
// that touch other objects capture a QPointer to them.
#ifndef GUI_APPLIANCE_CLIENT_H_
#define GUI_APPLIANCE_CLIENT_H_

#include <QObject>
#include <QString>
#include <QStringList>
#include <QThreadPool>

#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

#include "assistant/v1/admin.grpc.pb.h"
#include "assistant/v1/audit.grpc.pb.h"
#include "assistant/v1/chat.grpc.pb.h"
#include "assistant/v1/conversations.grpc.pb.h"
#include "assistant/v1/health.grpc.pb.h"
#include "assistant/v1/models.grpc.pb.h"
#include "assistant/v1/policy.grpc.pb.h"
#include "common/secret.h"
#include "common/status.h"
#include "gui/connection_settings.h"
#include "gui/rpc_error.h"

namespace gui {

namespace v1 = assistant::v1;

template <class T>
struct RpcResult {
  RpcError error;
  T value{};
  bool ok() const { return error.ok(); }
};

// A call in flight; cancel() is thread-safe and idempotent.
class CallHandle {
 public:
  void cancel();
  bool cancelRequested() const;
  grpc::ClientContext& context() { return m_context; }

 private:
  grpc::ClientContext m_context;
  mutable std::mutex m_mu;
  bool m_cancelled = false;  // guarded by m_mu
};

class ApplianceClient : public QObject {
  Q_OBJECT
 public:
  template <class T>
  using Done = std::function<void(const RpcResult<T>&)>;

  // Reads the CA, certificate and key files named by `settings` (or uses the
  // bearer `token`); INVALID_ARGUMENT when a file is missing or unreadable.
  static common::StatusOr<std::unique_ptr<ApplianceClient>> create(
      const ConnectionSettings& settings, common::SecretBytes token = {});
  ~ApplianceClient() override;

  QString address() const { return m_address; }

  void health(Done<v1::HealthCheckResponse> done);
  void myPolicy(Done<v1::MyPolicy> done);
  void listModels(const QString& classification, Done<v1::ListModelsResponse> done);
  void listConversations(const QString& titleContains, Done<v1::ListConversationsResponse> done);
  void getConversation(const QString& id, Done<v1::Conversation> done);
  void deleteConversation(const QString& id, Done<v1::DeleteConversationResponse> done);

  void getPolicy(Done<v1::PolicyDocument> done);
  void validatePolicy(const QString& yaml, Done<v1::ValidatePolicyResponse> done);
  void applyPolicy(const QString& yaml, const QString& expectedHash,
                   Done<v1::ApplyPolicyResponse> done);
  void listLegalHolds(Done<v1::ListLegalHoldsResponse> done);
  void placeLegalHold(const v1::PlaceLegalHoldRequest& req, Done<v1::LegalHold> done);
  void releaseLegalHold(const QString& id, Done<v1::ReleaseLegalHoldResponse> done);
  void workerStatus(Done<v1::WorkerStatusResponse> done);

  struct ChatCallbacks {
    std::function<void(const v1::ChatStart&)> onStart;
    std::function<void(const QString& text, quint32 tokens)> onDelta;
    std::function<void(const v1::ChatEnd&)> onEnd;
    std::function<void(const RpcError&)> onError;  // also after a cancel
  };
  std::shared_ptr<CallHandle> chat(const v1::ChatRequest& req, ChatCallbacks cb);

  void queryRecords(const v1::AuditFilter& filter, Done<std::vector<v1::AuditRecord>> done);
  std::shared_ptr<CallHandle> verify(const QString& trustedCheckpoint,
                                     std::function<void(quint64 checked, quint64 total)> progress,
                                     Done<v1::VerifyVerdict> done);
  // Streams an evidence bundle into `folder` (created if needed). Paths from
  // the server are checked: nothing is written outside the folder.
  std::shared_ptr<CallHandle> exportBundle(const v1::AuditFilter& filter, const QString& folder,
                                           std::function<void(qint64 bytes)> progress,
                                           Done<QStringList> done);

 private:
  ApplianceClient(QString address, std::shared_ptr<grpc::Channel> channel,
                  common::SecretBytes token);

  std::shared_ptr<CallHandle> startCall(int deadlineSeconds);
  void finishCall(const std::shared_ptr<CallHandle>& call);
  void deliver(std::function<void()> fn);  // queued to this object's thread
  template <class Stub, class Req, class Resp>
  void unary(Stub* stub,
             grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
             Req req, Done<Resp> done, int deadlineSeconds = 30);

  // Constant after construction.
  const QString m_address;
  const std::shared_ptr<grpc::Channel> m_channel;
  const common::SecretBytes m_token;
  std::unique_ptr<v1::HealthService::Stub> m_health;
  std::unique_ptr<v1::MyPolicyService::Stub> m_policy;
  std::unique_ptr<v1::ModelService::Stub> m_models;
  std::unique_ptr<v1::ConversationService::Stub> m_conversations;
  std::unique_ptr<v1::ChatService::Stub> m_chat;
  std::unique_ptr<v1::AdminService::Stub> m_admin;
  std::unique_ptr<v1::AuditService::Stub> m_audit;

  QThreadPool m_pool;
  std::mutex m_mu;
  std::set<std::shared_ptr<CallHandle>> m_calls;  // guarded by m_mu
};

}  // namespace gui

#endif  // GUI_APPLIANCE_CLIENT_H_
