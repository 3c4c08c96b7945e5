// A SQLCipher 4 connection and prepared statements, wrapped once. Errors are
// turned into Status with codes a caller can act on:
//   wrong key / not a SQLCipher database -> PERMISSION_DENIED / INVALID_ARGUMENT
//   HMAC failure on a page (corruption)  -> DATA_LOSS (reason CORRUPTED_PAGE)
//   disk full                            -> RESOURCE_EXHAUSTED (reason DISK_FULL)
//   other I/O errors                     -> UNAVAILABLE (reason IO_ERROR)
#ifndef AUDIT_SRC_DB_H_
#define AUDIT_SRC_DB_H_

#include <cstdint>
#include <memory>
#include <map>
#include <string>
#include <string_view>

#include "common/secret.h"
#include "common/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace audit::internal {

class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Stmt();
  Stmt(Stmt&& o) noexcept : db_(o.db_), stmt_(o.stmt_) { o.stmt_ = nullptr; }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& Bind(int i, int64_t v);
  Stmt& Bind(int i, std::string_view blob);  // as BLOB
  Stmt& BindText(int i, std::string_view text);
  // true: a row is ready; false: done.
  common::StatusOr<bool> Step();
  common::Status Run();  // Step until done
  void Reset();

  int64_t Int(int col) const;
  std::string_view Blob(int col) const;
  bool IsNull(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

class Db {
 public:
  enum class Mode { kReadOnly, kReadWrite, kCreate };
  // Opens `path` with a raw 32-byte key, sets WAL + synchronous=FULL for
  // writers, and reads the schema to prove the key.
  // `vfs`: a registered SQLite VFS name (fault injection in tests); empty
  // for the default.
  static common::StatusOr<std::unique_ptr<Db>> Open(const std::string& path,
                                                    const common::SecretBytes& key, Mode mode,
                                                    const std::string& vfs = "");
  ~Db();

  common::Status Exec(std::string_view sql);
  common::StatusOr<Stmt> Prepare(std::string_view sql);
  // A statement prepared once per connection and kept (the statements of every commit): reset
  // and unbound, ready to bind. Valid until the Db closes.
  common::StatusOr<Stmt*> Cached(std::string_view sql);
  // Runs a cached statement without parameters (BEGIN IMMEDIATE, COMMIT).
  common::Status ExecCached(std::string_view sql);
  // Re-encrypts the database under a new raw key (PRAGMA rekey).
  common::Status Rekey(const common::SecretBytes& key);
  int64_t LastChanges() const;
  // Tunes a write-heavy WAL database for low fsync latency: the WAL file is
  // extended with zeros to `wal_bytes` now, so commits
  // overwrite blocks in place instead of growing the file (growing means a
  // file-system journal commit on every fsync). Zeros past the valid frames
  // are ignored by WAL recovery. (SQLITE_FCNTL_CHUNK_SIZE is not used: it
  // breaks SQLCipher's rekey.)
  common::Status TuneForAppends(uint64_t wal_bytes);
  const std::string& path() const { return path_; }
  sqlite3* raw() { return db_; }

  // Maps the last error of `db` (after result code `rc`) to a Status.
  static common::Status Error(sqlite3* db, int rc, std::string_view what);

 private:
  Db(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
  std::map<std::string, Stmt, std::less<>> cache_;
};

}  // namespace audit::internal

#endif  // AUDIT_SRC_DB_H_
