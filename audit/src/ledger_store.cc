#include "ledger_store.h"

#include <cstring>

namespace audit::internal {

common::Status CreateLedgerSchema(Db& db) {
  return db.Exec(
      "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);"
      "CREATE TABLE IF NOT EXISTS records(seq INTEGER PRIMARY KEY, body BLOB NOT NULL,"
      " leaf BLOB NOT NULL);"
      "CREATE TABLE IF NOT EXISTS heads(tree_size INTEGER PRIMARY KEY, time_us INTEGER NOT NULL,"
      " root BLOB NOT NULL, signature BLOB NOT NULL, key_id INTEGER NOT NULL,"
      " kept INTEGER NOT NULL DEFAULT 0);");
}

common::StatusOr<std::optional<std::string>> GetMeta(Db& db, std::string_view key) {
  ASSIGN_OR_RETURN(Stmt st, db.Prepare("SELECT value FROM meta WHERE key = ?"));
  st.BindText(1, key);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(std::string(st.Blob(0)));
}

common::Status SetMeta(Db& db, std::string_view key, std::string_view value) {
  ASSIGN_OR_RETURN(Stmt st, db.Prepare("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)"));
  st.BindText(1, key).Bind(2, value);
  return st.Run();
}

std::string EncodeFrontier(const Frontier& f) {
  std::string out;
  for (const Hash& h : f.nodes()) out.append(reinterpret_cast<const char*>(h.data()), h.size());
  return out;
}

common::StatusOr<Frontier> DecodeFrontier(uint64_t size, std::string_view blob) {
  if (blob.size() % 32 != 0) return common::DataLossError("ledger: bad pruned frontier");
  std::vector<Hash> nodes(blob.size() / 32);
  for (size_t i = 0; i < nodes.size(); ++i) std::memcpy(nodes[i].data(), blob.data() + 32 * i, 32);
  return Frontier::FromNodes(size, std::move(nodes));
}

common::StatusOr<LedgerMeta> ReadLedgerMeta(Db& db) {
  {
    ASSIGN_OR_RETURN(Stmt st, db.Prepare(
                                  "SELECT count(*) FROM sqlite_master WHERE name = 'meta'"));
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row || st.Int(0) == 0) {
      return common::Status(common::StatusCode::kFailedPrecondition,
                            db.path() + ": the ledger was never initialised (no records)",
                            "UNINITIALISED");
    }
  }
  ASSIGN_OR_RETURN(auto format, GetMeta(db, "format"));
  if (!format) return common::FailedPreconditionError(db.path() + ": not an audit ledger (no format marker)");
  if (*format != kLedgerFormat) {
    return common::FailedPreconditionError(db.path() + ": unsupported ledger format " + *format);
  }
  ASSIGN_OR_RETURN(auto origin, GetMeta(db, "origin"));
  ASSIGN_OR_RETURN(auto vkey, GetMeta(db, "public_key"));
  ASSIGN_OR_RETURN(auto pruned_size, GetMeta(db, "pruned_size"));
  ASSIGN_OR_RETURN(auto pruned_frontier, GetMeta(db, "pruned_frontier"));
  if (!origin || !vkey || !pruned_size || !pruned_frontier) {
    return common::DataLossError(db.path() + ": ledger metadata incomplete");
  }
  LedgerMeta meta;
  meta.origin = *origin;
  ASSIGN_OR_RETURN(meta.public_key, PublicKey::FromVkey(*vkey));
  uint64_t size = 0;
  for (char c : *pruned_size) {
    if (c < '0' || c > '9') return common::DataLossError("ledger: bad pruned size");
    size = size * 10 + static_cast<uint64_t>(c - '0');
  }
  ASSIGN_OR_RETURN(meta.pruned, DecodeFrontier(size, *pruned_frontier));
  return meta;
}

common::StatusOr<std::vector<SignedCheckpoint>> ReadHeads(Db& db, const LedgerMeta& meta,
                                                          const std::string& where) {
  ASSIGN_OR_RETURN(Stmt st, db.Prepare("SELECT tree_size, time_us, root, signature, key_id FROM heads " +
                                       where + " ORDER BY tree_size"));
  std::vector<SignedCheckpoint> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    SignedCheckpoint sc;
    sc.checkpoint.origin = meta.origin;
    sc.checkpoint.tree_size = static_cast<uint64_t>(st.Int(0));
    sc.checkpoint.time_us = st.Int(1);
    std::string_view root = st.Blob(2), sig = st.Blob(3);
    if (root.size() != 32 || sig.size() != 64) {
      return common::DataLossError("ledger: malformed signed head at size " +
                                   std::to_string(sc.checkpoint.tree_size));
    }
    std::memcpy(sc.checkpoint.root.data(), root.data(), 32);
    std::memcpy(sc.signature.data(), sig.data(), 64);
    sc.key_id = static_cast<uint32_t>(st.Int(4));
    sc.key_name = meta.public_key.name();
    out.push_back(sc);
  }
  return out;
}

common::Status InsertHead(Db& db, const SignedCheckpoint& head, bool kept) {
  ASSIGN_OR_RETURN(Stmt * st, db.Cached(
                                  "INSERT OR REPLACE INTO heads(tree_size, time_us, root, signature,"
                                  " key_id, kept) VALUES(?, ?, ?, ?, ?, ?)"));
  st->Bind(1, static_cast<int64_t>(head.checkpoint.tree_size))
      .Bind(2, head.checkpoint.time_us)
      .Bind(3, std::string_view(reinterpret_cast<const char*>(head.checkpoint.root.data()), 32))
      .Bind(4, std::string_view(reinterpret_cast<const char*>(head.signature.data()), 64))
      .Bind(5, static_cast<int64_t>(head.key_id))
      .Bind(6, kept ? 1 : 0);
  return st->Run();
}

}  // namespace audit::internal
