// Whole-file reads, and replacing a small file so that a crash leaves either the old or the new
// contents, never a mix.
#ifndef COMMON_FILE_H_
#define COMMON_FILE_H_

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/status.h"

namespace common {

// The whole file. NOT_FOUND (naming the file and the system's reason) when it cannot be opened.
StatusOr<std::string> ReadFile(const std::string& path);

// Writes `data` to `path`.tmp with permissions `mode`, flushes it to disk, renames it over `path`
// and flushes the directory. On failure `path` is untouched, the temporary file is removed, and
// the error (UNAVAILABLE) names the file and the system's reason.
Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode = 0600);

}  // namespace common

#endif  // COMMON_FILE_H_
