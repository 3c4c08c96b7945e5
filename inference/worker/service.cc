#include "worker/service.h"

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "common/json.h"
#include "inference/version.h"

namespace worker {
namespace v1 = ::inference::v1;
using inference::FinishReason;
using inference::GenerateEvent;
using inference::GenerationStream;

grpc::Status ToGrpcStatus(const common::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  std::string message = status.message();
  if (!status.reason().empty()) message += " [" + status.reason() + "]";
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), message);
}

namespace {

v1::GenerateFinished::Reason ToProto(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop: return v1::GenerateFinished::REASON_STOP;
    case FinishReason::kLength: return v1::GenerateFinished::REASON_LENGTH;
    case FinishReason::kCancelled: return v1::GenerateFinished::REASON_CANCELLED;
    case FinishReason::kError: return v1::GenerateFinished::REASON_ERROR;
  }
  return v1::GenerateFinished::REASON_UNSPECIFIED;
}

// Proto3 zero values mean "off"/"default", never an invalid setting.
inference::SamplingParams FromProto(const v1::Sampling& s, uint64_t fallback_seed) {
  inference::SamplingParams p;
  p.temperature = s.temperature();
  p.top_k = static_cast<int>(std::min<uint32_t>(s.top_k(), 1u << 20));
  p.top_p = s.top_p() == 0.0f ? 1.0f : s.top_p();
  p.min_p = s.min_p();
  p.repetition_penalty = s.repetition_penalty() == 0.0f ? 1.0f : s.repetition_penalty();
  p.frequency_penalty = s.frequency_penalty();
  p.presence_penalty = s.presence_penalty();
  p.seed = s.has_seed() ? s.seed() : fallback_seed;
  return p;
}

// Renders a chat with the model's template. Message content is never put
// into an error (template errors name the template line only).
common::StatusOr<std::string> RenderChatPrompt(const ModelSlot& slot, const v1::ChatPrompt& chat) {
  if (!slot.text().render_chat) {
    return common::FailedPreconditionError("model '" + slot.entry().name +
                                           "' has no chat template; send text or prompt_ids");
  }
  common::Json messages = common::Json::MakeArray();
  for (const auto& m : chat.messages()) {
    common::Json msg = common::Json::MakeObject();
    msg.Set("role", m.role());
    msg.Set("content", m.content());
    messages.Push(std::move(msg));
  }
  common::Json extra = common::Json::MakeObject();
  if (!chat.template_context_json().empty()) {
    auto parsed = common::Json::Parse(chat.template_context_json());
    if (!parsed.ok() || !parsed->is_object()) {
      return common::InvalidArgumentError("template_context_json must be a JSON object");
    }
    extra = std::move(parsed).value();
  }
  return slot.text().render_chat(messages, extra);
}

}  // namespace

InferenceServiceImpl::InferenceServiceImpl(ModelRegistry* registry, ServiceOptions options)
    : registry_(registry), options_(options), seed_counter_(std::random_device{}()) {}

grpc::Status InferenceServiceImpl::Generate(grpc::ServerContext* context,
                                            const v1::GenerateRequest* request,
                                            grpc::ServerWriter<v1::GenerateEvent>* writer) {
  auto slot = registry_->Find(request->model());
  if (slot == nullptr) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown model '" + request->model() + "'");
  }
  if (slot->state() != ModelState::kReady) {
    const auto snap = slot->Snapshot();
    if (snap.state == ModelState::kFailed) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "model '" + request->model() + "' failed to load");
    }
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "model '" + request->model() + "' is loading (" +
                            std::to_string(static_cast<int>(snap.progress * 100)) +
                            "%); retry later");
  }

  inference::GenerateRequest req;
  switch (request->prompt_case()) {
    case v1::GenerateRequest::kPromptIds:
      req.prompt.assign(request->prompt_ids().ids().begin(), request->prompt_ids().ids().end());
      break;
    case v1::GenerateRequest::kText: {
      if (!slot->text().encode) {
        return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                            "text prompts need the model's tokenizer, not available in this "
                            "build; send prompt_ids");
      }
      auto ids = slot->text().encode(request->text());
      if (!ids.ok()) return ToGrpcStatus(ids.status());
      req.prompt = std::move(ids).value();
      break;
    }
    case v1::GenerateRequest::kChat: {
      auto rendered = RenderChatPrompt(*slot, request->chat());
      if (!rendered.ok()) return ToGrpcStatus(rendered.status());
      auto ids = slot->text().encode_chat(*rendered);
      if (!ids.ok()) return ToGrpcStatus(ids.status());
      req.prompt = std::move(ids).value();
      break;
    }
    case v1::GenerateRequest::PROMPT_NOT_SET:
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no prompt");
  }
  req.sampling = FromProto(request->sampling(), seed_counter_.fetch_add(0x9E3779B97F4A7C15ull));
  req.tenant_key = request->tenant_key();
  const int context_len = slot->engine()->Stats().max_model_len;
  req.max_tokens = request->max_tokens() == 0
                       ? context_len
                       : static_cast<int>(std::min<uint32_t>(request->max_tokens(), 1u << 24));
  req.stop.assign(request->stop().begin(), request->stop().end());
  const int prompt_tokens = static_cast<int>(req.prompt.size());

  auto submitted = slot->engine()->Submit(std::move(req));
  if (!submitted.ok()) {
    const auto& st = submitted.status();
    if (st.code() == common::StatusCode::kResourceExhausted) {
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          "worker is full: " + st.message() + "; retry after 1s");
    }
    return ToGrpcStatus(st);
  }
  std::unique_ptr<GenerationStream> stream = std::move(submitted).value();

  bool client_gone = false;
  GenerateEvent ev;
  // When the next token event may be written: the first at once.
  std::chrono::steady_clock::time_point next_write{};
  while (true) {
    const auto wait = stream->NextFor(&ev, options_.cancel_poll);
    if (wait == GenerationStream::Wait::kEnd) break;
    if (wait == GenerationStream::Wait::kTimeout) {
      if (!client_gone && context->IsCancelled()) {
        client_gone = true;
        stream->Cancel();  // the final event follows at once
      }
      continue;
    }
    v1::GenerateEvent out;
    if (ev.kind == GenerateEvent::Kind::kStarted) {
      auto* started = out.mutable_started();
      started->set_prompt_tokens(static_cast<uint32_t>(prompt_tokens));
      started->set_cached_prompt_tokens(static_cast<uint32_t>(ev.usage.cached_prompt_tokens));
      started->set_model_sha256(slot->sha256());
      if (request->prompt_case() == v1::GenerateRequest::kChat) {
        started->set_chat_template_sha256(slot->text().chat_template_sha256);
      }
    } else if (ev.kind == GenerateEvent::Kind::kToken) {
      auto* token = out.mutable_token();
      if (ev.token >= 0) token->add_ids(ev.token);
      std::string text = std::move(ev.text);
      // Coalesce into this event the tokens already waiting and, until this
      // stream's next write is due, the ones that follow (the finish ends
      // the wait at once).
      bool finished_next = false;
      GenerateEvent more;
      while (token->ids_size() < options_.max_tokens_per_event) {
        const auto now = std::chrono::steady_clock::now();
        const auto budget = next_write > now ? std::chrono::duration_cast<std::chrono::microseconds>(
                                                   next_write - now)
                                             : std::chrono::microseconds(0);
        if (stream->NextFor(&more, budget) != GenerationStream::Wait::kEvent) break;
        if (more.kind != GenerateEvent::Kind::kToken) {
          finished_next = true;
          break;
        }
        if (more.token >= 0) token->add_ids(more.token);
        text += more.text;
      }
      token->set_text(std::move(text));
      next_write = std::chrono::steady_clock::now() + options_.min_event_interval;
      if (!client_gone && !writer->Write(out)) {
        client_gone = true;
        stream->Cancel();
      }
      if (!finished_next) continue;
      ev = std::move(more);
      out.Clear();
    }
    if (ev.kind == GenerateEvent::Kind::kFinished) {
      auto* fin = out.mutable_finished();
      fin->set_reason(ToProto(ev.reason));
      fin->set_prompt_tokens(static_cast<uint32_t>(ev.usage.prompt_tokens));
      fin->set_completion_tokens(static_cast<uint32_t>(ev.usage.completion_tokens));
      fin->set_queue_micros(static_cast<uint64_t>(ev.timings.queue_micros));
      fin->set_prefill_micros(static_cast<uint64_t>(ev.timings.prefill_micros));
      fin->set_decode_micros(static_cast<uint64_t>(ev.timings.decode_micros));
      if (!ev.error.ok()) fin->set_error(ev.error.ToString());
      // The finish is the stream's last message: it travels with the status.
      if (!client_gone && !context->IsCancelled()) {
        writer->WriteLast(out, grpc::WriteOptions());
        continue;  // the stream ends next (kEnd)
      }
    }
    if (!client_gone && !writer->Write(out)) {
      client_gone = true;
      stream->Cancel();
    }
  }
  if (client_gone || context->IsCancelled()) {
    return grpc::Status(grpc::StatusCode::CANCELLED, "client cancelled");
  }
  return grpc::Status::OK;
}

grpc::Status InferenceServiceImpl::RenderChat(grpc::ServerContext*,
                                              const v1::RenderChatRequest* request,
                                              v1::RenderChatResponse* response) {
  auto slot = registry_->Find(request->model());
  if (slot == nullptr) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown model '" + request->model() + "'");
  }
  if (slot->state() != ModelState::kReady) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "model '" + request->model() + "' is not ready");
  }
  auto rendered = RenderChatPrompt(*slot, request->chat());
  if (!rendered.ok()) return ToGrpcStatus(rendered.status());
  auto ids = slot->text().encode_chat(*rendered);
  if (!ids.ok()) return ToGrpcStatus(ids.status());
  response->set_text(std::move(rendered).value());
  for (int32_t id : *ids) response->add_ids(id);
  response->set_chat_template_sha256(slot->text().chat_template_sha256);
  return grpc::Status::OK;
}

grpc::Status InferenceServiceImpl::ListModels(grpc::ServerContext*, const v1::ListModelsRequest*,
                                              v1::ListModelsResponse* response) {
  for (const auto& m : registry_->List()) {
    auto* info = response->add_models();
    info->set_name(m.entry.name);
    info->set_path(m.entry.path);
    info->set_architecture(m.architecture);
    info->set_file_size_bytes(m.file_size);
    info->set_parameters(m.parameters);
    info->set_quantization(m.quantization);
    info->set_sha256(m.sha256);
    info->set_context_length(static_cast<uint32_t>(m.context_length));
    info->set_backend(m.backend);
    info->set_load_progress(m.progress);
    info->set_error(m.error);
    if (auto slot = registry_->Find(m.entry.name); slot && m.state == ModelState::kReady) {
      info->set_chat_template_sha256(slot->text().chat_template_sha256);
    }
    switch (m.state) {
      case ModelState::kLoading: info->set_state(v1::ModelInfo::STATE_LOADING); break;
      case ModelState::kReady: info->set_state(v1::ModelInfo::STATE_READY); break;
      case ModelState::kFailed: info->set_state(v1::ModelInfo::STATE_FAILED); break;
    }
  }
  return grpc::Status::OK;
}

grpc::Status InferenceServiceImpl::Status(grpc::ServerContext*, const v1::StatusRequest*,
                                          v1::StatusResponse* response) {
  response->set_version(inference::Version());
  std::string backends;
  for (const auto& m : registry_->List()) {
    auto slot = registry_->Find(m.entry.name);
    if (m.state != ModelState::kReady) continue;
    if (!backends.empty() && backends.find(m.backend) == std::string::npos) backends += "; ";
    if (backends.find(m.backend) == std::string::npos) backends += m.backend;
    const auto stats = slot->engine()->Stats();
    response->set_active_sequences(response->active_sequences() +
                                   static_cast<uint32_t>(stats.running));
    response->set_waiting_sequences(response->waiting_sequences() +
                                    static_cast<uint32_t>(stats.waiting));
    const auto& cfg = slot->engine()->scheduler_config();
    response->set_capacity(response->capacity() +
                           static_cast<uint32_t>(cfg.max_num_seqs + cfg.max_waiting));
    response->set_kv_blocks_total(response->kv_blocks_total() +
                                  static_cast<uint32_t>(stats.kv_blocks_total));
    response->set_kv_blocks_free(response->kv_blocks_free() +
                                 static_cast<uint32_t>(stats.kv_blocks_free));
    response->set_tokens_generated(response->tokens_generated() +
                                   static_cast<uint64_t>(stats.tokens_generated));
  }
  response->set_backend(backends);
  return grpc::Status::OK;
}

}  // namespace worker
