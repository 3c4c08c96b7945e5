// The public services of assistant.v1, each a thin layer over Core.
#ifndef APPLIANCE_SRC_SERVICES_H_
#define APPLIANCE_SRC_SERVICES_H_

#include "assistant/v1/admin.grpc.pb.h"
#include "assistant/v1/audit.grpc.pb.h"
#include "assistant/v1/chat.grpc.pb.h"
#include "assistant/v1/conversations.grpc.pb.h"
#include "assistant/v1/models.grpc.pb.h"
#include "assistant/v1/policy.grpc.pb.h"
#include "core.h"

namespace appliance {

class ChatServiceImpl final : public assistant::v1::ChatService::Service {
 public:
  explicit ChatServiceImpl(Core* core) : core_(core) {}
  grpc::Status Chat(grpc::ServerContext* context, const assistant::v1::ChatRequest* request,
                    grpc::ServerWriter<assistant::v1::ChatEvent>* writer) override;

 private:
  Core* const core_;
};

class ConversationServiceImpl final : public assistant::v1::ConversationService::Service {
 public:
  explicit ConversationServiceImpl(Core* core) : core_(core) {}
  grpc::Status ListConversations(grpc::ServerContext* context,
                                 const assistant::v1::ListConversationsRequest* request,
                                 assistant::v1::ListConversationsResponse* response) override;
  grpc::Status GetConversation(grpc::ServerContext* context,
                               const assistant::v1::GetConversationRequest* request,
                               assistant::v1::Conversation* response) override;
  grpc::Status DeleteConversation(grpc::ServerContext* context,
                                  const assistant::v1::DeleteConversationRequest* request,
                                  assistant::v1::DeleteConversationResponse* response) override;

 private:
  Core* const core_;
};

class ModelServiceImpl final : public assistant::v1::ModelService::Service {
 public:
  explicit ModelServiceImpl(Core* core) : core_(core) {}
  grpc::Status ListModels(grpc::ServerContext* context,
                          const assistant::v1::ListModelsRequest* request,
                          assistant::v1::ListModelsResponse* response) override;

 private:
  Core* const core_;
};

class MyPolicyServiceImpl final : public assistant::v1::MyPolicyService::Service {
 public:
  explicit MyPolicyServiceImpl(Core* core) : core_(core) {}
  grpc::Status GetMyPolicy(grpc::ServerContext* context,
                           const assistant::v1::GetMyPolicyRequest* request,
                           assistant::v1::MyPolicy* response) override;

 private:
  Core* const core_;
};

class AdminServiceImpl final : public assistant::v1::AdminService::Service {
 public:
  explicit AdminServiceImpl(Core* core) : core_(core) {}
  grpc::Status GetPolicy(grpc::ServerContext*, const assistant::v1::GetPolicyRequest*,
                         assistant::v1::PolicyDocument*) override;
  grpc::Status ValidatePolicy(grpc::ServerContext*, const assistant::v1::ValidatePolicyRequest*,
                              assistant::v1::ValidatePolicyResponse*) override;
  grpc::Status ApplyPolicy(grpc::ServerContext*, const assistant::v1::ApplyPolicyRequest*,
                           assistant::v1::ApplyPolicyResponse*) override;
  grpc::Status ListLegalHolds(grpc::ServerContext*, const assistant::v1::ListLegalHoldsRequest*,
                              assistant::v1::ListLegalHoldsResponse*) override;
  grpc::Status PlaceLegalHold(grpc::ServerContext*, const assistant::v1::PlaceLegalHoldRequest*,
                              assistant::v1::LegalHold*) override;
  grpc::Status ReleaseLegalHold(grpc::ServerContext*, const assistant::v1::ReleaseLegalHoldRequest*,
                                assistant::v1::ReleaseLegalHoldResponse*) override;
  grpc::Status PurgeNow(grpc::ServerContext*, const assistant::v1::PurgeNowRequest*,
                        assistant::v1::PurgeNowResponse*) override;
  grpc::Status CreateToken(grpc::ServerContext*, const assistant::v1::CreateTokenRequest*,
                           assistant::v1::CreateTokenResponse*) override;
  grpc::Status ListTokens(grpc::ServerContext*, const assistant::v1::ListTokensRequest*,
                          assistant::v1::ListTokensResponse*) override;
  grpc::Status RevokeToken(grpc::ServerContext*, const assistant::v1::RevokeTokenRequest*,
                           assistant::v1::RevokeTokenResponse*) override;
  grpc::Status GetWorkerStatus(grpc::ServerContext*, const assistant::v1::GetWorkerStatusRequest*,
                               assistant::v1::WorkerStatusResponse*) override;

 private:
  common::StatusOr<Identity> Admin(grpc::ServerContext* context, std::string_view action);
  Core* const core_;
};

class AuditServiceImpl final : public assistant::v1::AuditService::Service {
 public:
  explicit AuditServiceImpl(Core* core) : core_(core) {}
  grpc::Status QueryRecords(grpc::ServerContext*, const assistant::v1::QueryRecordsRequest*,
                            grpc::ServerWriter<assistant::v1::AuditRecord>*) override;
  grpc::Status Verify(grpc::ServerContext*, const assistant::v1::VerifyRequest*,
                      grpc::ServerWriter<assistant::v1::VerifyProgress>*) override;
  grpc::Status Export(grpc::ServerContext*, const assistant::v1::ExportRequest*,
                      grpc::ServerWriter<assistant::v1::ExportChunk>*) override;
  grpc::Status CreateCheckpoint(grpc::ServerContext*, const assistant::v1::CreateCheckpointRequest*,
                                assistant::v1::Checkpoint*) override;
  grpc::Status GetSigningKey(grpc::ServerContext*, const assistant::v1::GetSigningKeyRequest*,
                             assistant::v1::SigningKey*) override;

 private:
  // Authenticates and requires the auditor role (a refusal is audited).
  common::StatusOr<Identity> Auditor(grpc::ServerContext* context, std::string_view action);
  // Records the access itself (who, action, filter, how many records; never
  // content) before any of the result is sent: no unrecorded access.
  common::StatusOr<uint64_t> RecordAccess(const Identity& who, grpc::ServerContext* context,
                                          audit::EventType event, std::string_view action,
                                          const assistant::v1::AuditFilter* filter,
                                          uint64_t records);
  Core* const core_;
};

// Shared by AdminService.ApplyPolicy and SIGHUP: validates `yaml`, installs
// it, records the change in the ledger. The running policy stays on error.
common::StatusOr<uint64_t> ApplyPolicyText(Core* core, const std::string& yaml,
                                           const std::string& source, const std::string& actor);

}  // namespace appliance

#endif  // APPLIANCE_SRC_SERVICES_H_
