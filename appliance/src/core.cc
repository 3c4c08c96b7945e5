#include "core.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <iostream>

#include "appliance/grpc_status.h"
#include "common/file.h"
#include "appliance/tls_material.h"

namespace appliance {

using common::Status;
using common::StatusOr;

void LogEvent(std::string_view level, std::string_view msg, common::Json fields) {
  common::Json line = common::Json::MakeObject();
  const auto now = std::chrono::system_clock::now();
  line.Set("time", audit::FormatTime(
                       std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch())
                           .count()));
  line.Set("level", std::string(level));
  line.Set("component", "assistantd");
  line.Set("msg", std::string(msg));
  if (fields.is_object()) {
    for (const auto& [k, v] : fields.as_object()) line.Set(k, v);
  }
  static std::mutex mu;
  std::lock_guard lock(mu);
  std::cerr << line.Dump() << "\n";
}

// ---------------------------------------------------------------- conversations

namespace {

ConversationEntry EntryFromJson(const common::Json& c) {
  ConversationEntry e;
  auto s = [&](const char* k) {
    const common::Json* v = c.Find(k);
    return v && v->is_string() ? v->as_string() : std::string();
  };
  auto n = [&](const char* k) {
    const common::Json* v = c.Find(k);
    return v && v->is_number() ? v->as_int() : int64_t{0};
  };
  e.id = s("id");
  e.owner = s("owner");
  e.classification = s("classification");
  e.model = s("model");
  e.created_s = n("created");
  e.updated_s = n("updated");
  e.content_seconds = n("content_seconds");
  e.audit_seconds = n("audit_seconds");
  const common::Json* stored = c.Find("stored");
  e.stored = stored && stored->is_bool() && stored->as_bool();
  if (const common::Json* m = c.Find("messages"); m && m->is_array()) {
    for (const auto& pair : m->as_array()) {
      if (pair.is_array() && pair.size() == 2) {
        e.messages.emplace_back(pair.as_array()[0].as_string(), pair.as_array()[1].as_string());
      }
    }
  }
  return e;
}

common::Json EntryToJson(const ConversationEntry& e) {
  common::Json c = common::Json::MakeObject();
  c.Set("id", e.id);
  c.Set("owner", e.owner);
  c.Set("classification", e.classification);
  c.Set("model", e.model);
  c.Set("created", e.created_s);
  c.Set("updated", e.updated_s);
  c.Set("stored", e.stored);
  c.Set("content_seconds", e.content_seconds);
  c.Set("audit_seconds", e.audit_seconds);
  common::Json msgs = common::Json::MakeArray();
  for (const auto& [role, content_id] : e.messages) {
    common::Json pair = common::Json::MakeArray();
    pair.Push(role);
    pair.Push(content_id);
    msgs.Push(std::move(pair));
  }
  c.Set("messages", std::move(msgs));
  return c;
}

constexpr size_t kJournalCompactLines = 20000;

}  // namespace

ConversationIndex::~ConversationIndex() {
  if (journal_fd_ >= 0) ::close(journal_fd_);
}

Status ConversationIndex::Load(const std::string& path) {
  std::lock_guard lock(mu_);
  path_ = path;
  if (::access(path.c_str(), F_OK) == 0) {
    ASSIGN_OR_RETURN(std::string text, common::ReadFile(path));
    ASSIGN_OR_RETURN(common::Json root, common::Json::Parse(text));
    const common::Json* list = root.Find("conversations");
    if (list == nullptr || !list->is_array()) return common::DataLossError(path + ": malformed");
    for (const auto& c : list->as_array()) {
      ConversationEntry e = EntryFromJson(c);
      const std::string id = e.id;
      entries_[id] = std::move(e);
    }
  }
  // Changes after the snapshot; a torn last line (crash mid-write) is ignored.
  const std::string journal = path + ".journal";
  if (::access(journal.c_str(), F_OK) == 0) {
    ASSIGN_OR_RETURN(std::string text, common::ReadFile(journal));
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string::npos) break;  // no newline: torn
      auto line = common::Json::Parse(std::string_view(text).substr(pos, end - pos));
      pos = end + 1;
      if (!line.ok() || !line->is_object()) continue;
      const common::Json* op = line->Find("op");
      const common::Json* c = line->Find("conversation");
      if (op == nullptr || !op->is_string()) continue;
      if (op->as_string() == "put" && c != nullptr) {
        ConversationEntry e = EntryFromJson(*c);
        const std::string id = e.id;
        entries_[id] = std::move(e);
      } else if (op->as_string() == "remove") {
        if (const common::Json* id = line->Find("id"); id && id->is_string()) entries_.erase(id->as_string());
      }
    }
  }
  return CompactLocked();
}

Status ConversationIndex::CompactLocked() {
  RETURN_IF_ERROR(SaveLocked());
  if (journal_fd_ >= 0) ::close(journal_fd_);
  const std::string journal = path_ + ".journal";
  journal_fd_ = ::open(journal.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
  if (journal_fd_ < 0) {
    return common::UnavailableError("cannot open " + journal + ": " + std::strerror(errno));
  }
  journal_lines_ = 0;
  return common::OkStatus();
}

Status ConversationIndex::JournalLocked(const common::Json& line) {
  if (journal_fd_ < 0) return common::FailedPreconditionError("conversation index not loaded");
  const std::string data = line.Dump() + "\n";
  if (::write(journal_fd_, data.data(), data.size()) != static_cast<ssize_t>(data.size()) ||
      ::fdatasync(journal_fd_) != 0) {
    return common::UnavailableError("cannot append to the conversation index journal " + path_ +
                                    ".journal: " + std::strerror(errno));
  }
  if (++journal_lines_ >= kJournalCompactLines) return CompactLocked();
  return common::OkStatus();
}

Status ConversationIndex::SaveLocked() const {
  common::Json list = common::Json::MakeArray();
  for (const auto& [id, e] : entries_) list.Push(EntryToJson(e));
  common::Json root = common::Json::MakeObject();
  root.Set("conversations", std::move(list));
  return common::WriteFileAtomic(path_, root.Dump() + "\n").WithContext("conversation index");
}

std::optional<ConversationEntry> ConversationIndex::Get(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

std::vector<ConversationEntry> ConversationIndex::ForOwner(const std::string& owner) const {
  std::lock_guard lock(mu_);
  std::vector<ConversationEntry> out;
  for (const auto& [id, e] : entries_) {
    if (e.owner == owner) out.push_back(e);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.updated_s > b.updated_s; });
  return out;
}

std::vector<ConversationEntry> ConversationIndex::All() const {
  std::lock_guard lock(mu_);
  std::vector<ConversationEntry> out;
  for (const auto& [id, e] : entries_) out.push_back(e);
  return out;
}

Status ConversationIndex::Put(const ConversationEntry& entry) {
  std::lock_guard lock(mu_);
  entries_[entry.id] = entry;
  common::Json line = common::Json::MakeObject();
  line.Set("op", "put");
  line.Set("conversation", EntryToJson(entry));
  return JournalLocked(line);
}

Status ConversationIndex::Remove(const std::string& id) {
  std::lock_guard lock(mu_);
  entries_.erase(id);
  common::Json line = common::Json::MakeObject();
  line.Set("op", "remove");
  line.Set("id", id);
  return JournalLocked(line);
}

// ---------------------------------------------------------------- legal holds

Status LegalHoldStore::Load(const std::string& path) {
  std::lock_guard lock(mu_);
  path_ = path;
  if (::access(path.c_str(), F_OK) != 0) return common::OkStatus();
  ASSIGN_OR_RETURN(std::string text, common::ReadFile(path));
  ASSIGN_OR_RETURN(common::Json root, common::Json::Parse(text));
  const common::Json* list = root.Find("holds");
  if (list == nullptr || !list->is_array()) return common::DataLossError(path + ": malformed");
  for (const auto& h : list->as_array()) {
    auto s = [&](const char* k) {
      const common::Json* v = h.Find(k);
      return v && v->is_string() ? v->as_string() : std::string();
    };
    HoldEntry e;
    e.id = s("id");
    e.user_id = s("user_id");
    e.conversation_id = s("conversation_id");
    e.reason = s("reason");
    e.placed_by = s("placed_by");
    if (const common::Json* t = h.Find("placed"); t && t->is_number()) e.placed_s = t->as_int();
    holds_.push_back(std::move(e));
  }
  return common::OkStatus();
}

Status LegalHoldStore::SaveLocked() const {
  common::Json list = common::Json::MakeArray();
  for (const auto& h : holds_) {
    common::Json j = common::Json::MakeObject();
    j.Set("id", h.id);
    if (!h.user_id.empty()) j.Set("user_id", h.user_id);
    if (!h.conversation_id.empty()) j.Set("conversation_id", h.conversation_id);
    j.Set("reason", h.reason);
    j.Set("placed_by", h.placed_by);
    j.Set("placed", h.placed_s);
    list.Push(std::move(j));
  }
  common::Json root = common::Json::MakeObject();
  root.Set("holds", std::move(list));
  return common::WriteFileAtomic(path_, root.Dump() + "\n").WithContext("legal holds");
}

std::vector<HoldEntry> LegalHoldStore::List() const {
  std::lock_guard lock(mu_);
  return holds_;
}

Status LegalHoldStore::Add(const HoldEntry& hold) {
  std::lock_guard lock(mu_);
  holds_.push_back(hold);
  Status s = SaveLocked();
  if (!s.ok()) holds_.pop_back();
  return s;
}

StatusOr<HoldEntry> LegalHoldStore::Remove(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = std::find_if(holds_.begin(), holds_.end(), [&](const HoldEntry& h) { return h.id == id; });
  if (it == holds_.end()) {
    return Status(common::StatusCode::kNotFound, "no legal hold " + id + " placed through the API",
                  "HOLD_NOT_FOUND");
  }
  HoldEntry removed = *it;
  holds_.erase(it);
  Status s = SaveLocked();
  if (!s.ok()) {
    holds_.push_back(removed);
    return s;
  }
  return removed;
}

bool LegalHoldStore::Covers(const std::string& user_id, const std::string& conversation_id) const {
  std::lock_guard lock(mu_);
  return std::any_of(holds_.begin(), holds_.end(), [&](const HoldEntry& h) {
    return (!h.user_id.empty() && h.user_id == user_id) ||
           (!h.conversation_id.empty() && h.conversation_id == conversation_id);
  });
}

// ---------------------------------------------------------------- core

bool Core::UnderLegalHold(const std::string& user_id, const std::string& conversation_id) const {
  if (holds.Covers(user_id, conversation_id)) return true;
  for (const auto& h : policy->Current()->legal_holds()) {
    if (std::find(h.users.begin(), h.users.end(), user_id) != h.users.end()) return true;
    if (std::find(h.conversations.begin(), h.conversations.end(), conversation_id) !=
        h.conversations.end()) {
      return true;
    }
  }
  return false;
}

Status Core::SyncLegalHold(const ConversationEntry& conversation) {
  if (vault == nullptr || !conversation.stored) return common::OkStatus();
  Status s = vault->SetLegalHold(conversation.id, UnderLegalHold(conversation.owner, conversation.id));
  if (s.code() == common::StatusCode::kNotFound) return common::OkStatus();  // nothing sealed yet
  return s;
}

int64_t Core::NowSeconds() const {
  return std::chrono::duration_cast<std::chrono::seconds>(clock().time_since_epoch()).count();
}

int64_t Core::NowMicros() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(clock().time_since_epoch()).count();
}

audit::Record Core::RecordFor(audit::EventType type, const Identity& who,
                              grpc::ServerContext* context) const {
  audit::Record r;
  r.event = type;
  r.subject = who.user_id;
  r.subject_cert = who.cert_fingerprint;
  if (context != nullptr) r.source_address = PeerHost(context->peer());
  return r;
}

StatusOr<uint64_t> Core::Append(audit::Record record) {
  const auto t0 = std::chrono::steady_clock::now();
  auto seq = ledger->Append(std::move(record));
  metrics.ObserveLedgerAppend(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
          .count()));
  if (!seq.ok()) {
    metrics.audit_failures.fetch_add(1);
    LogEvent("error", "audit append failed; refusing the request (fail closed)",
             common::Json(common::Json::Object{{"error", seq.status().message()}}));
    return Status(common::StatusCode::kUnavailable,
                  "the audit ledger cannot be written, so the request is refused",
                  "AUDIT_UNAVAILABLE");
  }
  return seq;
}

StatusOr<std::unique_ptr<audit::LedgerReader>> Core::Reader() const {
  return audit::LedgerReader::Open(ledger_path, *master_key);
}

StatusOr<Identity> Core::Authenticate(grpc::ServerContext* context, std::string_view method) {
  const std::string source = PeerHost(context->peer());
  auto fail = [&](Status why) -> Status {
    metrics.auth_failures.fetch_add(1);
    auth_limiter->RecordFailure(source);
    audit::Record r;
    r.event = audit::EventType::kAuthFailure;
    r.source_address = source;
    r.decision = "deny";
    r.reasons = {why.reason().empty() ? "UNAUTHENTICATED" : why.reason()};
    common::Json d = common::Json::MakeObject();
    d.Set("method", std::string(method));
    r.details = d.Dump();
    auto seq = ledger->Append(std::move(r));
    LogEvent("warn", "authentication failed",
             common::Json(common::Json::Object{{"source", source},
                                               {"reason", why.reason()},
                                               {"method", std::string(method)}}));
    if (!seq.ok()) metrics.audit_failures.fetch_add(1);
    return why;
  };
  if (auth_limiter->Blocked(source)) {
    metrics.auth_failures.fetch_add(1);
    return Status(common::StatusCode::kResourceExhausted,
                  "too many failed authentications from " + source + "; wait a minute",
                  "AUTH_RATE_LIMITED");
  }
  // Bearer token or JWT in the authorization header.
  const auto& md = context->client_metadata();
  auto it = md.find("authorization");
  if (it != md.end()) {
    std::string value(it->second.data(), it->second.size());
    if (value.rfind("Bearer ", 0) != 0) {
      return fail(Status(common::StatusCode::kUnauthenticated,
                         "authorization must be 'Bearer <token>'", "TOKEN_INVALID"));
    }
    const std::string token = value.substr(7);
    StatusOr<Identity> id = token.rfind("ast_", 0) == 0 || jwt == nullptr
                                ? tokens->Verify(token)
                                : jwt->Verify(token);
    common::SecureZero(value.data(), value.size());
    if (!id.ok()) return fail(id.status());
    return id;
  }
  // Client certificate.
  auto pems = context->auth_context()->FindPropertyValues("x509_pem_cert");
  if (!context->auth_context()->IsPeerAuthenticated() || pems.empty()) {
    return fail(Status(common::StatusCode::kUnauthenticated,
                       "no client certificate and no bearer token", "NO_CREDENTIALS"));
  }
  const std::string pem(pems[0].data(), pems[0].size());
  StatusOr<CertificateNames> names = common::InternalError("unset");
  {
    std::lock_guard lock(cert_mu);
    auto cached = cert_cache.find(pem);
    if (cached != cert_cache.end()) names = cached->second;
  }
  if (!names.ok()) {
    names = ReadCertificateNames(pem);
    if (!names.ok()) return fail(names.status());
    std::lock_guard lock(cert_mu);
    if (cert_cache.size() >= 1024) cert_cache.clear();
    cert_cache.emplace(pem, *names);
  }
  Identity identity;
  identity.method = "mtls";
  identity.cert_fingerprint = names->fingerprint;
  std::vector<std::string> candidates = {names->common_name};
  candidates.insert(candidates.end(), names->sans.begin(), names->sans.end());
  if (users != nullptr) {
    const UserDirectory::Entry* e = users->Find(candidates);
    if (e == nullptr) {
      return fail(Status(common::StatusCode::kUnauthenticated,
                         "certificate '" + names->common_name + "' is not in the user directory",
                         "UNKNOWN_USER"));
    }
    identity.user_id = e->id;
    identity.roles = e->roles;
  } else {
    identity.user_id = names->common_name;
  }
  if (identity.roles.empty()) {
    // Roles from certificate attributes: OU=role:<name>.
    for (const auto& ou : names->organizational_units) {
      if (ou.rfind("role:", 0) == 0) identity.roles.push_back(ou.substr(5));
    }
  }
  return identity;
}

Status Core::RequireRole(const Identity& who, std::initializer_list<std::string_view> roles,
                         std::string_view action, grpc::ServerContext* context) {
  for (auto r : roles) {
    if (who.HasRole(r)) return common::OkStatus();
  }
  std::string needed;
  for (auto r : roles) needed += (needed.empty() ? "" : " or ") + std::string(r);
  audit::Record rec = RecordFor(audit::EventType::kDenial, who, context);
  rec.decision = "deny";
  rec.reasons = {"role.required"};
  common::Json d = common::Json::MakeObject();
  d.Set("action", std::string(action));
  d.Set("needed", needed);
  rec.details = d.Dump();
  auto seq = Append(std::move(rec));
  if (!seq.ok()) return seq.status();
  return Status(common::StatusCode::kPermissionDenied,
                std::string(action) + " needs the role " + needed + "; " + who.user_id +
                    " does not have it",
                "ROLE_REQUIRED");
}

void RecordToProto(const audit::Record& r, assistant::v1::AuditRecord* out) {
  out->set_sequence(r.seq);
  out->mutable_time()->set_seconds(r.time_us / 1000000);
  out->mutable_time()->set_nanos(static_cast<int32_t>(r.time_us % 1000000) * 1000);
  out->set_event_type(std::string(audit::EventTypeName(r.event)));
  out->set_subject(r.subject);
  out->set_certificate_fingerprint(r.subject_cert);
  out->set_source_address(r.source_address);
  out->set_model(r.model_name);
  out->set_model_sha256(r.model_sha256);
  out->set_chat_template_sha256(r.chat_template_sha256);
  out->set_policy_hash(r.policy_sha256);
  out->set_decision(r.decision);
  for (const auto& reason : r.reasons) {
    auto* pr = out->add_reasons();
    pr->set_rule_id(reason);
    pr->set_denies(r.decision == "deny");
  }
  out->set_classification(r.classification);
  out->set_prompt_tokens(r.prompt_tokens);
  out->set_completion_tokens(r.completion_tokens);
  out->mutable_latency()->set_seconds(static_cast<int64_t>(r.latency_us / 1000000));
  out->mutable_latency()->set_nanos(static_cast<int32_t>(r.latency_us % 1000000) * 1000);
  out->set_conversation_id(r.conversation_id);
  out->set_request_id(r.request_id);
  out->set_content_sha256(r.content_sha256);
  out->set_details_json(r.details);
  if (!r.details.empty()) {
    auto details = common::Json::Parse(r.details);
    if (details.ok()) {
      if (const common::Json* f = details->Find("finish_reason"); f && f->is_string()) {
        out->set_finish_reason(f->as_string());
      }
      if (const common::Json* red = details->Find("redactions"); red && red->is_array()) {
        for (const auto& x : red->as_array()) {
          auto* p = out->add_redactions();
          if (const auto* t = x.Find("type")) p->set_type(t->as_string());
          if (const auto* a = x.Find("action")) p->set_action(a->as_string());
          if (const auto* ph = x.Find("placeholder")) p->set_placeholder(ph->as_string());
          if (const auto* b = x.Find("begin")) p->set_begin(static_cast<uint32_t>(b->as_int()));
          if (const auto* e = x.Find("end")) p->set_end(static_cast<uint32_t>(e->as_int()));
        }
      }
    }
  }
}

}  // namespace appliance
