// Models, my-policy, admin and audit services.
#include "services.h"
#include "common/file.h"

#include <openssl/rand.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "appliance/grpc_status.h"
#include "audit/checkpoint.h"
#include "audit/retention.h"
#include "common/sha256.h"
#include "policy/policy.h"

namespace appliance {

using common::Status;
using common::StatusOr;
namespace v1 = assistant::v1;

namespace {

void Fill(v1::Retention* out, const policy::Retention& r) {
  out->set_not_stored(!r.store_content);
  out->mutable_content_retention()->set_seconds(r.content_seconds);
  out->mutable_audit_retention()->set_seconds(r.audit_seconds);
}

bool ClassAllows(const policy::Classification& c, const Identity& who) {
  if (c.roles.empty()) return true;
  for (const auto& r : c.roles) {
    if (who.HasRole(r)) return true;
  }
  return false;
}

bool ModelAllowed(const policy::Classification& c, const std::string& model) {
  if (c.models.any_name) return true;
  return std::find(c.models.names.begin(), c.models.names.end(), model) != c.models.names.end();
}

}  // namespace

// ---------------------------------------------------------------- models

grpc::Status ModelServiceImpl::ListModels(grpc::ServerContext* context,
                                          const v1::ListModelsRequest* request,
                                          v1::ListModelsResponse* response) {
  auto who = core_->Authenticate(context, "ListModels");
  if (!who.ok()) return ToGrpcStatus(who.status(), context);
  auto pol = core_->policy->Current();
  for (const auto& m : core_->workers->Models()) {
    std::vector<std::string> allowed;
    for (const auto& c : pol->classifications()) {
      if (ClassAllows(c, *who) && ModelAllowed(c, m.name())) allowed.push_back(c.name);
    }
    if (!request->classification().empty() &&
        std::find(allowed.begin(), allowed.end(), request->classification()) == allowed.end()) {
      continue;
    }
    auto* out = response->add_models();
    out->set_name(m.name());
    out->set_architecture(m.architecture());
    out->set_parameters(m.parameters());
    out->set_file_size_bytes(m.file_size_bytes());
    out->set_quantization(m.quantization());
    out->set_sha256(m.sha256());
    out->set_context_length(m.context_length());
    out->set_backend(m.backend());
    out->set_state(static_cast<v1::Model::State>(m.state()));
    out->set_load_progress(m.load_progress());
    for (const auto& c : allowed) out->add_allowed_classifications(c);
    for (const auto& mc : core_->config.models) {
      if (mc.name == m.name()) {
        for (const auto& [k, v] : mc.labels) (*out->mutable_labels())[k] = v;
      }
    }
  }
  return grpc::Status::OK;
}

// ---------------------------------------------------------------- my policy

grpc::Status MyPolicyServiceImpl::GetMyPolicy(grpc::ServerContext* context,
                                              const v1::GetMyPolicyRequest*,
                                              v1::MyPolicy* response) {
  auto who = core_->Authenticate(context, "GetMyPolicy");
  if (!who.ok()) return ToGrpcStatus(who.status(), context);
  auto pol = core_->policy->Current();
  response->set_user_id(who->user_id);
  for (const auto& r : who->roles) response->add_roles(r);
  response->set_site(pol->site());
  response->set_jurisdiction(pol->jurisdiction());
  response->set_default_classification(pol->default_classification());
  const auto models = core_->workers->Models();
  for (const auto& c : pol->classifications()) {
    if (!ClassAllows(c, *who)) continue;
    auto* ci = response->add_classifications();
    ci->set_name(c.name);
    Fill(ci->mutable_retention(), c.retention);
    for (const auto& m : models) {
      if (ModelAllowed(c, m.name())) ci->add_models(m.name());
    }
    for (auto d : policy::kBuiltinDetectors) {
      policy::Action a = pol->DetectorActionFor(c, d);
      if (a != policy::Action::kOff) (*ci->mutable_detectors())[std::string(d)] = std::string(policy::ActionName(a));
    }
    ci->set_incognito_allowed(true);
  }
  const policy::Limits l = pol->LimitsFor(who->user_id, who->roles);
  auto* lim = response->mutable_limits();
  lim->set_max_prompt_tokens(static_cast<uint32_t>(l.prompt_tokens.value_or(0)));
  lim->set_max_output_tokens(static_cast<uint32_t>(l.output_tokens.value_or(0)));
  lim->set_requests_per_minute(static_cast<uint32_t>(l.requests_per_minute.value_or(0)));
  lim->set_tokens_per_minute(static_cast<uint32_t>(l.tokens_per_minute.value_or(0)));
  lim->set_concurrent_streams(static_cast<uint32_t>(l.concurrent_streams.value_or(0)));
  response->set_policy_hash(pol->hash());
  response->set_policy_version(static_cast<uint32_t>(pol->version()));
  return grpc::Status::OK;
}

// ---------------------------------------------------------------- admin

StatusOr<uint64_t> ApplyPolicyText(Core* core, const std::string& yaml, const std::string& source,
                                   const std::string& actor) {
  auto parsed = policy::Policy::FromYaml(yaml, source);
  const std::string old_hash = core->policy->Current()->hash();
  audit::Record rec;
  rec.event = audit::EventType::kPolicyChange;
  rec.subject = actor;
  rec.policy_sha256 = old_hash;
  common::Json details = common::Json::MakeObject();
  details.Set("source", source);
  if (!parsed.ok()) {
    rec.decision = "deny";
    rec.reasons = {"policy.invalid"};
    details.Set("error", parsed.status().message());
    rec.details = details.Dump();
    (void)core->Append(std::move(rec));
    LogEvent("warn", "policy refused; the running policy stays",
             common::Json(common::Json::Object{{"error", parsed.status().message()}}));
    return parsed.status();
  }
  details.Set("old_hash", old_hash);
  details.Set("new_hash", (*parsed)->hash());
  rec.decision = "allow";
  rec.details = details.Dump();
  ASSIGN_OR_RETURN(uint64_t seq, core->Append(std::move(rec)));
  core->policy->Install(*parsed);
  {
    std::lock_guard lock(core->policy_mu);
    core->policy_yaml = yaml;
    core->policy_applied_s = core->NowSeconds();
    core->policy_applied_by = actor;
  }
  // The new policy's legal_holds apply to stored conversations at once.
  for (const auto& c : core->conversations.All()) {
    if (Status hs = core->SyncLegalHold(c); !hs.ok()) {
      LogEvent("error", "legal hold not applied to a conversation",
               common::Json(common::Json::Object{{"conversation", c.id}, {"error", hs.message()}}));
    }
  }
  LogEvent("info", "policy installed",
           common::Json(common::Json::Object{{"hash", (*parsed)->hash()}, {"by", actor}}));
  return seq;
}

StatusOr<Identity> AdminServiceImpl::Admin(grpc::ServerContext* context, std::string_view action) {
  ASSIGN_OR_RETURN(Identity who, core_->Authenticate(context, action));
  RETURN_IF_ERROR(core_->RequireRole(who, {kRoleAdmin}, action, context));
  return who;
}

grpc::Status AdminServiceImpl::GetPolicy(grpc::ServerContext* context, const v1::GetPolicyRequest*,
                                         v1::PolicyDocument* response) {
  auto who = Admin(context, "GetPolicy");
  if (!who.ok()) return ToGrpcStatus(who.status(), context);
  auto pol = core_->policy->Current();
  std::lock_guard lock(core_->policy_mu);
  response->set_yaml(core_->policy_yaml);
  response->set_hash(pol->hash());
  response->set_version(static_cast<uint32_t>(pol->version()));
  response->mutable_applied()->set_seconds(core_->policy_applied_s);
  response->set_applied_by(core_->policy_applied_by);
  return grpc::Status::OK;
}

namespace {

void ErrorsFrom(const Status& s, google::protobuf::RepeatedPtrField<v1::PolicyError>* out) {
  // "source:line:col: message": the first ":<digits>:<digits>: " in it.
  const std::string msg = s.message();
  auto* e = out->Add();
  auto digits = [&](size_t i) {
    size_t j = i;
    while (j < msg.size() && std::isdigit(static_cast<unsigned char>(msg[j]))) ++j;
    return j;
  };
  for (size_t i = msg.find(':'); i != std::string::npos; i = msg.find(':', i + 1)) {
    const size_t line_end = digits(i + 1);
    if (line_end == i + 1 || line_end >= msg.size() || msg[line_end] != ':') continue;
    const size_t col_end = digits(line_end + 1);
    if (col_end == line_end + 1 || msg.compare(col_end, 2, ": ") != 0) continue;
    if (line_end - i > 9 || col_end - line_end > 9) continue;
    e->set_line(static_cast<uint32_t>(std::stoul(msg.substr(i + 1, line_end - i - 1))));
    e->set_column(static_cast<uint32_t>(std::stoul(msg.substr(line_end + 1, col_end - line_end - 1))));
    e->set_message(msg.substr(col_end + 2));
    return;
  }
  e->set_message(msg);
}

}  // namespace

grpc::Status AdminServiceImpl::ValidatePolicy(grpc::ServerContext* context,
                                              const v1::ValidatePolicyRequest* request,
                                              v1::ValidatePolicyResponse* response) {
  auto who = Admin(context, "ValidatePolicy");
  if (!who.ok()) return ToGrpcStatus(who.status(), context);
  auto parsed = policy::Policy::FromYaml(request->yaml(), "policy.yaml");
  response->set_valid(parsed.ok());
  if (!parsed.ok()) {
    ErrorsFrom(parsed.status(), response->mutable_errors());
  } else {
    response->set_hash((*parsed)->hash());
    response->set_summary((*parsed)->Summary());
  }
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::ApplyPolicy(grpc::ServerContext* context,
                                           const v1::ApplyPolicyRequest* request,
                                           v1::ApplyPolicyResponse* response) {
  auto who = Admin(context, "ApplyPolicy");
  if (!who.ok()) return ToGrpcStatus(who.status(), context);
  if (!request->expected_current_hash().empty() &&
      request->expected_current_hash() != core_->policy->Current()->hash()) {
    return ToGrpcStatus(Status(common::StatusCode::kAborted,
                               "the running policy changed meanwhile; fetch it again",
                               "POLICY_CHANGED"),
                        context);
  }
  auto seq = ApplyPolicyText(core_, request->yaml(), "policy.yaml", who->user_id);
  if (!seq.ok()) {
    v1::ErrorDetail detail;
    detail.set_reason("POLICY_INVALID");
    detail.set_message(seq.status().message());
    detail.set_remedy("Fix the policy at the line shown; the running policy was kept.");
    return ToGrpcStatus(seq.status(), context, detail);
  }
  // Persist so a restart keeps the applied policy.
  if (!core_->policy_path.empty()) {
    if (Status s = common::WriteFileAtomic(core_->policy_path, request->yaml()); !s.ok()) {
      LogEvent("error", "applied policy not persisted", common::Json(common::Json::Object{{"error", s.message()}}));
    }
  }
  response->set_hash(core_->policy->Current()->hash());
  response->set_audit_sequence(*seq);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::ListLegalHolds(grpc::ServerContext* context,
                                              const v1::ListLegalHoldsRequest*,
                                              v1::ListLegalHoldsResponse* response) {
  auto who = Admin(context, "ListLegalHolds");
  if (!who.ok()) return ToGrpcStatus(who.status(), context);
  for (const auto& h : core_->holds.List()) {
    auto* out = response->add_holds();
    out->set_id(h.id);
    if (!h.user_id.empty()) out->set_user_id(h.user_id);
    if (!h.conversation_id.empty()) out->set_conversation_id(h.conversation_id);
    out->set_reason(h.reason);
    out->mutable_placed()->set_seconds(h.placed_s);
    out->set_placed_by(h.placed_by);
  }
  for (const auto& h : core_->policy->Current()->legal_holds()) {
    for (const auto& u : h.users) {
      auto* out = response->add_holds();
      out->set_id(h.id);
      out->set_user_id(u);
      out->set_reason(h.reason);
      out->set_placed_by("policy");
    }
    for (const auto& c : h.conversations) {
      auto* out = response->add_holds();
      out->set_id(h.id);
      out->set_conversation_id(c);
      out->set_reason(h.reason);
      out->set_placed_by("policy");
    }
  }
  return grpc::Status::OK;
}

namespace {

// Every indexed conversation a hold covers.
std::vector<ConversationEntry> HeldConversations(Core* core, const HoldEntry& h) {
  if (!h.user_id.empty()) return core->conversations.ForOwner(h.user_id);
  auto c = core->conversations.Get(h.conversation_id);
  return c ? std::vector<ConversationEntry>{*c} : std::vector<ConversationEntry>{};
}

StatusOr<uint64_t> AuditHold(Core* core, const Identity& who, grpc::ServerContext* context,
                             const HoldEntry& h, bool placing) {
  audit::Record rec = core->RecordFor(audit::EventType::kLegalHold, who, context);
  rec.decision = placing ? "hold" : "release";
  rec.conversation_id = h.conversation_id;
  common::Json d = common::Json::MakeObject();
  d.Set("hold_id", h.id);
  if (!h.user_id.empty()) d.Set("user_id", h.user_id);
  d.Set("reason", h.reason.substr(0, 256));
  rec.details = d.Dump();
  return core->Append(std::move(rec));
}

}  // namespace

grpc::Status AdminServiceImpl::PlaceLegalHold(grpc::ServerContext* context,
                                              const v1::PlaceLegalHoldRequest* request,
                                              v1::LegalHold* response) {
  auto who = Admin(context, "PlaceLegalHold");
  if (!who.ok()) return ToGrpcStatus(who.status(), context);
  HoldEntry h;
  h.user_id = request->user_id();
  h.conversation_id = request->conversation_id();
  if (h.user_id.empty() == h.conversation_id.empty()) {
    return ToGrpcStatus(common::InvalidArgumentError("a legal hold names a user or a conversation"),
                        context);
  }
  if (!h.conversation_id.empty() && !core_->conversations.Get(h.conversation_id)) {
    return ToGrpcStatus(Status(common::StatusCode::kNotFound, "no conversation " + h.conversation_id,
                               "CONVERSATION_NOT_FOUND"),
                        context);
  }
  unsigned char b[8];
  RAND_bytes(b, sizeof b);
  h.id = "hold_" + common::HexEncode(b, sizeof b);
  h.reason = request->reason();
  h.placed_by = who->user_id;
  h.placed_s = core_->NowSeconds();
  // Recorded first: a hold that is in force is always on the record.
  auto seq = AuditHold(core_, *who, context, h, true);
  if (!seq.ok()) return ToGrpcStatus(seq.status(), context);
  if (Status s = core_->holds.Add(h); !s.ok()) return ToGrpcStatus(s, context);
  for (const auto& c : HeldConversations(core_, h)) {
    if (Status s = core_->SyncLegalHold(c); !s.ok()) return ToGrpcStatus(s, context);
  }
  response->set_id(h.id);
  if (!h.user_id.empty()) response->set_user_id(h.user_id);
  if (!h.conversation_id.empty()) response->set_conversation_id(h.conversation_id);
  response->set_reason(h.reason);
  response->mutable_placed()->set_seconds(h.placed_s);
  response->set_placed_by(h.placed_by);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::ReleaseLegalHold(grpc::ServerContext* context,
                                                const v1::ReleaseLegalHoldRequest* request,
                                                v1::ReleaseLegalHoldResponse* response) {
  auto who = Admin(context, "ReleaseLegalHold");
  if (!who.ok()) return ToGrpcStatus(who.status(), context);
  for (const auto& p : core_->policy->Current()->legal_holds()) {
    if (p.id == request->id()) {
      return ToGrpcStatus(Status(common::StatusCode::kFailedPrecondition,
                                 "hold " + p.id + " is declared in the policy; release it there",
                                 "HOLD_IN_POLICY"),
                          context);
    }
  }
  auto held = core_->holds.List();
  auto it = std::find_if(held.begin(), held.end(), [&](const HoldEntry& h) { return h.id == request->id(); });
  if (it == held.end()) {
    return ToGrpcStatus(Status(common::StatusCode::kNotFound, "no legal hold " + request->id(),
                               "HOLD_NOT_FOUND"),
                        context);
  }
  auto seq = AuditHold(core_, *who, context, *it, false);
  if (!seq.ok()) return ToGrpcStatus(seq.status(), context);
  auto removed = core_->holds.Remove(request->id());
  if (!removed.ok()) return ToGrpcStatus(removed.status(), context);
  // Released only where no other hold (API or policy) still applies.
  for (const auto& c : HeldConversations(core_, *removed)) {
    if (Status s = core_->SyncLegalHold(c); !s.ok()) return ToGrpcStatus(s, context);
  }
  response->set_audit_sequence(*seq);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::PurgeNow(grpc::ServerContext* context, const v1::PurgeNowRequest*,
                                        v1::PurgeNowResponse* response) {
  auto who = Admin(context, "PurgeNow");
  if (!who.ok()) return ToGrpcStatus(who.status(), context);
  audit::RetentionSweeper sweeper(core_->ledger.get(), core_->vault.get(), {});
  auto report = sweeper.RunOnce();
  if (!report.ok()) return ToGrpcStatus(report.status(), context);
  response->set_conversations_shredded(static_cast<uint32_t>(report->shredded));
  response->set_ledger_records_removed(static_cast<uint32_t>(report->ledger_records_pruned));
  response->set_skipped_for_legal_hold(static_cast<uint32_t>(report->held));
  response->set_audit_sequence(core_->ledger->size() == 0 ? 0 : core_->ledger->size() - 1);
  return grpc::Status::OK;
}

namespace {

void FillToken(const TokenStore::Info& info, v1::TokenInfo* out) {
  out->set_id(info.id);
  out->set_name(info.name);
  out->set_user_id(info.user_id);
  for (const auto& r : info.roles) out->add_roles(r);
  out->mutable_created()->set_seconds(info.created_s);
  out->mutable_expires()->set_seconds(info.expires_s);
  out->set_revoked(info.revoked);
}

}  // namespace

grpc::Status AdminServiceImpl::CreateToken(grpc::ServerContext* context,
                                           const v1::CreateTokenRequest* request,
                                           v1::CreateTokenResponse* response) {
  auto who = Admin(context, "CreateToken");
  if (!who.ok()) return ToGrpcStatus(who.status(), context);
  std::vector<std::string> roles(request->roles().begin(), request->roles().end());
  auto created = core_->tokens->Create(request->name(), request->user_id(), roles,
                                       std::chrono::seconds(request->lifetime().seconds()));
  if (!created.ok()) return ToGrpcStatus(created.status(), context);
  audit::Record rec = core_->RecordFor(audit::EventType::kConfigChange, *who, context);
  rec.decision = "allow";
  common::Json d = common::Json::MakeObject();
  d.Set("action", "token_create");
  d.Set("token_id", created->info.id);
  d.Set("for_user", created->info.user_id);
  rec.details = d.Dump();
  if (auto seq = core_->Append(std::move(rec)); !seq.ok()) {
    (void)core_->tokens->Revoke(created->info.id);
    return ToGrpcStatus(seq.status(), context);
  }
  FillToken(created->info, response->mutable_token());
  response->set_secret(created->secret);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::ListTokens(grpc::ServerContext* context, const v1::ListTokensRequest*,
                                          v1::ListTokensResponse* response) {
  auto who = Admin(context, "ListTokens");
  if (!who.ok()) return ToGrpcStatus(who.status(), context);
  for (const auto& t : core_->tokens->List()) FillToken(t, response->add_tokens());
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::RevokeToken(grpc::ServerContext* context,
                                           const v1::RevokeTokenRequest* request,
                                           v1::RevokeTokenResponse*) {
  auto who = Admin(context, "RevokeToken");
  if (!who.ok()) return ToGrpcStatus(who.status(), context);
  Status s = core_->tokens->Revoke(request->id());
  if (!s.ok()) return ToGrpcStatus(s, context);
  audit::Record rec = core_->RecordFor(audit::EventType::kConfigChange, *who, context);
  rec.decision = "allow";
  common::Json d = common::Json::MakeObject();
  d.Set("action", "token_revoke");
  d.Set("token_id", request->id());
  rec.details = d.Dump();
  auto seq = core_->Append(std::move(rec));
  return ToGrpcStatus(seq.ok() ? common::OkStatus() : seq.status(), context);
}

grpc::Status AdminServiceImpl::GetWorkerStatus(grpc::ServerContext* context,
                                               const v1::GetWorkerStatusRequest*,
                                               v1::WorkerStatusResponse* response) {
  auto who = Admin(context, "GetWorkerStatus");
  if (!who.ok()) return ToGrpcStatus(who.status(), context);
  for (const auto& w : core_->workers->Snapshot()) {
    auto* out = response->add_workers();
    out->set_id(w.id);
    out->set_address(w.address);
    switch (w.state) {
      case WorkerState::kStarting: out->set_state(v1::WorkerStatus::STATE_STARTING); break;
      case WorkerState::kReady: out->set_state(v1::WorkerStatus::STATE_READY); break;
      case WorkerState::kUnavailable: out->set_state(v1::WorkerStatus::STATE_UNAVAILABLE); break;
      case WorkerState::kRestarting: out->set_state(v1::WorkerStatus::STATE_RESTARTING); break;
    }
    out->set_backend(w.backend);
    for (const auto& m : w.models) out->add_models(m.name());
    out->set_active_streams(w.active_streams);
    out->set_capacity(w.capacity);
    out->set_restarts(w.restarts);
    out->set_last_error(w.last_error);
    out->mutable_since()->set_seconds(w.since_s);
  }
  return grpc::Status::OK;
}

// ---------------------------------------------------------------- audit

StatusOr<Identity> AuditServiceImpl::Auditor(grpc::ServerContext* context, std::string_view action) {
  ASSIGN_OR_RETURN(Identity who, core_->Authenticate(context, action));
  RETURN_IF_ERROR(core_->RequireRole(who, {kRoleAuditor}, action, context));
  return who;
}

namespace {

// The filter as the access record keeps it: ids, types, times; no content.
common::Json FilterJson(const v1::AuditFilter& f) {
  common::Json j = common::Json::MakeObject();
  if (f.time().has_since()) j.Set("since", f.time().since().seconds());
  if (f.time().has_until()) j.Set("until", f.time().until().seconds());
  if (!f.subject().empty()) j.Set("subject", f.subject());
  if (f.event_types_size() > 0) {
    common::Json types = common::Json::MakeArray();
    for (const auto& t : f.event_types()) types.Push(t);
    j.Set("event_types", std::move(types));
  }
  if (!f.decision().empty()) j.Set("decision", f.decision());
  if (!f.classification().empty()) j.Set("classification", f.classification());
  if (!f.conversation_id().empty()) j.Set("conversation_id", f.conversation_id());
  if (f.from_sequence() > 0) j.Set("from_sequence", static_cast<int64_t>(f.from_sequence()));
  if (f.limit() > 0) j.Set("limit", static_cast<int64_t>(f.limit()));
  return j;
}

}  // namespace

StatusOr<uint64_t> AuditServiceImpl::RecordAccess(const Identity& who, grpc::ServerContext* context,
                                                  audit::EventType event, std::string_view action,
                                                  const v1::AuditFilter* filter, uint64_t records) {
  audit::Record rec = core_->RecordFor(event, who, context);
  rec.decision = "allow";
  common::Json d = common::Json::MakeObject();
  d.Set("action", std::string(action));
  if (filter != nullptr) d.Set("filter", FilterJson(*filter));
  d.Set("records", static_cast<int64_t>(records));
  rec.details = d.Dump();
  return core_->Append(std::move(rec));
}

namespace {

StatusOr<audit::QueryFilter> ToFilter(const v1::AuditFilter& f) {
  audit::QueryFilter q;
  if (f.time().has_since()) q.since_us = f.time().since().seconds() * 1000000;
  if (f.time().has_until()) q.until_us = f.time().until().seconds() * 1000000;
  if (!f.subject().empty()) q.subject = f.subject();
  if (f.event_types_size() > 1) {
    return common::InvalidArgumentError("filter by one event type at a time");
  }
  if (f.event_types_size() == 1) {
    ASSIGN_OR_RETURN(q.event, audit::ParseEventType(f.event_types(0)));
  }
  if (!f.decision().empty()) q.decision = f.decision();
  if (!f.classification().empty()) q.classification = f.classification();
  if (!f.conversation_id().empty()) q.conversation_id = f.conversation_id();
  q.limit = f.limit();
  return q;
}

}  // namespace

grpc::Status AuditServiceImpl::QueryRecords(grpc::ServerContext* context,
                                            const v1::QueryRecordsRequest* request,
                                            grpc::ServerWriter<v1::AuditRecord>* writer) {
  auto who = Auditor(context, "QueryRecords");
  if (!who.ok()) return ToGrpcStatus(who.status(), context);
  auto filter = ToFilter(request->filter());
  if (!filter.ok()) return ToGrpcStatus(filter.status(), context);
  auto reader = core_->Reader();
  if (!reader.ok()) return ToGrpcStatus(reader.status(), context);
  // The answer covers the ledger as it is now; records appended meanwhile
  // (this access's own record among them) are not part of it.
  auto size = (*reader)->Size();
  if (!size.ok()) return ToGrpcStatus(size.status(), context);
  const uint64_t from = request->filter().from_sequence(), upto = *size;
  auto each = [&](const std::function<bool(const audit::Record&)>& sink) {
    return (*reader)->Query(*filter, [&](const audit::Record& r) {
      if (r.seq >= upto) return false;
      if (r.seq < from) return true;
      return sink(r);
    });
  };
  // First count, and record the access with its count; only then answer.
  uint64_t count = 0;
  if (Status s = each([&](const audit::Record&) { return ++count, true; }); !s.ok()) {
    return ToGrpcStatus(s, context);
  }
  auto seq = RecordAccess(*who, context, audit::EventType::kAuditAccess, "QueryRecords",
                          &request->filter(), count);
  if (!seq.ok()) return ToGrpcStatus(seq.status(), context);
  Status s = each([&](const audit::Record& r) {
    v1::AuditRecord out;
    RecordToProto(r, &out);
    return writer->Write(out);
  });
  return ToGrpcStatus(s, context);
}

grpc::Status AuditServiceImpl::Verify(grpc::ServerContext* context, const v1::VerifyRequest* request,
                                      grpc::ServerWriter<v1::VerifyProgress>* writer) {
  auto who = Auditor(context, "Verify");
  if (!who.ok()) return ToGrpcStatus(who.status(), context);
  auto reader = core_->Reader();
  if (!reader.ok()) return ToGrpcStatus(reader.status(), context);
  audit::VerifyOptions options;
  options.trusted_key = core_->ledger->public_key();
  if (!request->trusted_checkpoint().empty()) {
    auto cp = audit::SignedCheckpoint::Parse(request->trusted_checkpoint());
    if (!cp.ok()) return ToGrpcStatus(cp.status(), context);
    options.checkpoints.push_back(*cp);
  }
  auto report = (*reader)->Verify(options);
  if (!report.ok()) return ToGrpcStatus(report.status(), context);
  auto seq = RecordAccess(*who, context, audit::EventType::kAuditAccess, "Verify", nullptr,
                          report->records_checked);
  if (!seq.ok()) return ToGrpcStatus(seq.status(), context);
  v1::VerifyProgress progress;
  progress.set_records_checked(report->records_checked);
  progress.set_records_total(report->tree_size);
  auto* v = progress.mutable_verdict();
  v->set_ok(report->ok());
  v->set_tree_size(report->tree_size);
  v->set_root_hash(audit::HashHex(report->root));
  v->set_summary(report->Summary());
  if (!report->ok()) {
    v->set_first_bad_sequence(report->findings.front().seq);
    v->set_problem(std::string(audit::FindingKindName(report->findings.front().kind)) + ": " +
                   report->findings.front().message);
  }
  writer->Write(progress);
  return grpc::Status::OK;
}

grpc::Status AuditServiceImpl::Export(grpc::ServerContext* context, const v1::ExportRequest* request,
                                      grpc::ServerWriter<v1::ExportChunk>* writer) {
  auto who = Auditor(context, "Export");
  if (!who.ok()) return ToGrpcStatus(who.status(), context);
  auto filter = ToFilter(request->filter());
  if (!filter.ok()) return ToGrpcStatus(filter.status(), context);
  auto reader = core_->Reader();
  if (!reader.ok()) return ToGrpcStatus(reader.status(), context);
  common::Json manifest_files = common::Json::MakeArray();
  auto send_file = [&](const std::string& path, const std::string& data) {
    constexpr size_t kChunk = 256 * 1024;
    for (size_t off = 0; off == 0 || off < data.size(); off += kChunk) {
      v1::ExportChunk chunk;
      chunk.set_path(path);
      chunk.set_data(data.substr(off, kChunk));
      chunk.set_end_of_file(off + kChunk >= data.size());
      if (!writer->Write(chunk)) return false;
      if (data.empty()) break;
    }
    common::Json f = common::Json::MakeObject();
    f.Set("path", path);
    f.Set("sha256", common::HexEncode(common::Sha256::Hash(data)));
    f.Set("bytes", static_cast<int64_t>(data.size()));
    manifest_files.Push(std::move(f));
    return true;
  };
  std::string records;
  uint64_t count = 0;
  Status s = (*reader)->Query(*filter, [&](const audit::Record& r) {
    records += audit::RecordToJson(r).Dump() + "\n";
    ++count;
    return true;
  });
  if (!s.ok()) return ToGrpcStatus(s, context);
  // The export is recorded (who, filter, count) before any of it is sent.
  auto seq = RecordAccess(*who, context, audit::EventType::kExport, "Export", &request->filter(), count);
  if (!seq.ok()) return ToGrpcStatus(seq.status(), context);
  if (!send_file("records.jsonl", records)) return grpc::Status(grpc::StatusCode::CANCELLED, "client gone");
  auto head = core_->ledger->LatestHead();
  if (head.ok()) send_file("checkpoint.txt", head->ToText());
  send_file("signing-key.vkey", core_->ledger->public_key().ToVkey() + "\n");
  common::Json manifest = common::Json::MakeObject();
  manifest.Set("origin", core_->ledger->origin());
  manifest.Set("records", static_cast<int64_t>(count));
  manifest.Set("export_audit_sequence", *seq);
  manifest.Set("files", manifest_files);
  send_file("manifest.json", manifest.Dump() + "\n");
  return grpc::Status::OK;
}

grpc::Status AuditServiceImpl::CreateCheckpoint(grpc::ServerContext* context,
                                                const v1::CreateCheckpointRequest*,
                                                v1::Checkpoint* response) {
  auto who = Auditor(context, "CreateCheckpoint");
  if (!who.ok()) return ToGrpcStatus(who.status(), context);
  auto seq = RecordAccess(*who, context, audit::EventType::kAuditAccess, "CreateCheckpoint", nullptr, 0);
  if (!seq.ok()) return ToGrpcStatus(seq.status(), context);
  auto head = core_->ledger->LatestHead();
  if (!head.ok()) return ToGrpcStatus(head.status(), context);
  response->set_tree_size(head->checkpoint.tree_size);
  response->set_root_hash(audit::HashHex(head->checkpoint.root));
  response->mutable_time()->set_seconds(head->checkpoint.time_us / 1000000);
  response->set_key_id(core_->ledger->public_key().key_id_hex());
  response->set_text(head->ToText());
  return grpc::Status::OK;
}

grpc::Status AuditServiceImpl::GetSigningKey(grpc::ServerContext* context,
                                             const v1::GetSigningKeyRequest*,
                                             v1::SigningKey* response) {
  auto who = core_->Authenticate(context, "GetSigningKey");
  if (!who.ok()) return ToGrpcStatus(who.status(), context);
  const auto& key = core_->ledger->public_key();
  response->set_key_id(key.key_id_hex());
  response->set_algorithm("Ed25519");
  response->set_public_key(std::string(reinterpret_cast<const char*>(key.raw().data()), key.raw().size()));
  response->set_public_key_pem(key.ToVkey());
  return grpc::Status::OK;
}

}  // namespace appliance
