// ChatService: the request path, in this order for every request:
//   authenticate -> role -> policy decision and redaction -> limits ->
//   ledger append of the request (fail closed) -> route to a worker ->
//   stream tokens -> ledger append of the outcome -> seal content in the vault.
#include "services.h"

#include <openssl/rand.h>

#include <chrono>

#include <grpcpp/client_context.h>

#include "appliance/grpc_status.h"
#include "common/secret.h"
#include "common/sha256.h"
#include "policy/decision.h"

namespace appliance {

using common::Status;
using common::StatusOr;
namespace v1 = assistant::v1;

namespace {

std::string RandomId(const char* prefix) {
  unsigned char b[12];
  RAND_bytes(b, sizeof b);
  return std::string(prefix) + common::HexEncode(b, sizeof b);
}

const char* RoleName(v1::ChatMessage::Role role) {
  switch (role) {
    case v1::ChatMessage::ROLE_SYSTEM: return "system";
    case v1::ChatMessage::ROLE_ASSISTANT: return "assistant";
    default: return "user";
  }
}

v1::ChatMessage::Role RoleFromName(const std::string& name) {
  if (name == "system") return v1::ChatMessage::ROLE_SYSTEM;
  if (name == "assistant") return v1::ChatMessage::ROLE_ASSISTANT;
  return v1::ChatMessage::ROLE_USER;
}

std::string DetectorType(const std::string& detector) {
  std::string t = detector;
  for (auto& c : t) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return t;
}

void SetDuration(google::protobuf::Duration* d, std::chrono::microseconds us) {
  d->set_seconds(us.count() / 1000000);
  d->set_nanos(static_cast<int32_t>(us.count() % 1000000) * 1000);
}

// The reasons of a decision as ledger strings: "rule_id" (never content).
std::vector<std::string> ReasonIds(const policy::Decision& d) {
  std::vector<std::string> out;
  for (const auto& r : d.reasons) {
    if (r.effect != policy::Effect::kInfo || out.size() < 16) out.push_back(r.rule_id);
  }
  return out;
}

void FillReasons(const policy::Decision& d, google::protobuf::RepeatedPtrField<v1::PolicyReason>* out,
                 bool denials_only) {
  for (const auto& r : d.reasons) {
    const bool denies = r.effect == policy::Effect::kDeny;
    if (denials_only && !denies) continue;
    auto* p = out->Add();
    p->set_rule_id(r.rule_id);
    p->set_message(r.message);
    p->set_denies(denies);
  }
}

using SteadyClock = std::chrono::steady_clock;
SteadyClock::time_point SteadyNow() { return SteadyClock::now(); }

std::chrono::microseconds ToMicros(SteadyClock::duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d);
}

// Where one chat's time goes in the gateway (docs/gateway.md, "Measuring the
// gateway"). Durations only; never content.
struct ChatTimer {
  SteadyClock::time_point start = SteadyNow();
  SteadyClock::time_point append_start{}, worker_start{}, first_delta{}, worker_end{}, end{};
  SteadyClock::duration request_append{}, outcome_append{}, seal{};
  // The worker's own time for the request (queue + prefill + decode) and to
  // its first token (queue + prefill), as it reports them; -1: no report.
  std::chrono::microseconds worker_reported{-1}, worker_first_token{-1};

  std::chrono::microseconds Micros(SteadyClock::time_point t) const { return ToMicros(t - start); }
  std::chrono::microseconds WorkerTime() const {
    return worker_reported.count() >= 0 ? worker_reported : ToMicros(worker_end - worker_start);
  }
  // Gateway-added latency: the request's time in the gateway (handler entry
  // to the final message) minus the worker's own time for it. Everything
  // else is charged to the gateway: authentication, policy, both ledger
  // appends, routing, the Unix-socket hop both ways, withholding tokens
  // until the request record is durable, relaying, the vault, the final
  // message.
  std::chrono::microseconds Added(SteadyClock::time_point now) const {
    return std::max(std::chrono::microseconds(0), Micros(now) - WorkerTime());
  }
  std::string Render(bool overlapped) const {
    auto us = [](std::chrono::microseconds d) { return std::to_string(d.count()); };
    std::string out = "total=" + us(Micros(end)) + ";added=" + us(Added(end)) +
                      ";worker=" + us(WorkerTime()) +
                      ";worker_call=" + us(ToMicros(worker_end - worker_start)) +
                      ";pre=" + us(Micros(std::min(append_start, worker_start))) +
                      ";request_append=" + us(ToMicros(request_append)) +
                      ";outcome_append=" + us(ToMicros(outcome_append)) +
                      ";seal=" + us(ToMicros(seal)) + ";overlap=" + (overlapped ? "1" : "0");
    if (first_delta != SteadyClock::time_point{}) {
      out += ";ttft=" + us(Micros(first_delta));
      if (worker_first_token.count() >= 0) {
        out += ";added_ttft=" +
               us(std::max(std::chrono::microseconds(0), Micros(first_delta) - worker_first_token));
      }
    }
    return out;
  }
};

}  // namespace

grpc::Status ChatServiceImpl::Chat(grpc::ServerContext* context, const v1::ChatRequest* request,
                                   grpc::ServerWriter<v1::ChatEvent>* writer) {
  ChatTimer timer;
  core_->metrics.chat_requests.fetch_add(1);
  if (core_->draining) {
    return ToGrpcStatus(Status(common::StatusCode::kUnavailable,
                               "the appliance is shutting down; retry shortly", "DRAINING"),
                        context);
  }
  // 1. Authenticate.
  auto who = core_->Authenticate(context, "Chat");
  if (!who.ok()) return ToGrpcStatus(who.status(), context);
  // 2. Role.
  if (Status s = core_->RequireRole(*who, {kRoleUser}, "chat", context); !s.ok()) {
    core_->metrics.chat_denied.fetch_add(1);
    return ToGrpcStatus(s, context);
  }
  if (request->messages_size() == 0 ||
      request->messages(request->messages_size() - 1).role() == v1::ChatMessage::ROLE_ASSISTANT) {
    return ToGrpcStatus(common::InvalidArgumentError("a chat needs a last message from the user"),
                        context);
  }
  size_t total_bytes = 0;
  for (const auto& m : request->messages()) total_bytes += m.content().size();
  if (total_bytes > core_->config.message_bytes_limit) {
    return ToGrpcStatus(Status(common::StatusCode::kInvalidArgument,
                               "the messages are larger than the appliance accepts (" +
                                   std::to_string(core_->config.message_bytes_limit) + " bytes)",
                               "MESSAGE_TOO_LARGE"),
                        context);
  }
  const std::string request_id = RandomId("req_");
  std::shared_ptr<const policy::Policy> pol = core_->policy->Current();

  // Conversation: new, or the caller's own.
  std::optional<ConversationEntry> conversation;
  if (!request->conversation_id().empty()) {
    conversation = core_->conversations.Get(request->conversation_id());
    if (!conversation || conversation->owner != who->user_id) {
      return ToGrpcStatus(Status(common::StatusCode::kNotFound,
                                 "no conversation " + request->conversation_id() + " of yours",
                                 "CONVERSATION_NOT_FOUND"),
                          context);
    }
  }

  // 3. Model and policy decision.
  std::string model_name = request->model();
  if (model_name.empty() && conversation) model_name = conversation->model;
  const auto models = core_->workers->Models();
  if (models.empty()) {
    // No worker is ready (starting, restarting, unreachable, or refused at
    // the TLS handshake): nothing to decide about; the refusal is audited.
    audit::Record rec = core_->RecordFor(audit::EventType::kDenial, *who, context);
    rec.decision = "deny";
    rec.request_id = request_id;
    rec.reasons = {"WORKER_UNAVAILABLE"};
    auto seq = core_->Append(std::move(rec));
    if (!seq.ok()) return ToGrpcStatus(seq.status(), context);
    core_->metrics.chat_errors.fetch_add(1);
    v1::ErrorDetail detail;
    detail.set_reason("WORKER_UNAVAILABLE");
    detail.set_message("no model worker is ready; retry shortly");
    detail.set_remedy("An administrator can see why with `assistant admin workers`.");
    detail.mutable_retry_after()->set_seconds(5);
    detail.set_audit_sequence(*seq);
    return ToGrpcStatus(Status(common::StatusCode::kUnavailable, detail.message(), "WORKER_UNAVAILABLE"),
                        context, detail);
  }
  if (model_name.empty()) model_name = models.front().name();
  const inference::v1::ModelInfo* model = nullptr;
  for (const auto& m : models) {
    if (m.name() == model_name) model = &m;
  }
  const ModelConfig* model_config = nullptr;
  for (const auto& m : core_->config.models) {
    if (m.name == model_name) model_config = &m;
  }
  const std::string& last = request->messages(request->messages_size() - 1).content();
  policy::RequestContext ctx;
  ctx.user_id = who->user_id;
  ctx.roles = who->roles;
  ctx.client_address = context->peer();
  ctx.classification = request->classification();
  if (ctx.classification.empty() && conversation) ctx.classification = conversation->classification;
  ctx.model_name = model_name;
  ctx.model_sha256 = model != nullptr ? model->sha256() : "";
  if (model_config != nullptr) ctx.model_labels = model_config->labels;
  ctx.prompt = last;
  ctx.conversation_id = request->conversation_id();
  if (request->sampling().has_max_tokens()) ctx.max_output_tokens = request->sampling().max_tokens();
  policy::Decision decision = policy::Decide(*pol, ctx);

  audit::Record base = core_->RecordFor(audit::EventType::kChatRequest, *who, context);
  base.model_name = model_name;
  base.model_sha256 = ctx.model_sha256;
  base.chat_template_sha256 = model != nullptr ? model->chat_template_sha256() : "";
  base.policy_sha256 = decision.policy_hash;
  base.classification = decision.classification;
  base.request_id = request_id;
  base.conversation_id = request->conversation_id();
  common::Json redactions = common::Json::MakeArray();
  for (const auto& r : decision.obligations.redactions) {
    common::Json x = common::Json::MakeObject();
    x.Set("type", DetectorType(r.detector));
    x.Set("action", std::string(policy::ActionName(r.action)));
    x.Set("placeholder", r.placeholder);
    x.Set("begin", static_cast<int64_t>(r.begin));
    x.Set("end", static_cast<int64_t>(r.end));
    redactions.Push(std::move(x));
  }

  if (!decision.allow) {
    core_->metrics.chat_denied.fetch_add(1);
    audit::Record rec = base;
    rec.event = audit::EventType::kDenial;
    rec.decision = "deny";
    rec.reasons = ReasonIds(decision);
    common::Json details = common::Json::MakeObject();
    details.Set("redactions", redactions);
    rec.details = details.Dump();
    auto seq = core_->Append(std::move(rec));
    if (!seq.ok()) return ToGrpcStatus(seq.status(), context);
    const policy::Reason* first = decision.FirstDenyReason();
    v1::ErrorDetail detail;
    detail.set_reason("POLICY_DENIED");
    detail.set_message("the policy denies this request: " +
                       (first != nullptr ? first->message : std::string("denied")));
    FillReasons(decision, detail.mutable_policy_reasons(), true);
    detail.set_audit_sequence(*seq);
    LogEvent("info", "chat denied",
             common::Json(common::Json::Object{{"request_id", request_id},
                                               {"user", who->user_id},
                                               {"rule", first ? first->rule_id : ""},
                                               {"audit_sequence", *seq}}));
    return ToGrpcStatus(Status(common::StatusCode::kPermissionDenied, detail.message(),
                               first != nullptr ? first->rule_id : "POLICY_DENIED"),
                        context, detail);
  }

  // 4. Limits: per-user buckets and streams from the policy, then the global bound.
  const policy::Limits& limits = decision.obligations.limits;
  const int64_t prompt_estimate = static_cast<int64_t>(total_bytes + 3) / 4;
  int64_t max_tokens = request->sampling().has_max_tokens() ? request->sampling().max_tokens() : 256;
  if (limits.output_tokens && max_tokens > *limits.output_tokens) max_tokens = *limits.output_tokens;
  auto refuse_limits = [&](const Status& why) -> grpc::Status {
    core_->metrics.chat_rate_limited.fetch_add(1);
    audit::Record rec = base;
    rec.event = audit::EventType::kDenial;
    rec.decision = "deny";
    rec.reasons = {why.reason().empty() ? "limits" : why.reason()};
    auto seq = core_->Append(std::move(rec));
    if (!seq.ok()) return ToGrpcStatus(seq.status(), context);
    v1::ErrorDetail detail;
    detail.set_reason("RATE_LIMITED");
    detail.set_message(why.message());
    detail.set_remedy("Wait and retry; the limits come from your organisation's policy.");
    detail.mutable_retry_after()->set_seconds(why.reason() == "limits.concurrent_streams" ? 1 : 5);
    detail.set_audit_sequence(*seq);
    auto* pr = detail.add_policy_reasons();
    pr->set_rule_id(why.reason());
    pr->set_message(why.message());
    pr->set_denies(true);
    return ToGrpcStatus(Status(common::StatusCode::kResourceExhausted, why.message(), why.reason()),
                        context, detail);
  };
  if (Status s = core_->rate_limiter->Admit(who->user_id, limits, prompt_estimate + max_tokens);
      !s.ok()) {
    return refuse_limits(s);
  }
  auto stream_lease = core_->rate_limiter->AcquireStream(who->user_id, limits);
  if (!stream_lease.ok()) return refuse_limits(stream_lease.status());
  struct ActiveGuard {
    std::atomic<int>* n;
    ~ActiveGuard() { n->fetch_sub(1); }
  };
  if (core_->active_streams.fetch_add(1) >= static_cast<int>(core_->config.max_streams)) {
    core_->active_streams.fetch_sub(1);
    return refuse_limits(Status(common::StatusCode::kResourceExhausted,
                                "the appliance is at its stream capacity; retry in a second",
                                "OVERLOADED"));
  }
  ActiveGuard active_guard{&core_->active_streams};
  auto lease = core_->workers->Pick(model_name);
  if (!lease.ok()) {
    if (lease.status().code() == common::StatusCode::kResourceExhausted) {
      return refuse_limits(lease.status());
    }
    audit::Record rec = base;
    rec.event = audit::EventType::kChatOutcome;
    rec.decision = "allow";
    common::Json details = common::Json::MakeObject();
    details.Set("finish_reason", "error");
    details.Set("error", lease.status().reason());
    rec.details = details.Dump();
    (void)core_->Append(std::move(rec));
    core_->metrics.chat_errors.fetch_add(1);
    return ToGrpcStatus(lease.status(), context);
  }

  // 5. Conversation and retention.
  const policy::Retention& retention = decision.obligations.retention;
  const bool store = retention.store_content && !request->incognito();
  if (!conversation) {
    conversation.emplace();
    conversation->id = RandomId("conv_");
    conversation->owner = who->user_id;
    conversation->classification = decision.classification;
    conversation->model = model_name;
    conversation->created_s = core_->NowSeconds();
    conversation->stored = store;
    conversation->content_seconds = retention.content_seconds;
    conversation->audit_seconds = retention.audit_seconds;
  }
  conversation->updated_s = core_->NowSeconds();
  base.conversation_id = conversation->id;
  base.content_sha256 = common::HexEncode(common::Sha256::Hash(decision.audit_prompt));

  // 6. The request to the worker. It is built before the ledger append so
  //    that a local worker can start on it while the append becomes durable
  //    (see "Overlapped request append" in docs/gateway.md).
  inference::v1::GenerateRequest gen;
  gen.set_request_id(request_id);
  gen.set_model(model_name);
  // The stored history of a continued conversation comes first (as the
  // policy kept it: the audit copy of each prompt, the model's answers).
  std::vector<std::pair<std::string, std::string>> history;
  if (conversation->stored && core_->vault != nullptr && !request->conversation_id().empty()) {
    for (const auto& [role, content_id] : conversation->messages) {
      auto plain = core_->vault->OpenContent(content_id);
      if (!plain.ok()) continue;  // expired or shredded turns are simply absent
      history.emplace_back(role, std::string(reinterpret_cast<const char*>(plain->InsecureData()),
                                             plain->size()));
    }
  }
  if (model != nullptr && model->chat_template_sha256().empty()) {
    // A base model without a chat template (e.g. stories260K): plain text,
    // the messages joined by newlines.
    std::string text;
    for (const auto& h : history) {
      if (!text.empty()) text += "\n";
      text += h.second;
    }
    for (int i = 0; i < request->messages_size(); ++i) {
      if (!text.empty()) text += "\n";
      text += i + 1 == request->messages_size() ? decision.model_prompt : request->messages(i).content();
    }
    gen.set_text(std::move(text));
  } else {
    auto* chat = gen.mutable_chat();
    for (const auto& h : history) {
      auto* m = chat->add_messages();
      m->set_role(h.first);
      m->set_content(h.second);
    }
    for (int i = 0; i < request->messages_size(); ++i) {
      auto* m = chat->add_messages();
      m->set_role(RoleName(request->messages(i).role()));
      m->set_content(i + 1 == request->messages_size() ? decision.model_prompt
                                                       : request->messages(i).content());
    }
  }
  for (auto& h : history) common::SecureZero(h.second.data(), h.second.size());
  const auto& sp = request->sampling();
  auto* s = gen.mutable_sampling();
  s->set_temperature(sp.has_temperature() ? sp.temperature() : 0.8f);
  s->set_top_k(sp.has_top_k() ? sp.top_k() : 40);
  s->set_top_p(sp.has_top_p() ? sp.top_p() : 0.95f);
  s->set_min_p(sp.has_min_p() ? sp.min_p() : 0.0f);
  s->set_repetition_penalty(sp.has_repetition_penalty() ? sp.repetition_penalty() : 1.0f);
  s->set_frequency_penalty(sp.has_frequency_penalty() ? sp.frequency_penalty() : 0.0f);
  s->set_presence_penalty(sp.has_presence_penalty() ? sp.presence_penalty() : 0.0f);
  if (sp.has_seed()) {
    s->set_seed(sp.seed());
    s->set_has_seed(true);
  }
  gen.set_max_tokens(static_cast<uint32_t>(max_tokens));
  for (const auto& stop : sp.stop()) gen.add_stop(stop);
  gen.set_tenant_key(common::HexEncode(common::Sha256::Hash("tenant:" + who->user_id)).substr(0, 32));

  grpc::ClientContext wctx;
  if (context->deadline() != std::chrono::system_clock::time_point::max()) {
    wctx.set_deadline(context->deadline());
  }
  std::unique_ptr<grpc::ClientReader<inference::v1::GenerateEvent>> reader;
  // A local worker (spawned by assistantd, on this machine, over a Unix
  // socket) starts computing while the request record becomes durable; every
  // token is withheld from the client until then. A remote worker gets the
  // request only after the record is durable: the prompt leaves the machine
  // only with its audit record on disk.
  const bool overlap = !lease->remote();
  if (overlap) {
    timer.worker_start = SteadyNow();
    reader = lease->stub()->Generate(&wctx, gen);
  }

  // 7. Ledger append of the request: fail closed.
  audit::Record req = base;
  req.decision = decision.obligations.redactions.empty() ? "allow" : "redact";
  req.reasons = ReasonIds(decision);
  req.prompt_tokens = static_cast<uint32_t>(prompt_estimate);
  {
    common::Json details = common::Json::MakeObject();
    details.Set("redactions", redactions);
    details.Set("incognito", request->incognito());
    if (!request->client_request_id().empty()) {
      details.Set("client_request_id", request->client_request_id().substr(0, 128));
    }
    req.details = details.Dump();
  }
  timer.append_start = SteadyNow();
  auto req_seq = core_->Append(std::move(req));
  timer.request_append = SteadyNow() - timer.append_start;
  if (!req_seq.ok()) {
    if (reader != nullptr) {
      // Nothing reached the client; the worker's work is discarded.
      wctx.TryCancel();
      inference::v1::GenerateEvent discard;
      while (reader->Read(&discard)) {
      }
      (void)reader->Finish();
    }
    core_->metrics.chat_errors.fetch_add(1);
    return ToGrpcStatus(req_seq.status(), context);
  }

  // 8. Start event: after the request record is durable.
  v1::ChatEvent start_event;
  v1::ChatStart* start = start_event.mutable_start();
  start->set_conversation_id(conversation->id);
  start->set_request_id(request_id);
  start->set_model(model_name);
  start->set_classification(decision.classification);
  start->mutable_retention()->set_not_stored(!store);
  start->mutable_retention()->mutable_content_retention()->set_seconds(retention.content_seconds);
  start->mutable_retention()->mutable_audit_retention()->set_seconds(retention.audit_seconds);
  start->mutable_retention()->set_legal_hold(!decision.obligations.legal_holds.empty() ||
                                             core_->holds.Covers(conversation->owner, conversation->id));
  for (const auto& r : decision.obligations.redactions) {
    auto* p = start->add_redactions();
    p->set_type(DetectorType(r.detector));
    p->set_action(std::string(policy::ActionName(r.action)));
    p->set_placeholder(r.placeholder);
    p->set_begin(static_cast<uint32_t>(r.begin));
    p->set_end(static_cast<uint32_t>(r.end));
  }
  for (const auto& r : decision.reasons) {
    if (r.effect == policy::Effect::kDeny) continue;
    auto* p = start->add_notes();
    p->set_rule_id(r.rule_id);
    p->set_message(r.message);
  }
  start->set_site(core_->config.site);
  start->set_policy_hash(decision.policy_hash);
  start->set_audit_sequence(*req_seq);
  // (Not buffered with the first delta: a synchronous Write with a buffer
  // hint waits for a flush that only the next Write would cause.)
  if (!writer->Write(start_event)) {
    // The client went away before the start; the read loop notices.
  }
  if (reader == nullptr) {
    timer.worker_start = SteadyNow();
    reader = lease->stub()->Generate(&wctx, gen);
  }

  // 9. Stream the worker's tokens.
  inference::v1::GenerateEvent ev;
  std::string answer;
  uint32_t completion_tokens = 0, prompt_tokens = static_cast<uint32_t>(prompt_estimate);
  std::optional<inference::v1::GenerateFinished> finished;
  std::chrono::microseconds ttft{0};
  bool client_gone = false;
  while (reader->Read(&ev)) {
    if (context->IsCancelled()) {
      wctx.TryCancel();
      client_gone = true;
      break;
    }
    if (ev.has_started()) {
      prompt_tokens = ev.started().prompt_tokens();
    } else if (ev.has_token()) {
      completion_tokens += static_cast<uint32_t>(std::max(1, ev.token().ids_size()));
      // The vault keeps the answer as the model wrote it (placeholders, not
      // the values redacted before the model); the requester sees them restored.
      if (store) answer += ev.token().text();
      std::string text = decision.restore.empty() ? ev.token().text()
                                                  : decision.restore.Restore(ev.token().text());
      v1::ChatEvent delta;
      delta.mutable_delta()->set_text(std::move(text));
      delta.mutable_delta()->set_tokens(static_cast<uint32_t>(std::max(1, ev.token().ids_size())));
      if (!writer->Write(delta)) {
        wctx.TryCancel();
        client_gone = true;
        break;
      }
      if (ttft.count() == 0) {
        timer.first_delta = SteadyNow();
        ttft = timer.Micros(timer.first_delta);
        core_->metrics.ObserveTtft(static_cast<uint64_t>(ttft.count()));
      }
    } else if (ev.has_finished()) {
      finished = ev.finished();
    }
  }
  grpc::Status ws = reader->Finish();
  timer.worker_end = SteadyNow();
  if (finished) {
    timer.worker_reported = std::chrono::microseconds(
        finished->queue_micros() + finished->prefill_micros() + finished->decode_micros());
    timer.worker_first_token =
        std::chrono::microseconds(finished->queue_micros() + finished->prefill_micros());
  }
  core_->metrics.tokens_generated.fetch_add(completion_tokens);
  if (finished) {
    if (finished->prompt_tokens() > 0) prompt_tokens = finished->prompt_tokens();
    if (finished->completion_tokens() > 0) completion_tokens = finished->completion_tokens();
  }
  if (context->IsCancelled()) client_gone = true;

  // 10. Outcome.
  v1::ChatEnd::FinishReason reason = v1::ChatEnd::FINISH_REASON_ERROR;
  std::string reason_name = "error";
  std::string error_reason;
  if (client_gone) {
    reason = v1::ChatEnd::FINISH_REASON_CANCELLED;
    reason_name = "cancelled";
  } else if (!ws.ok() || !finished) {
    error_reason = "WORKER_UNAVAILABLE";
  } else {
    switch (finished->reason()) {
      case inference::v1::GenerateFinished::REASON_STOP:
        reason = v1::ChatEnd::FINISH_REASON_STOP;
        reason_name = "stop";
        break;
      case inference::v1::GenerateFinished::REASON_LENGTH:
        reason = v1::ChatEnd::FINISH_REASON_LENGTH;
        reason_name = "length";
        break;
      case inference::v1::GenerateFinished::REASON_CANCELLED:
        reason = v1::ChatEnd::FINISH_REASON_CANCELLED;
        reason_name = "cancelled";
        break;
      default:
        error_reason = "WORKER_ERROR";
    }
  }
  const auto total = timer.Micros(SteadyNow());

  // 11. Seal the content in the vault under the policy's retention.
  const auto seal_start = SteadyNow();
  std::string content_sha;
  if (store && reason != v1::ChatEnd::FINISH_REASON_ERROR && core_->vault != nullptr) {
    Status vs = core_->vault->CreateConversation(
        conversation->id, conversation->classification,
        core_->NowMicros() + retention.content_seconds * 1000000);
    if (vs.ok() || vs.code() == common::StatusCode::kAlreadyExists) {
      // The stored prompt is the audit copy: what the policy allows to keep.
      auto sealed_prompt = core_->vault->Seal(conversation->id, request_id, audit::ContentKind::kPrompt,
                                              decision.audit_prompt);
      auto sealed_answer = core_->vault->Seal(conversation->id, request_id,
                                              audit::ContentKind::kResponse, answer);
      if (sealed_prompt.ok() && sealed_answer.ok()) {
        conversation->messages.emplace_back("user", sealed_prompt->content_id);
        conversation->messages.emplace_back("assistant", sealed_answer->content_id);
        content_sha = sealed_prompt->sha256 + ":" + sealed_answer->sha256;
        // A user under legal hold: the new conversation is held from the start.
        if (vs.ok() && core_->UnderLegalHold(conversation->owner, conversation->id)) {
          if (Status hs = core_->vault->SetLegalHold(conversation->id, true); !hs.ok()) {
            LogEvent("error", "legal hold not applied to a new conversation",
                     common::Json(common::Json::Object{{"conversation", conversation->id}}));
          }
        }
      } else {
        LogEvent("error", "sealing content failed",
                 common::Json(common::Json::Object{{"request_id", request_id}}));
      }
    }
    common::SecureZero(answer.data(), answer.size());
  }
  // Incognito: nothing of the conversation is kept, not even its index entry.
  if (Status cs = request->incognito() ? common::OkStatus() : core_->conversations.Put(*conversation);
      !cs.ok()) {
    LogEvent("error", "conversation index not saved",
             common::Json(common::Json::Object{{"error", cs.message()}}));
  }
  timer.seal = SteadyNow() - seal_start;

  audit::Record out = base;
  out.event = audit::EventType::kChatOutcome;
  out.decision = "allow";
  out.prompt_tokens = prompt_tokens;
  out.completion_tokens = completion_tokens;
  out.latency_us = static_cast<uint64_t>(total.count());
  if (!content_sha.empty()) out.content_sha256 = content_sha;
  {
    common::Json details = common::Json::MakeObject();
    details.Set("finish_reason", reason_name);
    details.Set("worker", lease->worker_id());
    details.Set("request_sequence", *req_seq);
    if (!error_reason.empty()) details.Set("error", error_reason);
    out.details = details.Dump();
  }
  const auto outcome_start = SteadyNow();
  auto out_seq = core_->Append(std::move(out));
  timer.outcome_append = SteadyNow() - outcome_start;
  core_->rate_limiter->Charge(who->user_id, limits,
                              static_cast<int64_t>(completion_tokens) - max_tokens);

  if (reason == v1::ChatEnd::FINISH_REASON_ERROR) {
    core_->metrics.chat_errors.fetch_add(1);
    v1::ErrorDetail detail;
    detail.set_reason(error_reason);
    detail.set_message("the model worker failed during generation (" +
                       (ws.ok() ? std::string("no finish event") : ws.error_message()) +
                       "); the answer is incomplete. Retry; the worker restarts by itself.");
    if (out_seq.ok()) detail.set_audit_sequence(*out_seq);
    LogEvent("warn", "chat stream ended with a worker error",
             common::Json(common::Json::Object{{"request_id", request_id},
                                               {"worker", lease->worker_id()},
                                               {"grpc_code", static_cast<int64_t>(ws.error_code())}}));
    return ToGrpcStatus(Status(common::StatusCode::kUnavailable, detail.message(), error_reason),
                        context, detail);
  }
  if (client_gone) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the client");
  if (!out_seq.ok()) return ToGrpcStatus(out_seq.status(), context);
  core_->metrics.chat_completed.fetch_add(1);

  // 12. The final message: after the outcome record is durable.
  v1::ChatEvent end_event;
  v1::ChatEnd* end = end_event.mutable_end();
  end->set_finish_reason(reason);
  end->mutable_usage()->set_prompt_tokens(prompt_tokens);
  end->mutable_usage()->set_completion_tokens(completion_tokens);
  SetDuration(end->mutable_timings()->mutable_time_to_first_token(), ttft);
  SetDuration(end->mutable_timings()->mutable_total(), timer.Micros(SteadyNow()));
  SetDuration(end->mutable_timings()->mutable_gateway_overhead(), timer.Added(SteadyNow()));
  if (finished && finished->decode_micros() > 0) {
    end->mutable_timings()->set_decode_tokens_per_second(completion_tokens * 1e6 /
                                                         static_cast<double>(finished->decode_micros()));
  }
  end->set_audit_sequence(*out_seq);
  timer.end = SteadyNow();
  core_->metrics.ObserveOverhead(static_cast<uint64_t>(timer.Added(timer.end).count()));
  context->AddTrailingMetadata("assistant-timings", timer.Render(overlap));
  // The end travels with the status (one flush).
  writer->WriteLast(end_event, grpc::WriteOptions());
  return grpc::Status::OK;
}

// Conversations ------------------------------------------------------------

namespace {

void FillSummary(const ConversationEntry& e, v1::ConversationSummary* s) {
  s->set_id(e.id);
  s->set_classification(e.classification);
  s->set_model(e.model);
  s->mutable_created()->set_seconds(e.created_s);
  s->mutable_updated()->set_seconds(e.updated_s);
  s->set_message_count(static_cast<uint32_t>(e.messages.size()));
  s->mutable_retention()->set_not_stored(!e.stored);
  s->mutable_retention()->mutable_content_retention()->set_seconds(e.content_seconds);
  s->mutable_retention()->mutable_audit_retention()->set_seconds(e.audit_seconds);
  if (e.stored) s->mutable_expires()->set_seconds(e.created_s + e.content_seconds);
  s->set_title(e.model + " conversation");
}

}  // namespace

grpc::Status ConversationServiceImpl::ListConversations(grpc::ServerContext* context,
                                                        const v1::ListConversationsRequest* request,
                                                        v1::ListConversationsResponse* response) {
  auto who = core_->Authenticate(context, "ListConversations");
  if (!who.ok()) return ToGrpcStatus(who.status(), context);
  uint32_t page = request->page().page_size() == 0 ? 50 : std::min(1000u, request->page().page_size());
  size_t offset = request->page().page_token().empty() ? 0 : std::stoul("0" + request->page().page_token());
  auto all = core_->conversations.ForOwner(who->user_id);
  for (size_t i = offset; i < all.size() && response->conversations_size() < static_cast<int>(page); ++i) {
    FillSummary(all[i], response->add_conversations());
    if (i + 1 < all.size() && response->conversations_size() == static_cast<int>(page)) {
      response->set_next_page_token(std::to_string(i + 1));
    }
  }
  return grpc::Status::OK;
}

grpc::Status ConversationServiceImpl::GetConversation(grpc::ServerContext* context,
                                                      const v1::GetConversationRequest* request,
                                                      v1::Conversation* response) {
  auto who = core_->Authenticate(context, "GetConversation");
  if (!who.ok()) return ToGrpcStatus(who.status(), context);
  auto e = core_->conversations.Get(request->id());
  if (!e || e->owner != who->user_id) {
    return ToGrpcStatus(Status(common::StatusCode::kNotFound, "no conversation " + request->id() + " of yours",
                               "CONVERSATION_NOT_FOUND"),
                        context);
  }
  FillSummary(*e, response->mutable_summary());
  if (!e->stored || core_->vault == nullptr) {
    response->set_content_not_stored(true);
    return grpc::Status::OK;
  }
  for (const auto& [role, content_id] : e->messages) {
    auto plain = core_->vault->OpenContent(content_id);
    if (!plain.ok()) return ToGrpcStatus(plain.status(), context);
    auto* m = response->add_messages();
    m->set_role(RoleFromName(role));
    m->set_content(std::string(reinterpret_cast<const char*>(plain->InsecureData()), plain->size()));
  }
  return grpc::Status::OK;
}

grpc::Status ConversationServiceImpl::DeleteConversation(grpc::ServerContext* context,
                                                         const v1::DeleteConversationRequest* request,
                                                         v1::DeleteConversationResponse* response) {
  auto who = core_->Authenticate(context, "DeleteConversation");
  if (!who.ok()) return ToGrpcStatus(who.status(), context);
  auto e = core_->conversations.Get(request->id());
  if (!e || e->owner != who->user_id) {
    return ToGrpcStatus(Status(common::StatusCode::kNotFound, "no conversation " + request->id() + " of yours",
                               "CONVERSATION_NOT_FOUND"),
                        context);
  }
  if (core_->UnderLegalHold(e->owner, e->id)) {
    audit::Record rec = core_->RecordFor(audit::EventType::kDenial, *who, context);
    rec.conversation_id = e->id;
    rec.decision = "deny";
    rec.reasons = {"LEGAL_HOLD"};
    auto seq = core_->Append(std::move(rec));
    if (!seq.ok()) return ToGrpcStatus(seq.status(), context);
    v1::ErrorDetail detail;
    detail.set_reason("LEGAL_HOLD");
    detail.set_message("conversation " + e->id + " is under legal hold and cannot be deleted");
    detail.set_audit_sequence(*seq);
    return ToGrpcStatus(Status(common::StatusCode::kFailedPrecondition, detail.message(), "LEGAL_HOLD"),
                        context, detail);
  }
  if (e->stored && core_->vault != nullptr) {
    Status s = core_->vault->Shred(e->id);
    if (!s.ok() && s.code() != common::StatusCode::kNotFound) return ToGrpcStatus(s, context);
  }
  audit::Record rec = core_->RecordFor(audit::EventType::kShred, *who, context);
  rec.conversation_id = e->id;
  rec.decision = "allow";
  rec.classification = e->classification;
  auto seq = core_->Append(std::move(rec));
  if (!seq.ok()) return ToGrpcStatus(seq.status(), context);
  if (e->stored && core_->vault != nullptr) (void)core_->vault->MarkShredRecorded(e->id, *seq);
  if (Status s = core_->conversations.Remove(e->id); !s.ok()) return ToGrpcStatus(s, context);
  response->set_audit_sequence(*seq);
  return grpc::Status::OK;
}

}  // namespace appliance
