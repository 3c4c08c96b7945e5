// A SQLite VFS that forwards to the default one and fails writes or syncs of
// the main database and its WAL on demand: disk-full and I/O-error tests of
// the fail-closed path (leveldb's fault_injection_test in spirit).
#ifndef AUDIT_SRC_FAULT_VFS_H_
#define AUDIT_SRC_FAULT_VFS_H_

#include <atomic>
#include <string>

#include "common/status.h"

namespace audit::internal {

class FaultInjector {
 public:
  enum class Fault { kNone, kDiskFull, kWriteError, kSyncError };
  void Set(Fault f) { fault_.store(f); }
  Fault Get() const { return fault_.load(); }

 private:
  std::atomic<Fault> fault_{Fault::kNone};
};

// Registers (once per name) a VFS called `name` consulting `injector`, which
// must outlive every connection that uses the VFS.
common::Status RegisterFaultVfs(const std::string& name, FaultInjector* injector);

}  // namespace audit::internal

#endif  // AUDIT_SRC_FAULT_VFS_H_
