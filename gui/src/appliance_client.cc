#include "gui/appliance_client.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QMetaObject>

#include <chrono>
#include <map>

namespace gui {
namespace {

common::StatusOr<std::string> readPem(const QString& path, const char* what) {
  QFile f(path);
  if (path.isEmpty() || !f.open(QIODevice::ReadOnly)) {
    return common::Status(common::StatusCode::kInvalidArgument,
                          std::string("cannot read the ") + what + " file",
                          "CREDENTIAL_FILE_UNREADABLE");
  }
  return f.readAll().toStdString();
}

// A relative path from the server is acceptable only if it stays inside the
// export folder: no absolute paths, no "..", no empty components.
bool safeRelativePath(const QString& path) {
  if (path.isEmpty() || path.startsWith('/') || path.contains('\\') || path.contains(':')) {
    return false;
  }
  for (const QString& part : path.split('/')) {
    if (part.isEmpty() || part == QLatin1String(".") || part == QLatin1String("..")) return false;
  }
  return true;
}

}  // namespace

void CallHandle::cancel() {
  {
    std::lock_guard<std::mutex> lock(m_mu);
    m_cancelled = true;
  }
  m_context.TryCancel();
}

bool CallHandle::cancelRequested() const {
  std::lock_guard<std::mutex> lock(m_mu);
  return m_cancelled;
}

common::StatusOr<std::unique_ptr<ApplianceClient>> ApplianceClient::create(
    const ConnectionSettings& settings, common::SecretBytes token) {
  if (settings.address.trimmed().isEmpty()) {
    return common::Status(common::StatusCode::kInvalidArgument, "no appliance address",
                          "ADDRESS_MISSING");
  }
  grpc::SslCredentialsOptions ssl;
  ASSIGN_OR_RETURN(ssl.pem_root_certs, readPem(settings.caPath, "CA certificate"));
  if (settings.auth == ConnectionSettings::Auth::ClientCertificate) {
    ASSIGN_OR_RETURN(ssl.pem_cert_chain, readPem(settings.certPath, "client certificate"));
    ASSIGN_OR_RETURN(ssl.pem_private_key, readPem(settings.keyPath, "client key"));
    token = common::SecretBytes();
  } else if (token.empty()) {
    return common::Status(common::StatusCode::kInvalidArgument, "no access token",
                          "TOKEN_MISSING");
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  auto channel = grpc::CreateCustomChannel(settings.address.trimmed().toStdString(),
                                           grpc::SslCredentials(ssl), args);
  // The private key's copy in `ssl` is overwritten before it goes out of scope.
  common::SecureZero(ssl.pem_private_key.data(), ssl.pem_private_key.size());
  return std::unique_ptr<ApplianceClient>(
      new ApplianceClient(settings.address.trimmed(), std::move(channel), std::move(token)));
}

ApplianceClient::ApplianceClient(QString address, std::shared_ptr<grpc::Channel> channel,
                                 common::SecretBytes token)
    : m_address(std::move(address)),
      m_channel(std::move(channel)),
      m_token(std::move(token)),
      m_health(v1::HealthService::NewStub(m_channel)),
      m_policy(v1::MyPolicyService::NewStub(m_channel)),
      m_models(v1::ModelService::NewStub(m_channel)),
      m_conversations(v1::ConversationService::NewStub(m_channel)),
      m_chat(v1::ChatService::NewStub(m_channel)),
      m_admin(v1::AdminService::NewStub(m_channel)),
      m_audit(v1::AuditService::NewStub(m_channel)) {
  m_pool.setMaxThreadCount(8);
}

ApplianceClient::~ApplianceClient() {
  {
    std::lock_guard<std::mutex> lock(m_mu);
    for (const auto& call : m_calls) call->cancel();
  }
  m_pool.waitForDone();
}

std::shared_ptr<CallHandle> ApplianceClient::startCall(int deadlineSeconds) {
  auto call = std::make_shared<CallHandle>();
  if (deadlineSeconds > 0) {
    call->context().set_deadline(std::chrono::system_clock::now() +
                                 std::chrono::seconds(deadlineSeconds));
  }
  if (!m_token.empty()) {
    std::string header = "Bearer ";
    header.append(reinterpret_cast<const char*>(m_token.InsecureData()), m_token.size());
    call->context().AddMetadata("authorization", header);
    common::SecureZero(header.data(), header.size());
  }
  std::lock_guard<std::mutex> lock(m_mu);
  m_calls.insert(call);
  return call;
}

void ApplianceClient::finishCall(const std::shared_ptr<CallHandle>& call) {
  std::lock_guard<std::mutex> lock(m_mu);
  m_calls.erase(call);
}

void ApplianceClient::deliver(std::function<void()> fn) {
  QMetaObject::invokeMethod(this, std::move(fn), Qt::QueuedConnection);
}

template <class Stub, class Req, class Resp>
void ApplianceClient::unary(Stub* stub,
                            grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                            Req req, Done<Resp> done, int deadlineSeconds) {
  auto call = startCall(deadlineSeconds);
  m_pool.start([this, stub, method, req = std::move(req), done = std::move(done), call] {
    auto result = std::make_shared<RpcResult<Resp>>();
    grpc::Status status = (stub->*method)(&call->context(), req, &result->value);
    result->error = RpcError::fromCall(status, call->context().GetServerTrailingMetadata());
    finishCall(call);
    deliver([done, result] { done(*result); });
  });
}

void ApplianceClient::health(Done<v1::HealthCheckResponse> done) {
  unary(m_health.get(), &v1::HealthService::Stub::Check, v1::HealthCheckRequest(),
        std::move(done), 5);
}

void ApplianceClient::myPolicy(Done<v1::MyPolicy> done) {
  unary(m_policy.get(), &v1::MyPolicyService::Stub::GetMyPolicy, v1::GetMyPolicyRequest(),
        std::move(done));
}

void ApplianceClient::listModels(const QString& classification,
                                 Done<v1::ListModelsResponse> done) {
  v1::ListModelsRequest req;
  req.set_classification(classification.toStdString());
  unary(m_models.get(), &v1::ModelService::Stub::ListModels, std::move(req), std::move(done));
}

void ApplianceClient::listConversations(const QString& titleContains,
                                        Done<v1::ListConversationsResponse> done) {
  v1::ListConversationsRequest req;
  req.set_title_contains(titleContains.toStdString());
  req.mutable_page()->set_page_size(200);
  unary(m_conversations.get(), &v1::ConversationService::Stub::ListConversations,
        std::move(req), std::move(done));
}

void ApplianceClient::getConversation(const QString& id, Done<v1::Conversation> done) {
  v1::GetConversationRequest req;
  req.set_id(id.toStdString());
  unary(m_conversations.get(), &v1::ConversationService::Stub::GetConversation, std::move(req),
        std::move(done));
}

void ApplianceClient::deleteConversation(const QString& id,
                                         Done<v1::DeleteConversationResponse> done) {
  v1::DeleteConversationRequest req;
  req.set_id(id.toStdString());
  unary(m_conversations.get(), &v1::ConversationService::Stub::DeleteConversation,
        std::move(req), std::move(done));
}

void ApplianceClient::getPolicy(Done<v1::PolicyDocument> done) {
  unary(m_admin.get(), &v1::AdminService::Stub::GetPolicy, v1::GetPolicyRequest(),
        std::move(done));
}

void ApplianceClient::validatePolicy(const QString& yaml, Done<v1::ValidatePolicyResponse> done) {
  v1::ValidatePolicyRequest req;
  req.set_yaml(yaml.toStdString());
  unary(m_admin.get(), &v1::AdminService::Stub::ValidatePolicy, std::move(req), std::move(done));
}

void ApplianceClient::applyPolicy(const QString& yaml, const QString& expectedHash,
                                  Done<v1::ApplyPolicyResponse> done) {
  v1::ApplyPolicyRequest req;
  req.set_yaml(yaml.toStdString());
  req.set_expected_current_hash(expectedHash.toStdString());
  unary(m_admin.get(), &v1::AdminService::Stub::ApplyPolicy, std::move(req), std::move(done));
}

void ApplianceClient::listLegalHolds(Done<v1::ListLegalHoldsResponse> done) {
  unary(m_admin.get(), &v1::AdminService::Stub::ListLegalHolds, v1::ListLegalHoldsRequest(),
        std::move(done));
}

void ApplianceClient::placeLegalHold(const v1::PlaceLegalHoldRequest& req,
                                     Done<v1::LegalHold> done) {
  unary(m_admin.get(), &v1::AdminService::Stub::PlaceLegalHold, req, std::move(done));
}

void ApplianceClient::releaseLegalHold(const QString& id,
                                       Done<v1::ReleaseLegalHoldResponse> done) {
  v1::ReleaseLegalHoldRequest req;
  req.set_id(id.toStdString());
  unary(m_admin.get(), &v1::AdminService::Stub::ReleaseLegalHold, std::move(req),
        std::move(done));
}

void ApplianceClient::workerStatus(Done<v1::WorkerStatusResponse> done) {
  unary(m_admin.get(), &v1::AdminService::Stub::GetWorkerStatus, v1::GetWorkerStatusRequest(),
        std::move(done));
}

std::shared_ptr<CallHandle> ApplianceClient::chat(const v1::ChatRequest& req, ChatCallbacks cb) {
  auto call = startCall(0);  // no deadline: the user stops a stream
  auto shared = std::make_shared<ChatCallbacks>(std::move(cb));
  m_pool.start([this, req, shared, call] {
    auto reader = m_chat->Chat(&call->context(), req);
    v1::ChatEvent event;
    while (reader->Read(&event)) {
      switch (event.event_case()) {
        case v1::ChatEvent::kStart:
          deliver([shared, start = event.start()] { shared->onStart(start); });
          break;
        case v1::ChatEvent::kDelta:
          deliver([shared, text = QString::fromStdString(event.delta().text()),
                   tokens = event.delta().tokens()] { shared->onDelta(text, tokens); });
          break;
        case v1::ChatEvent::kEnd:
          deliver([shared, end = event.end()] { shared->onEnd(end); });
          break;
        default:
          break;  // an event kind this client does not know: ignored (compatibility rules)
      }
    }
    grpc::Status status = reader->Finish();
    if (!status.ok()) {
      RpcError error = RpcError::fromCall(status, call->context().GetServerTrailingMetadata());
      deliver([shared, error] { shared->onError(error); });
    }
    finishCall(call);
  });
  return call;
}

void ApplianceClient::queryRecords(const v1::AuditFilter& filter,
                                   Done<std::vector<v1::AuditRecord>> done) {
  auto call = startCall(120);
  m_pool.start([this, filter, done = std::move(done), call] {
    v1::QueryRecordsRequest req;
    *req.mutable_filter() = filter;
    auto result = std::make_shared<RpcResult<std::vector<v1::AuditRecord>>>();
    auto reader = m_audit->QueryRecords(&call->context(), req);
    v1::AuditRecord record;
    while (reader->Read(&record)) result->value.push_back(record);
    grpc::Status status = reader->Finish();
    result->error = RpcError::fromCall(status, call->context().GetServerTrailingMetadata());
    finishCall(call);
    deliver([done, result] { done(*result); });
  });
}

std::shared_ptr<CallHandle> ApplianceClient::verify(
    const QString& trustedCheckpoint, std::function<void(quint64, quint64)> progress,
    Done<v1::VerifyVerdict> done) {
  auto call = startCall(0);
  m_pool.start([this, checkpoint = trustedCheckpoint.toStdString(), progress,
                done = std::move(done), call] {
    v1::VerifyRequest req;
    req.set_trusted_checkpoint(checkpoint);
    auto result = std::make_shared<RpcResult<v1::VerifyVerdict>>();
    bool haveVerdict = false;
    auto reader = m_audit->Verify(&call->context(), req);
    v1::VerifyProgress p;
    while (reader->Read(&p)) {
      deliver([progress, c = p.records_checked(), t = p.records_total()] { progress(c, t); });
      if (p.has_verdict()) {
        result->value = p.verdict();
        haveVerdict = true;
      }
    }
    grpc::Status status = reader->Finish();
    result->error = RpcError::fromCall(status, call->context().GetServerTrailingMetadata());
    if (result->error.ok() && !haveVerdict) {
      result->error = RpcError::local(grpc::StatusCode::INTERNAL,
                                      QStringLiteral("the verification ended without a verdict"));
    }
    finishCall(call);
    deliver([done, result] { done(*result); });
  });
  return call;
}

std::shared_ptr<CallHandle> ApplianceClient::exportBundle(const v1::AuditFilter& filter,
                                                          const QString& folder,
                                                          std::function<void(qint64)> progress,
                                                          Done<QStringList> done) {
  auto call = startCall(0);
  m_pool.start([this, filter, folder, progress, done = std::move(done), call] {
    auto result = std::make_shared<RpcResult<QStringList>>();
    QDir dir(folder);
    if (!dir.mkpath(QStringLiteral("."))) {
      result->error = RpcError::local(grpc::StatusCode::FAILED_PRECONDITION,
                                      QStringLiteral("cannot create the export folder"));
      finishCall(call);
      deliver([done, result] { done(*result); });
      return;
    }
    v1::ExportRequest req;
    *req.mutable_filter() = filter;
    auto reader = m_audit->Export(&call->context(), req);
    std::map<QString, std::unique_ptr<QFile>> open;
    qint64 bytes = 0;
    v1::ExportChunk chunk;
    while (reader->Read(&chunk)) {
      const QString rel = QString::fromStdString(chunk.path());
      if (!safeRelativePath(rel)) {
        result->error = RpcError::local(grpc::StatusCode::DATA_LOSS,
                                        QStringLiteral("the bundle names an unsafe path"));
        call->cancel();
        break;
      }
      auto& file = open[rel];
      if (!file) {
        const QString path = dir.filePath(rel);
        QDir().mkpath(QFileInfo(path).absolutePath());
        file = std::make_unique<QFile>(path);
        if (!file->open(QIODevice::WriteOnly | QIODevice::Truncate)) {
          result->error = RpcError::local(grpc::StatusCode::FAILED_PRECONDITION,
                                          QStringLiteral("cannot write %1").arg(rel));
          call->cancel();
          break;
        }
        result->value << rel;
      }
      file->write(chunk.data().data(), static_cast<qint64>(chunk.data().size()));
      bytes += static_cast<qint64>(chunk.data().size());
      if (chunk.end_of_file()) file->close();
      deliver([progress, bytes] { progress(bytes); });
    }
    grpc::Status status = reader->Finish();
    if (result->error.ok()) {
      result->error = RpcError::fromCall(status, call->context().GetServerTrailingMetadata());
    }
    for (auto& [name, file] : open) file->close();
    finishCall(call);
    deliver([done, result] { done(*result); });
  });
  return call;
}

}  // namespace gui
