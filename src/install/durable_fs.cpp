#include "install/durable_fs.hpp"

#include "proto/layout.hpp"
#include "sys/durable_file.hpp"
#include "sys/open_beneath.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

namespace lanspread::install {
namespace {

boost::system::error_code fail_errno(int err, std::string_view what, const fs::path& p,
                                     std::string& detail) {
  detail = std::string(what) + " '" + p.string() + "': " + std::strerror(err);
  return error_from_errno(err);
}

boost::system::error_code fail(const sys::Error& e, std::string& detail) {
  detail = e.message();
  return error_from_errno(e.code);
}

}  // namespace

NodeKind node_kind(const fs::path& p) noexcept {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) return NodeKind::absent;
  if (S_ISDIR(st.st_mode)) return NodeKind::directory;
  if (S_ISREG(st.st_mode)) return NodeKind::regular;
  if (S_ISLNK(st.st_mode)) return NodeKind::symlink;
  return NodeKind::other;
}

result<void> fsync_dir(const fs::path& dir, std::string& detail) {
  if (auto r = sys::fsync_dir(dir); !r) return fail(r.error(), detail);
  return {};
}

result<void> write_file_atomic(const fs::path& dir, std::string_view name, std::string_view data,
                               std::string& detail) {
  if (auto r = sys::write_file_atomic(dir, name, data); !r) return fail(r.error(), detail);
  return {};
}

result<void> rename_durable(const fs::path& from, const fs::path& to, std::string& detail) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return fail_errno(errno, "cannot rename '" + from.string() + "' to", to, detail);
  }
  if (auto r = fsync_dir(to.parent_path(), detail); !r) return r;
  if (from.parent_path() != to.parent_path()) return fsync_dir(from.parent_path(), detail);
  return {};
}

result<void> remove_file_durable(const fs::path& p, std::string& detail) {
  if (::unlink(p.c_str()) != 0) {
    if (errno == ENOENT) return {};
    return fail_errno(errno, "cannot delete", p, detail);
  }
  return fsync_dir(p.parent_path(), detail);
}

result<void> remove_tree(const fs::path& p, std::string& detail) {
  std::error_code ec;
  if (has_owned_marker(p)) {
    // The marker goes last, so a crash in the middle leaves a directory still provably ours.
    const auto marker = p / std::string(proto::layout::kOwnedMarker);
    for (fs::directory_iterator it(p, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path() != marker) fs::remove_all(it->path(), ec);
      if (ec) break;
    }
    if (ec) return fail_errno(ec.value(), "cannot delete", p, detail);
  }
  fs::remove_all(p, ec);  // does not follow symlinks: a link is removed, not its target
  if (ec) return fail_errno(ec.value(), "cannot delete", p, detail);
  return fsync_dir(p.parent_path(), detail);
}

result<void> remove_contents_stoppable(
    const fs::path& dir, const std::stop_token& stop,
    const std::function<void(std::uint64_t done, std::uint64_t total)>& removed,
    std::string& detail) {
  if (node_kind(dir) != NodeKind::directory) return {};
  const auto marker = dir / std::string(proto::layout::kOwnedMarker);
  constexpr auto opts = fs::directory_options::none;  // symlinks are entries, never followed
  std::error_code ec;
  std::uint64_t total = 0;
  for (fs::recursive_directory_iterator it(dir, opts, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->path() != marker) ++total;
  }
  if (ec) return fail_errno(ec.value(), "cannot list", dir, detail);
  // Files go while the walk passes them; directories (pre-order) go last, deepest first.
  std::vector<fs::path> dirs;
  std::uint64_t done = 0;
  for (fs::recursive_directory_iterator it(dir, opts, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (stop.stop_requested()) return make_error_code(errc::cancelled);
    const fs::path& p = it->path();
    if (p == marker) continue;
    if (node_kind(p) == NodeKind::directory) {
      dirs.push_back(p);
      continue;
    }
    if (::unlink(p.c_str()) != 0 && errno != ENOENT) {
      return fail_errno(errno, "cannot delete", p, detail);
    }
    if (removed) removed(++done, total);
  }
  if (ec) return fail_errno(ec.value(), "cannot list", dir, detail);
  for (auto d = dirs.rbegin(); d != dirs.rend(); ++d) {
    if (stop.stop_requested()) return make_error_code(errc::cancelled);
    if (::rmdir(d->c_str()) != 0 && errno != ENOENT) {
      return fail_errno(errno, "cannot delete", *d, detail);
    }
    if (removed) removed(++done, total);
  }
  return fsync_dir(dir, detail);
}

result<void> remove_contents_reporting(const fs::path& dir, const OperationContext& ctx,
                                       std::uint64_t& removed, std::string& detail) {
  removed = 0;
  return remove_contents_stoppable(
      dir, ctx.stop,
      [&](std::uint64_t done, std::uint64_t total) {
        removed = done;
        ctx.report("removing", done, total);
      },
      detail);
}

result<void> write_owned_marker(const fs::path& dir, std::string& detail) {
  return write_file_atomic(dir, proto::layout::kOwnedMarker,
                           "{\"owner\":\"lanspread\",\"purpose\":\"reserved directory\"}\n",
                           detail);
}

result<void> create_owned_dir(const fs::path& dir, std::string& detail) {
  if (::mkdir(dir.c_str(), 0755) != 0) {
    return fail_errno(errno, "cannot create directory", dir, detail);
  }
  if (auto r = fsync_dir(dir.parent_path(), detail); !r) return r;
  return write_owned_marker(dir, detail);
}

bool has_owned_marker(const fs::path& dir) noexcept {
  return node_kind(dir) == NodeKind::directory &&
         node_kind(dir / std::string(proto::layout::kOwnedMarker)) == NodeKind::regular;
}

result<void> sync_filesystem(const fs::path& p, std::string& detail) {
  auto fd = sys::open_dir(p, true);
  if (!fd) return fail(fd.error(), detail);
  if (::syncfs(fd->get()) != 0) return fail_errno(errno, "cannot sync filesystem of", p, detail);
  return {};
}

result<std::string> read_small_file(const fs::path& p, std::size_t max_bytes, std::string& detail) {
  auto text = sys::read_small_file(p, max_bytes);
  if (!text) return fail(text.error(), detail);
  return std::move(*text);
}

}  // namespace lanspread::install
