// Small POSIX file helpers of the audit library.
#ifndef AUDIT_SRC_FILE_UTIL_H_
#define AUDIT_SRC_FILE_UTIL_H_

#include <string>
#include <string_view>

#include "common/status.h"

namespace audit::internal {

common::StatusOr<std::string> ReadFileToString(const std::string& path, size_t max_bytes);
// Writes via a temporary file + fsync + rename + directory fsync.
common::Status WriteFileAtomic(const std::string& path, std::string_view data, int mode = 0644);
// Creates `path` exclusively with `mode` and fsyncs it.
common::Status WriteNewFile(const std::string& path, std::string_view data, int mode);
common::Status MakeDirs(const std::string& path, int mode = 0700);
bool IsDirectory(const std::string& path);
bool FileExists(const std::string& path);
std::string ErrnoText(int err);

}  // namespace audit::internal

#endif  // AUDIT_SRC_FILE_UTIL_H_
