#include "db.h"

#include <sqlcipher/sqlite3.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <cstdio>
#include <cstring>

#include "crypto.h"
#include "file_util.h"

namespace audit::internal {

common::Status Db::Error(sqlite3* db, int rc, std::string_view what) {
  std::string msg = std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
      return common::Status(common::StatusCode::kPermissionDenied,
                            msg + " (wrong key, or not an audit database)", "WRONG_KEY");
    case SQLITE_CORRUPT:
      return common::Status(common::StatusCode::kDataLoss,
                            msg + " (a page failed its integrity check)", "CORRUPTED_PAGE");
    case SQLITE_FULL:
      return common::Status(common::StatusCode::kResourceExhausted, msg, "DISK_FULL");
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
      return common::Status(common::StatusCode::kUnavailable, msg, "IO_ERROR");
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return common::Status(common::StatusCode::kUnavailable, msg, "BUSY");
    case SQLITE_CONSTRAINT:
      return common::Status(common::StatusCode::kAlreadyExists, msg, "CONSTRAINT");
    default:
      return common::InternalError(msg);
  }
}

Stmt::~Stmt() {
  if (stmt_) sqlite3_finalize(stmt_);
}

Stmt& Stmt::Bind(int i, int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
  return *this;
}

Stmt& Stmt::Bind(int i, std::string_view blob) {
  sqlite3_bind_blob64(stmt_, i, blob.data(), blob.size(), SQLITE_TRANSIENT);
  return *this;
}

Stmt& Stmt::BindText(int i, std::string_view text) {
  sqlite3_bind_text64(stmt_, i, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}

common::StatusOr<bool> Stmt::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  common::Status st = Db::Error(db_, rc, "sqlite step");
  sqlite3_reset(stmt_);
  return st;
}

common::Status Stmt::Run() {
  while (true) {
    auto row = Step();
    if (!row.ok() || !*row) {
      Reset();  // also after a failure: a kept statement must not hold the transaction open
      return row.status();
    }
  }
}

void Stmt::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t Stmt::Int(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string_view Stmt::Blob(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string_view(static_cast<const char*>(p), static_cast<size_t>(n))
           : std::string_view();
}

bool Stmt::IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

common::StatusOr<std::unique_ptr<Db>> Db::Open(const std::string& path,
                                               const common::SecretBytes& key, Mode mode,
                                               const std::string& vfs) {
  if (key.size() != 32) return common::InternalError("database key must be 32 bytes");
  struct stat st {};
  bool exists = ::stat(path.c_str(), &st) == 0;
  if (!exists && mode != Mode::kCreate) {
    return common::NotFoundError(path + ": no such database");
  }
  if (exists) {
    if (!S_ISREG(st.st_mode)) return common::InvalidArgumentError(path + ": not a regular file");
    // Every SQLCipher 4 file is a whole number of 4096-byte pages and starts
    // with a random salt, never with the plain SQLite header.
    if (st.st_size > 0) {
      char head[16] = {};
      if (FILE* f = std::fopen(path.c_str(), "rb")) {
        size_t got = std::fread(head, 1, sizeof(head), f);
        (void)got;
        std::fclose(f);
      }
      bool plain = std::memcmp(head, "SQLite format 3\0", 16) == 0;
      if (plain || st.st_size % 4096 != 0) {
        return common::Status(common::StatusCode::kInvalidArgument,
                              path + ": not an encrypted audit database" +
                                  (plain ? " (it is an unencrypted SQLite file)" : ""),
                              "NOT_A_DATABASE");
      }
    }
  }
  int flags = SQLITE_OPEN_NOMUTEX;
  flags |= mode == Mode::kReadOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  if (mode == Mode::kCreate) flags |= SQLITE_OPEN_CREATE;
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, vfs.empty() ? nullptr : vfs.c_str());
  std::unique_ptr<Db> db(new Db(raw, path));
  if (rc != SQLITE_OK) return Error(raw, rc, "open " + path);
  sqlite3_extended_result_codes(raw, 0);
  // Errors come back as Status; SQLCipher's own log would only repeat them on stderr.
  sqlite3_exec(raw, "PRAGMA cipher_log_level = NONE;", nullptr, nullptr, nullptr);
  sqlite3_busy_timeout(raw, 10000);
  {
    common::SecretBytes lit = SqlcipherKeyLiteral(key);
    std::string sql = "PRAGMA key = \"";
    sql.append(reinterpret_cast<const char*>(lit.InsecureData()), lit.size());
    sql += "\";";
    rc = sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr);
    common::SecureZero(sql.data(), sql.size());
    if (rc != SQLITE_OK) return Error(raw, rc, "set key on " + path);
  }
  // Proves the key: the first read decrypts page 1.
  rc = sqlite3_exec(raw, "SELECT count(*) FROM sqlite_master;", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Error(raw, rc, path);
  if (mode != Mode::kReadOnly) {
    RETURN_IF_ERROR(db->Exec("PRAGMA journal_mode = WAL;"));
    RETURN_IF_ERROR(db->Exec("PRAGMA synchronous = FULL;"));
    RETURN_IF_ERROR(db->Exec("PRAGMA secure_delete = ON;"));
  }
  return db;
}

Db::~Db() {
  cache_.clear();  // finalized before the connection closes
  if (db_) sqlite3_close_v2(db_);
}

common::Status Db::Exec(std::string_view sql) {
  std::string s(sql);
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Error(db_, rc, path_);
  return common::OkStatus();
}

common::StatusOr<Stmt> Db::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return Error(db_, rc, path_);
  return Stmt(db_, stmt);
}

common::StatusOr<Stmt*> Db::Cached(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    ASSIGN_OR_RETURN(Stmt st, Prepare(sql));
    it = cache_.emplace(std::string(sql), std::move(st)).first;
  } else {
    it->second.Reset();  // a step that failed part way left it mid-statement
  }
  return &it->second;
}

common::Status Db::ExecCached(std::string_view sql) {
  ASSIGN_OR_RETURN(Stmt * st, Cached(sql));
  return st->Run();
}

common::Status Db::Rekey(const common::SecretBytes& key) {
  common::SecretBytes lit = SqlcipherKeyLiteral(key);
  std::string sql = "PRAGMA rekey = \"";
  sql.append(reinterpret_cast<const char*>(lit.InsecureData()), lit.size());
  sql += "\";";
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  common::SecureZero(sql.data(), sql.size());
  if (rc != SQLITE_OK) return Error(db_, rc, "rekey " + path_);
  return common::OkStatus();
}

common::Status Db::TuneForAppends(uint64_t wal_bytes) {
  const std::string wal = path_ + "-wal";
  int fd = ::open(wal.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return common::OkStatus();  // no WAL yet: nothing to extend
  struct stat st {};
  if (::fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_size) < wal_bytes) {
    std::string zeros(1 << 20, '\0');
    uint64_t off = static_cast<uint64_t>(st.st_size);
    while (off < wal_bytes) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(zeros.size(), wal_bytes - off));
      ssize_t w = ::pwrite(fd, zeros.data(), n, static_cast<off_t>(off));
      if (w <= 0) break;  // best effort: a full disk shows up on the next commit
      off += static_cast<uint64_t>(w);
    }
    ::fdatasync(fd);
  }
  ::close(fd);
  return common::OkStatus();
}

int64_t Db::LastChanges() const { return sqlite3_changes64(db_); }

}  // namespace audit::internal
