#include "file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace audit::internal {

std::string ErrnoText(int err) { return std::strerror(err); }

common::StatusOr<std::string> ReadFileToString(const std::string& path, size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return common::NotFoundError(path + ": no such file");
    if (err == EACCES) return common::PermissionDeniedError(path + ": " + ErrnoText(err));
    return common::UnavailableError(path + ": " + ErrnoText(err));
  }
  std::string out;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return common::UnavailableError(path + ": read: " + ErrnoText(err));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) {
      ::close(fd);
      return common::InvalidArgumentError(path + ": larger than " + std::to_string(max_bytes) +
                                          " bytes");
    }
  }
  ::close(fd);
  return out;
}

namespace {

common::Status WriteAll(int fd, std::string_view data, const std::string& path) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      if (err == ENOSPC) return common::ResourceExhaustedError(path + ": disk full");
      return common::UnavailableError(path + ": write: " + ErrnoText(err));
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return common::UnavailableError(path + ": fsync: " + ErrnoText(errno));
  return common::OkStatus();
}

void SyncParentDir(const std::string& path) {
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash ? slash : 1);
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

common::Status WriteNewFile(const std::string& path, std::string_view data, int mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    int err = errno;
    if (err == EEXIST) return common::AlreadyExistsError(path + ": already exists");
    return common::UnavailableError(path + ": " + ErrnoText(err));
  }
  ::fchmod(fd, static_cast<mode_t>(mode));
  common::Status st = WriteAll(fd, data, path);
  ::close(fd);
  if (!st.ok()) {
    ::unlink(path.c_str());
    return st;
  }
  SyncParentDir(path);
  return common::OkStatus();
}

common::Status WriteFileAtomic(const std::string& path, std::string_view data, int mode) {
  std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  RETURN_IF_ERROR(WriteNewFile(tmp, data, mode));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return common::UnavailableError(path + ": rename: " + ErrnoText(err));
  }
  SyncParentDir(path);
  return common::OkStatus();
}

common::Status MakeDirs(const std::string& path, int mode) {
  if (path.empty()) return common::OkStatus();
  std::string cur;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    cur = path.substr(0, pos);
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), static_cast<mode_t>(mode)) != 0 && errno != EEXIST) {
      return common::UnavailableError(cur + ": mkdir: " + ErrnoText(errno));
    }
  }
  return common::OkStatus();
}

bool IsDirectory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool FileExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace audit::internal
