// The ledger's SQLCipher schema and the helpers writer and reader share.
//
//   meta(key TEXT PRIMARY KEY, value BLOB)
//     format = "1", origin, public_key (vkey), pruned_size (decimal),
//     pruned_frontier (concatenated 32-byte nodes)
//   records(seq INTEGER PRIMARY KEY, body BLOB, leaf BLOB)
//     body = canonical record bytes, leaf = SHA-256(0x00 || body)
//   heads(tree_size INTEGER PRIMARY KEY, time_us, root BLOB, signature BLOB,
//         key_id INTEGER, kept INTEGER)
#ifndef AUDIT_SRC_LEDGER_STORE_H_
#define AUDIT_SRC_LEDGER_STORE_H_

#include <optional>
#include <string>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/merkle.h"
#include "common/status.h"
#include "db.h"

namespace audit::internal {

inline constexpr std::string_view kLedgerFormat = "1";

common::Status CreateLedgerSchema(Db& db);
common::StatusOr<std::optional<std::string>> GetMeta(Db& db, std::string_view key);
common::Status SetMeta(Db& db, std::string_view key, std::string_view value);

struct LedgerMeta {
  std::string origin;
  PublicKey public_key;
  Frontier pruned;
};
common::StatusOr<LedgerMeta> ReadLedgerMeta(Db& db);
std::string EncodeFrontier(const Frontier& f);
common::StatusOr<Frontier> DecodeFrontier(uint64_t size, std::string_view blob);

// Heads in ascending tree size, rebuilt as signed checkpoints.
common::StatusOr<std::vector<SignedCheckpoint>> ReadHeads(Db& db, const LedgerMeta& meta,
                                                          const std::string& where = "");
common::Status InsertHead(Db& db, const SignedCheckpoint& head, bool kept);

}  // namespace audit::internal

#endif  // AUDIT_SRC_LEDGER_STORE_H_
