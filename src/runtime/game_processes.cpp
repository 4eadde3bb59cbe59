#include "runtime/game_processes.hpp"

#include "sys/durable_file.hpp"

#include <dirent.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <memory>

namespace lanspread::runtime {
namespace {

// readlink of a /proc link; empty when it cannot be read (another user's, or gone).
std::string read_link(const std::string& path) {
  std::array<char, 4096> buf{};
  const ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
  if (n <= 0 || static_cast<std::size_t>(n) >= buf.size()) return {};
  std::string target(buf.data(), static_cast<std::size_t>(n));
  // An executable deleted while it runs reads as "<path> (deleted)".
  constexpr std::string_view kDeleted = " (deleted)";
  if (target.ends_with(kDeleted)) target.resize(target.size() - kDeleted.size());
  return target;
}

bool is_inside(const std::string& path, const std::string& dir) {
  return !path.empty() && path.starts_with(dir) &&
         (path.size() == dir.size() || path[dir.size()] == '/');
}

}  // namespace

std::optional<GameProcess> find_game_process(const std::filesystem::path& local,
                                             const ProcessScanLimits& limits,
                                             const std::filesystem::path& proc) {
  std::error_code ec;
  // /proc shows resolved paths: compare against the resolved local/. Its game root is
  // resolved instead when local/ is gone, so a game still running from a local/ deleted by
  // hand is found too (/proc then reads "<path> (deleted)").
  auto resolved = std::filesystem::canonical(local, ec);
  if (ec) {
    resolved = std::filesystem::canonical(local.parent_path(), ec) / local.filename();
    if (ec) return std::nullopt;
  }
  const std::string dir = resolved.string();
  if (dir.empty() || dir == "/") return std::nullopt;
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(proc.c_str()), ::closedir);
  if (!d) return std::nullopt;
  const int self = static_cast<int>(::getpid());
  std::size_t seen = 0;
  while (const dirent* e = ::readdir(d.get())) {
    const std::string_view name(e->d_name);
    int pid = 0;
    const auto [end, err] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (err != std::errc() || end != name.data() + name.size() || pid <= 0) continue;
    if (++seen > limits.max_processes) break;
    if (pid == self) continue;
    const std::string base = (proc / std::string(name)).string();
    if (!is_inside(read_link(base + "/exe"), dir) && !is_inside(read_link(base + "/cwd"), dir))
      continue;
    GameProcess found{pid, "?"};
    if (auto comm = sys::read_small_file(base + "/comm", 64)) {
      std::string n = std::move(*comm);
      while (!n.empty() && (n.back() == '\n' || n.back() == '\0')) n.pop_back();
      if (!n.empty()) found.name = std::move(n);
    }
    return found;
  }
  return std::nullopt;
}

std::string describe(const GameProcess& p) {
  return "process " + p.name + " (pid " + std::to_string(p.pid) + ")";
}

}  // namespace lanspread::runtime
