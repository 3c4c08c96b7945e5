#include "parse_util.h"

#include <arpa/inet.h>

#include <cstring>

namespace policy::internal {

std::optional<int64_t> ParseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    int64_t n = 0;
    size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (n > 1'000'000'000) return std::nullopt;
      n = n * 10 + (text[i] - '0');
      ++i;
    }
    if (i == start || i == text.size()) return std::nullopt;
    int64_t unit;
    switch (text[i]) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      case 'w': unit = 7 * 86400; break;
      case 'y': unit = 365 * 86400; break;
      default: return std::nullopt;
    }
    ++i;
    total += n * unit;
    if (total > int64_t{200} * 365 * 86400) return std::nullopt;  // 200 years
  }
  return total;
}

std::string FormatDuration(int64_t seconds) {
  if (seconds == 0) return "0s";
  struct Unit {
    int64_t s;
    char c;
  };
  static constexpr Unit kUnits[] = {{365 * 86400, 'y'}, {86400, 'd'}, {3600, 'h'}, {60, 'm'},
                                    {1, 's'}};
  std::string out;
  for (const Unit& u : kUnits) {
    if (seconds >= u.s) {
      out += std::to_string(seconds / u.s) + u.c;
      seconds %= u.s;
    }
  }
  return out;
}

std::optional<Cidr> ParseCidr(std::string_view text, std::string* error) {
  Cidr c;
  c.text = std::string(text);
  std::string addr(text);
  int max_prefix;
  size_t slash = addr.find('/');
  std::string prefix_text;
  if (slash != std::string::npos) {
    prefix_text = addr.substr(slash + 1);
    addr.resize(slash);
  }
  if (inet_pton(AF_INET, addr.c_str(), c.address.data()) == 1) {
    c.v6 = false;
    max_prefix = 32;
  } else if (inet_pton(AF_INET6, addr.c_str(), c.address.data()) == 1) {
    c.v6 = true;
    max_prefix = 128;
  } else {
    *error = "invalid network address '" + addr + "'; expected an IPv4 or IPv6 CIDR such as "
             "10.0.0.0/8 or fd00::/8";
    return std::nullopt;
  }
  c.prefix = max_prefix;
  if (slash != std::string::npos) {
    if (prefix_text.empty() || prefix_text.size() > 3 ||
        prefix_text.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(prefix_text) > max_prefix || (prefix_text.size() > 1 && prefix_text[0] == '0')) {
      *error = "invalid prefix length '/" + prefix_text + "'; expected 0.." +
               std::to_string(max_prefix);
      return std::nullopt;
    }
    c.prefix = std::stoi(prefix_text);
  }
  // Host bits must be zero: "10.0.0.1/8" is almost always a typo.
  int bytes = c.v6 ? 16 : 4;
  for (int bit = c.prefix; bit < bytes * 8; ++bit) {
    if (c.address[bit / 8] & (0x80 >> (bit % 8))) {
      *error = "network '" + c.text + "' has host bits set after /" + std::to_string(c.prefix);
      return std::nullopt;
    }
  }
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(c.v6 ? AF_INET6 : AF_INET, c.address.data(), buf, sizeof(buf));
  c.text = std::string(buf) + "/" + std::to_string(c.prefix);
  return c;
}

bool ParseClientAddress(std::string_view text, bool* v6, uint8_t out[16], bool* is_unix) {
  *is_unix = false;
  std::string s(text);
  if (s == "unix" || s.rfind("unix:", 0) == 0 || s.rfind("unix-abstract:", 0) == 0) {
    *is_unix = true;
    return false;
  }
  if (s.rfind("ipv4:", 0) == 0) {
    s = s.substr(5);
    size_t colon = s.rfind(':');
    if (colon != std::string::npos) s.resize(colon);
  } else if (s.rfind("ipv6:", 0) == 0) {
    s = s.substr(5);
    if (!s.empty() && s[0] == '[') {
      size_t close = s.find(']');
      if (close == std::string::npos) return false;
      s = s.substr(1, close - 1);
    }
  } else if (!s.empty() && s[0] == '[') {
    size_t close = s.find(']');
    if (close == std::string::npos) return false;
    s = s.substr(1, close - 1);
  }
  // Zone ids ("fe80::1%eth0") are dropped.
  size_t pct = s.find('%');
  if (pct != std::string::npos) s.resize(pct);
  std::memset(out, 0, 16);
  if (inet_pton(AF_INET, s.c_str(), out) == 1) {
    *v6 = false;
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), out) == 1) {
    static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(out, kMapped, 12) == 0) {
      std::memmove(out, out + 12, 4);
      std::memset(out + 4, 0, 12);
      *v6 = false;
    } else {
      *v6 = true;
    }
    return true;
  }
  return false;
}

bool CidrContains(const Cidr& cidr, bool v6, const uint8_t addr[16]) {
  if (cidr.v6 != v6) return false;
  int full = cidr.prefix / 8;
  if (std::memcmp(cidr.address.data(), addr, full) != 0) return false;
  int rest = cidr.prefix % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (cidr.address[full] & mask) == (addr[full] & mask);
}

std::optional<Action> ParseAction(std::string_view text) {
  if (text == "off") return Action::kOff;
  if (text == "redact_in_audit") return Action::kRedactInAudit;
  if (text == "redact_before_model") return Action::kRedactBeforeModel;
  if (text == "block") return Action::kBlock;
  return std::nullopt;
}

}  // namespace policy::internal
