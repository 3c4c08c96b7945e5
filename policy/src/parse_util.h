// Small helpers for reading the policy YAML with line/column errors.
#ifndef POLICY_SRC_PARSE_UTIL_H_
#define POLICY_SRC_PARSE_UTIL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "policy/policy.h"

namespace policy::internal {

// "30d", "12h", "1d12h", "90m", "45s", "2w", "7y" (365 days) -> seconds.
// nullopt when malformed.
std::optional<int64_t> ParseDuration(std::string_view text);
// The shortest exact spelling of a number of seconds ("30d", "1d12h").
std::string FormatDuration(int64_t seconds);

// "10.0.0.0/8", "fd00::/8", "192.168.1.7" (a /32) -> Cidr; error text in *error.
std::optional<Cidr> ParseCidr(std::string_view text, std::string* error);

// Parses a client address: plain v4/v6, "[v6]", gRPC peer strings
// ("ipv4:1.2.3.4:5", "ipv6:[::1]:5"). IPv4-mapped IPv6 becomes IPv4.
// Returns false when it is not an IP address. *is_unix for "unix:..." peers.
bool ParseClientAddress(std::string_view text, bool* v6, uint8_t out[16], bool* is_unix);
bool CidrContains(const Cidr& cidr, bool v6, const uint8_t addr[16]);

std::optional<Action> ParseAction(std::string_view text);

}  // namespace policy::internal

#endif  // POLICY_SRC_PARSE_UTIL_H_
