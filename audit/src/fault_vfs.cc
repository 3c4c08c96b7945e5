#include "fault_vfs.h"

#include <sqlcipher/sqlite3.h>

#include <cstring>
#include <memory>
#include <mutex>

namespace audit::internal {
namespace {

struct ShimFile {
  sqlite3_file base;       // our methods
  FaultInjector* injector;
  bool faultable;          // main database or WAL
  sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};

struct ShimVfs {
  sqlite3_vfs vfs;
  sqlite3_vfs* real;
  FaultInjector* injector;
  std::string name;
};

ShimFile* F(sqlite3_file* f) { return reinterpret_cast<ShimFile*>(f); }
sqlite3_vfs* Real(sqlite3_vfs* v) { return reinterpret_cast<ShimVfs*>(v)->real; }

int Close(sqlite3_file* f) { return F(f)->real()->pMethods->xClose(F(f)->real()); }
int Read(sqlite3_file* f, void* b, int n, sqlite3_int64 o) {
  return F(f)->real()->pMethods->xRead(F(f)->real(), b, n, o);
}
int Write(sqlite3_file* f, const void* b, int n, sqlite3_int64 o) {
  if (F(f)->faultable) {
    switch (F(f)->injector->Get()) {
      case FaultInjector::Fault::kDiskFull: return SQLITE_FULL;
      case FaultInjector::Fault::kWriteError: return SQLITE_IOERR_WRITE;
      default: break;
    }
  }
  return F(f)->real()->pMethods->xWrite(F(f)->real(), b, n, o);
}
int Truncate(sqlite3_file* f, sqlite3_int64 s) {
  return F(f)->real()->pMethods->xTruncate(F(f)->real(), s);
}
int Sync(sqlite3_file* f, int flags) {
  if (F(f)->faultable && F(f)->injector->Get() == FaultInjector::Fault::kSyncError) {
    return SQLITE_IOERR_FSYNC;
  }
  return F(f)->real()->pMethods->xSync(F(f)->real(), flags);
}
int FileSize(sqlite3_file* f, sqlite3_int64* s) {
  return F(f)->real()->pMethods->xFileSize(F(f)->real(), s);
}
int Lock(sqlite3_file* f, int l) { return F(f)->real()->pMethods->xLock(F(f)->real(), l); }
int Unlock(sqlite3_file* f, int l) { return F(f)->real()->pMethods->xUnlock(F(f)->real(), l); }
int CheckReserved(sqlite3_file* f, int* r) {
  return F(f)->real()->pMethods->xCheckReservedLock(F(f)->real(), r);
}
int FileControl(sqlite3_file* f, int op, void* a) {
  return F(f)->real()->pMethods->xFileControl(F(f)->real(), op, a);
}
int SectorSize(sqlite3_file* f) { return F(f)->real()->pMethods->xSectorSize(F(f)->real()); }
int DeviceChar(sqlite3_file* f) {
  return F(f)->real()->pMethods->xDeviceCharacteristics(F(f)->real());
}
int ShmMap(sqlite3_file* f, int i, int sz, int ext, void volatile** p) {
  return F(f)->real()->pMethods->xShmMap(F(f)->real(), i, sz, ext, p);
}
int ShmLock(sqlite3_file* f, int o, int n, int fl) {
  return F(f)->real()->pMethods->xShmLock(F(f)->real(), o, n, fl);
}
void ShmBarrier(sqlite3_file* f) { F(f)->real()->pMethods->xShmBarrier(F(f)->real()); }
int ShmUnmap(sqlite3_file* f, int d) { return F(f)->real()->pMethods->xShmUnmap(F(f)->real(), d); }
int Fetch(sqlite3_file* f, sqlite3_int64 o, int n, void** p) {
  return F(f)->real()->pMethods->xFetch(F(f)->real(), o, n, p);
}
int Unfetch(sqlite3_file* f, sqlite3_int64 o, void* p) {
  return F(f)->real()->pMethods->xUnfetch(F(f)->real(), o, p);
}

const sqlite3_io_methods kMethods = {
    3,        Close,    Read,       Write,       Truncate,   Sync,      FileSize,
    Lock,     Unlock,   CheckReserved, FileControl, SectorSize, DeviceChar, ShmMap,
    ShmLock,  ShmBarrier, ShmUnmap, Fetch,       Unfetch};

int Open(sqlite3_vfs* v, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  auto* shim = reinterpret_cast<ShimVfs*>(v);
  ShimFile* sf = F(f);
  std::memset(sf, 0, sizeof(ShimFile));
  sf->injector = shim->injector;
  sf->faultable = (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL)) != 0;
  int rc = shim->real->xOpen(shim->real, name, sf->real(), flags, out_flags);
  sf->base.pMethods = sf->real()->pMethods ? &kMethods : nullptr;
  return rc;
}
int Delete(sqlite3_vfs* v, const char* n, int d) { return Real(v)->xDelete(Real(v), n, d); }
int Access(sqlite3_vfs* v, const char* n, int fl, int* r) {
  return Real(v)->xAccess(Real(v), n, fl, r);
}
int FullPath(sqlite3_vfs* v, const char* n, int sz, char* out) {
  return Real(v)->xFullPathname(Real(v), n, sz, out);
}
void* DlOpen(sqlite3_vfs* v, const char* n) { return Real(v)->xDlOpen(Real(v), n); }
void DlError(sqlite3_vfs* v, int n, char* m) { Real(v)->xDlError(Real(v), n, m); }
void (*DlSym(sqlite3_vfs* v, void* h, const char* s))(void) { return Real(v)->xDlSym(Real(v), h, s); }
void DlClose(sqlite3_vfs* v, void* h) { Real(v)->xDlClose(Real(v), h); }
int Randomness(sqlite3_vfs* v, int n, char* out) { return Real(v)->xRandomness(Real(v), n, out); }
int SleepUs(sqlite3_vfs* v, int us) { return Real(v)->xSleep(Real(v), us); }
int CurrentTime(sqlite3_vfs* v, double* t) { return Real(v)->xCurrentTime(Real(v), t); }
int LastError(sqlite3_vfs* v, int n, char* m) { return Real(v)->xGetLastError(Real(v), n, m); }
int CurrentTime64(sqlite3_vfs* v, sqlite3_int64* t) {
  return Real(v)->xCurrentTimeInt64(Real(v), t);
}

}  // namespace

common::Status RegisterFaultVfs(const std::string& name, FaultInjector* injector) {
  static std::mutex mu;
  std::lock_guard<std::mutex> lk(mu);
  if (sqlite3_vfs_find(name.c_str()) != nullptr) {
    return common::AlreadyExistsError("VFS " + name + " is already registered");
  }
  sqlite3_vfs* real = sqlite3_vfs_find(nullptr);
  if (real == nullptr) return common::InternalError("no default SQLite VFS");
  // Registered VFSes live as long as the process.
  auto* shim = new ShimVfs{};
  shim->real = real;
  shim->injector = injector;
  shim->name = name;
  sqlite3_vfs& v = shim->vfs;
  v.iVersion = 2;
  v.szOsFile = static_cast<int>(sizeof(ShimFile)) + real->szOsFile;
  v.mxPathname = real->mxPathname;
  v.zName = shim->name.c_str();
  v.xOpen = Open;
  v.xDelete = Delete;
  v.xAccess = Access;
  v.xFullPathname = FullPath;
  v.xDlOpen = DlOpen;
  v.xDlError = DlError;
  v.xDlSym = DlSym;
  v.xDlClose = DlClose;
  v.xRandomness = Randomness;
  v.xSleep = SleepUs;
  v.xCurrentTime = CurrentTime;
  v.xGetLastError = LastError;
  v.xCurrentTimeInt64 = CurrentTime64;
  if (sqlite3_vfs_register(&v, 0) != SQLITE_OK) {
    return common::InternalError("cannot register VFS " + name);
  }
  return common::OkStatus();
}

}  // namespace audit::internal
