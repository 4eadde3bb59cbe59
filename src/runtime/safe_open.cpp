#include "runtime/safe_open.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace lanspread::runtime {

int open_beneath(const std::filesystem::path& root, std::string_view relative) {
  int dir = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir < 0) return -1;
  std::size_t start = 0;
  for (;;) {
    const std::size_t slash = relative.find('/', start);
    const std::string name(relative.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (name.empty() || name == "." || name == "..") {
      ::close(dir);
      return -1;
    }
    if (slash == std::string_view::npos) {
      const int fd = ::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
      ::close(dir);
      if (fd < 0) return -1;
      struct stat st {};
      if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return -1;
      }
      return fd;
    }
    const int next = ::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    ::close(dir);
    if (next < 0) return -1;
    dir = next;
    start = slash + 1;
  }
}

}  // namespace lanspread::runtime
