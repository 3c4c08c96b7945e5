#include "audit/record.h"

#include <array>
#include <cstdio>
#include <ctime>
#include <utility>

namespace audit {
namespace {

constexpr std::array<std::string_view, kMaxEventType + 1> kEventNames = {
    "",              "chat_request",  "chat_outcome", "denial",
    "auth_failure",  "policy_change", "export",       "purge",
    "key_rotation",  "shred",         "legal_hold",   "worker_event",
    "audit_failure", "audit_access",  "config_change"};

// Magic "AR" then the version byte.
constexpr char kMagic0 = 'A';
constexpr char kMagic1 = 'R';

void PutU32(std::string& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutU64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  size_t offset() const { return pos_; }
  bool done() const { return pos_ == b_.size(); }

  common::Status Fail(std::string_view what) const {
    return common::DataLossError("audit record: " + std::string(what) + " at offset " +
                                 std::to_string(pos_));
  }
  bool U8(uint8_t& v) {
    if (b_.size() - pos_ < 1) return false;
    v = static_cast<uint8_t>(b_[pos_++]);
    return true;
  }
  bool U32(uint32_t& v) {
    if (b_.size() - pos_ < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(b_[pos_++]);
    return true;
  }
  bool U64(uint64_t& v) {
    if (b_.size() - pos_ < 8) return false;
    v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(b_[pos_++]);
    return true;
  }
  bool Str(std::string& s) {
    uint32_t n = 0;
    if (!U32(n) || n > kMaxFieldBytes || b_.size() - pos_ < n) return false;
    s.assign(b_.substr(pos_, n));
    pos_ += n;
    return true;
  }

 private:
  std::string_view b_;
  size_t pos_ = 0;
};

// The string fields in encoding order (reasons are encoded after decision).
template <typename R, typename F>
void ForEachLeadingString(R& r, F&& f) {
  f(r.subject);
  f(r.subject_cert);
  f(r.source_address);
  f(r.model_name);
  f(r.model_sha256);
  f(r.chat_template_sha256);
  f(r.policy_sha256);
  f(r.decision);
}
template <typename R, typename F>
void ForEachTrailingString(R& r, F&& f) {
  f(r.classification);
  f(r.conversation_id);
  f(r.request_id);
  f(r.content_sha256);
  f(r.details);
}

}  // namespace

std::string_view EventTypeName(EventType type) {
  auto i = static_cast<size_t>(type);
  return i >= 1 && i < kEventNames.size() ? kEventNames[i] : std::string_view("unknown");
}

common::StatusOr<EventType> ParseEventType(std::string_view name) {
  for (size_t i = 1; i < kEventNames.size(); ++i) {
    if (kEventNames[i] == name) return static_cast<EventType>(i);
  }
  return common::InvalidArgumentError("unknown event type '" + std::string(name) + "'");
}

common::StatusOr<std::string> EncodeRecord(const Record& r) {
  common::Status bad;
  auto check = [&](const std::string& s) {
    if (s.size() > kMaxFieldBytes && bad.ok()) {
      bad = common::InvalidArgumentError("audit record field longer than " +
                                         std::to_string(kMaxFieldBytes) + " bytes");
    }
  };
  ForEachLeadingString(r, check);
  ForEachTrailingString(r, check);
  for (const auto& s : r.reasons) check(s);
  if (r.reasons.size() > kMaxReasons) {
    return common::InvalidArgumentError("audit record has more than " +
                                        std::to_string(kMaxReasons) + " reasons");
  }
  auto event = static_cast<uint8_t>(r.event);
  if (event < 1 || event > kMaxEventType) {
    return common::InvalidArgumentError("audit record has an unknown event type");
  }
  RETURN_IF_ERROR(bad);

  std::string out;
  out.reserve(128 + r.details.size() + r.subject.size() + r.model_name.size());
  out.push_back(kMagic0);
  out.push_back(kMagic1);
  out.push_back(static_cast<char>(kRecordFormatVersion));
  PutU64(out, r.seq);
  PutU64(out, static_cast<uint64_t>(r.time_us));
  out.push_back(static_cast<char>(event));
  auto put = [&](const std::string& s) {
    PutU32(out, static_cast<uint32_t>(s.size()));
    out.append(s);
  };
  ForEachLeadingString(r, put);
  PutU32(out, static_cast<uint32_t>(r.reasons.size()));
  for (const auto& s : r.reasons) put(s);
  ForEachTrailingString(r, put);
  PutU32(out, r.prompt_tokens);
  PutU32(out, r.completion_tokens);
  PutU64(out, r.latency_us);
  if (out.size() > kMaxRecordBytes) {
    return common::InvalidArgumentError("audit record longer than " +
                                        std::to_string(kMaxRecordBytes) + " bytes");
  }
  return out;
}

common::StatusOr<Record> DecodeRecord(std::string_view bytes) {
  Reader in(bytes);
  if (bytes.size() > kMaxRecordBytes) return in.Fail("record too long");
  uint8_t m0 = 0, m1 = 0, version = 0;
  if (!in.U8(m0) || !in.U8(m1) || m0 != kMagic0 || m1 != kMagic1) return in.Fail("bad magic");
  if (!in.U8(version) || version != kRecordFormatVersion) return in.Fail("unsupported version");
  Record r;
  uint64_t time = 0;
  uint8_t event = 0;
  if (!in.U64(r.seq) || !in.U64(time)) return in.Fail("truncated header");
  r.time_us = static_cast<int64_t>(time);
  if (!in.U8(event)) return in.Fail("truncated header");
  if (event < 1 || event > kMaxEventType) return in.Fail("unknown event type");
  r.event = static_cast<EventType>(event);
  bool ok = true;
  auto get = [&](std::string& s) { ok = ok && in.Str(s); };
  ForEachLeadingString(r, get);
  if (!ok) return in.Fail("bad string field");
  uint32_t n_reasons = 0;
  if (!in.U32(n_reasons) || n_reasons > kMaxReasons) return in.Fail("bad reason count");
  r.reasons.resize(n_reasons);
  for (auto& s : r.reasons) get(s);
  ForEachTrailingString(r, get);
  if (!ok) return in.Fail("bad string field");
  if (!in.U32(r.prompt_tokens) || !in.U32(r.completion_tokens) || !in.U64(r.latency_us)) {
    return in.Fail("truncated counters");
  }
  if (!in.done()) return in.Fail("trailing bytes");
  return r;
}

std::string FormatTime(int64_t time_us) {
  int64_t secs = time_us / 1000000;
  int64_t micros = time_us % 1000000;
  if (micros < 0) {
    micros += 1000000;
    secs -= 1;
  }
  time_t t = static_cast<time_t>(secs);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(micros));
  return buf;
}

common::StatusOr<int64_t> ParseTime(std::string_view text) {
  std::string s(text);
  auto bad = [&] {
    return common::InvalidArgumentError("bad time '" + s +
                                        "': want RFC 3339 UTC (2026-01-31T12:00:00Z), "
                                        "a date (2026-01-31) or Unix seconds");
  };
  if (s.empty()) return bad();
  if (s.find_first_not_of("0123456789") == std::string::npos) {
    if (s.size() > 12) return bad();
    return static_cast<int64_t>(std::stoll(s)) * 1000000;
  }
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, consumed = 0;
  int64_t micros = 0;
  if (s.size() == 10) {
    if (std::sscanf(s.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &consumed) != 3 || consumed != 10) {
      return bad();
    }
  } else {
    if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec,
                    &consumed) != 6 ||
        consumed != 19) {
      return bad();
    }
    size_t pos = 19;
    if (pos < s.size() && s[pos] == '.') {
      ++pos;
      int digits = 0;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        if (digits < 6) micros = micros * 10 + (s[pos] - '0');
        ++digits;
        ++pos;
      }
      if (digits == 0) return bad();
      for (; digits < 6; ++digits) micros *= 10;
    }
    if (pos + 1 != s.size() || s[pos] != 'Z') return bad();
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return bad();
  struct tm tm {};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  time_t t = timegm(&tm);
  return static_cast<int64_t>(t) * 1000000 + micros;
}

common::Json RecordToJson(const Record& r) {
  common::Json j = common::Json::MakeObject();
  j.Set("seq", r.seq);
  j.Set("time", FormatTime(r.time_us));
  j.Set("event", std::string(EventTypeName(r.event)));
  auto opt = [&](const char* key, const std::string& v) {
    if (!v.empty()) j.Set(key, v);
  };
  opt("subject", r.subject);
  opt("subject_cert", r.subject_cert);
  opt("source_address", r.source_address);
  opt("model", r.model_name);
  opt("model_sha256", r.model_sha256);
  opt("chat_template_sha256", r.chat_template_sha256);
  opt("policy_sha256", r.policy_sha256);
  opt("decision", r.decision);
  if (!r.reasons.empty()) {
    common::Json reasons = common::Json::MakeArray();
    for (const auto& s : r.reasons) reasons.Push(s);
    j.Set("reasons", std::move(reasons));
  }
  opt("classification", r.classification);
  if (r.prompt_tokens) j.Set("prompt_tokens", r.prompt_tokens);
  if (r.completion_tokens) j.Set("completion_tokens", r.completion_tokens);
  if (r.latency_us) j.Set("latency_us", r.latency_us);
  opt("conversation_id", r.conversation_id);
  opt("request_id", r.request_id);
  opt("content_sha256", r.content_sha256);
  opt("details", r.details);
  return j;
}

}  // namespace audit
