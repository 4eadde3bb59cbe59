#include "library/scan.hpp"

#include "library/error.hpp"
#include "library/hasher.hpp"
#include "library/index.hpp"
#include "library/version.hpp"
#include "proto/layout.hpp"
#include "proto/validate.hpp"
#include "sys/open_beneath.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <thread>

namespace lanspread::library {
namespace fs = std::filesystem;
namespace {

struct Entry {
  std::string rel;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  bool is_dir = false;
};

std::int64_t mtime_ns(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

// Collects payload entries below the directory `dfd` without following symlinks; `local/` at
// the top and Lanspread's own files anywhere are left out. Other spellings of reserved names
// (".LANSPREAD.json", "LOCAL/") are foreign files: validation refuses them and they are
// reported as not shared. Works on directory file descriptors
// (openat/fstatat), so no path is walked twice and no symlink can be swapped in on the way.
void walk_fd(int dfd, const std::string& prefix, std::size_t depth, std::vector<Entry>& out,
             std::vector<std::string>& problems) {
  DIR* dir = ::fdopendir(dfd);
  if (dir == nullptr) {
    ::close(dfd);
    problems.push_back("cannot list " + (prefix.empty() ? std::string(".") : prefix) + ": " +
                       std::strerror(errno));
    return;
  }
  errno = 0;
  while (const dirent* d = ::readdir(dir)) {
    const std::string name = d->d_name;
    if (name == "." || name == "..") continue;
    if (proto::is_own_name(name)) continue;
    if (depth == 0 && name == proto::layout::kLocal) continue;
    const std::string rel = prefix.empty() ? name : prefix + "/" + name;
    struct stat st {};
    if (::fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      problems.push_back("cannot inspect " + rel + ": " + std::strerror(errno));
      continue;
    }
    if (S_ISLNK(st.st_mode)) {
      problems.push_back("symlink " + rel + " is not shared (links are never followed)");
      continue;
    }
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) continue;  // fifos, sockets, devices
    if (!proto::validate_relative_path(rel)) {
      problems.push_back("name " + rel + " cannot be shared (not portable); rename it");
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      out.push_back({rel, 0, 0, true});
      if (depth + 1 >= proto::kMaxPathDepth) continue;
      auto sub = sys::open_dir_beneath(dfd, name, false);
      if (!sub) {
        problems.push_back("cannot list " + rel + ": " + std::strerror(sub.error().code));
        continue;
      }
      walk_fd(sub->release(), rel, depth + 1, out, problems);
    } else {
      out.push_back({rel, static_cast<std::uint64_t>(st.st_size), mtime_ns(st), false});
    }
  }
  ::closedir(dir);  // also closes dfd
}

void walk(const fs::path& root, std::vector<Entry>& out, std::vector<std::string>& problems) {
  auto dir = sys::open_dir(root);
  if (!dir) {
    problems.push_back(std::string("cannot list .: ") + std::strerror(dir.error().code));
    return;
  }
  walk_fd(dir->release(), "", 0, out, problems);
}

// One root while it is being scanned.
struct Pending {
  LocalGame game;
  std::vector<Entry> entries;
  std::optional<RootIndex> index;                  // what was on disk
  std::uint64_t chunk_size = 0;                    // the manifest's: see plan()
  std::vector<std::vector<proto::Sha256>> hashes;  // per entry
  std::mutex mutex;                                // guards `failures`
  std::vector<std::string> failures;
};

struct Job {
  Pending* root;
  std::size_t entry;
  std::uint64_t chunk;
};

// Fills the state of one root from what is on disk; no hashing.
std::optional<LocalGame> inspect(const fs::path& game_dir, std::string_view id,
                                 std::vector<Entry>& entries) {
  LocalGame g;
  g.id = std::string(id);
  g.root = game_dir / g.id;
  struct stat st {};
  if (::lstat(g.root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return std::nullopt;

  struct stat vst {};
  const fs::path version_path = g.root / proto::layout::kVersionIni;
  if (::lstat(version_path.c_str(), &vst) == 0) {
    if (S_ISREG(vst.st_mode)) {
      g.downloaded = true;
      auto v = read_version_file(version_path);
      if (v) {
        g.version = *v;
      } else {
        g.problems.push_back("version.ini " + v.error().message() +
                             "; the game is not offered to peers until it names a version");
      }
    } else if (S_ISLNK(vst.st_mode)) {
      g.problems.push_back(
          "version.ini is a symlink; it is ignored (the game counts as not "
          "downloaded)");
    } else {
      g.problems.push_back("version.ini is not a regular file; the game counts as not downloaded");
    }
  }
  struct stat lst {};
  const fs::path local_path = g.root / proto::layout::kLocal;
  g.installed = ::lstat(local_path.c_str(), &lst) == 0 && S_ISDIR(lst.st_mode);

  walk(g.root, entries, g.problems);
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.rel < b.rel; });
  for (const auto& e : entries) {
    if (e.is_dir) continue;
    g.size += e.size;
    ++g.file_count;
  }
  return g;
}

unsigned thread_count(const ScanOptions& options, std::size_t work) {
  unsigned n = options.threads != 0 ? options.threads : std::thread::hardware_concurrency();
  return std::max(1u, std::min<unsigned>(n, static_cast<unsigned>(std::max<std::size_t>(work, 1))));
}

// Runs fn(i) for i in [0, n) on up to `threads` threads (the caller's among them).
template <class F>
void parallel_for(std::size_t n, unsigned threads, F&& fn) {
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < n; i = next++) fn(i);
  };
  std::vector<std::jthread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
}

void hash_one(const Job& job, std::uint64_t chunk_size) {
  Pending& p = *job.root;
  const Entry& e = p.entries[job.entry];
  auto fail = [&](const std::string& why) {
    std::lock_guard lock(p.mutex);
    p.failures.push_back(e.rel + ": " + why);
  };
  // Beneath the root, no link on the way: a directory swapped for a symlink since the walk
  // must not make us hash (and then serve) a file from elsewhere.
  auto opened = sys::open_beneath(p.game.root, e.rel, O_RDONLY | O_NONBLOCK);
  if (!opened) return fail(std::strerror(opened.error().code));
  const int fd = opened->get();
  struct stat before {};
  if (::fstat(fd, &before) != 0 || !S_ISREG(before.st_mode) ||
      static_cast<std::uint64_t>(before.st_size) != e.size || mtime_ns(before) != e.mtime_ns) {
    return fail("changed while the library was scanned");
  }
  const std::uint64_t offset = job.chunk * chunk_size;
  const std::uint64_t length = std::min(chunk_size, e.size - offset);
  auto digest = hash_range(fd, offset, length);
  struct stat after {};
  const bool same = ::fstat(fd, &after) == 0 && after.st_size == before.st_size &&
                    mtime_ns(after) == mtime_ns(before);
  opened->reset();
  if (!digest) return fail(digest.error().message());
  if (!same) return fail("changed while the library was scanned");
  p.hashes[job.entry][job.chunk] = *digest;  // distinct slot per job: no lock needed
}

void run_jobs(const std::vector<Job>& jobs, const ScanOptions& options, std::uint64_t total) {
  if (jobs.empty()) return;
  std::atomic<std::size_t> next{0};
  std::atomic<std::uint64_t> done{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < jobs.size(); i = next++) {
      if (options.cancel && options.cancel->load()) return;
      const Job& job = jobs[i];
      hash_one(job, job.root->chunk_size);
      const auto& e = job.root->entries[job.entry];
      const std::uint64_t len =
          std::min(job.root->chunk_size, e.size - job.chunk * job.root->chunk_size);
      const std::uint64_t now = done += len;
      if (options.progress) options.progress(now, total);
    }
  };
  unsigned n = options.threads != 0 ? options.threads : std::thread::hardware_concurrency();
  n = std::max(1u, std::min<unsigned>(n, static_cast<unsigned>(jobs.size())));
  std::vector<std::jthread> pool;
  for (unsigned t = 1; t < n; ++t) pool.emplace_back(worker);
  worker();
}

// Plans hashing for a downloaded root: cached hashes are reused, the rest become jobs.
void plan(Pending& p, const ScanOptions& options, std::vector<Job>& jobs, std::uint64_t& total) {
  p.chunk_size = options.chunk_size;
  if (options.use_index) {
    // A game keeps the chunk size of its index (any the protocol allows): a library indexed
    // with another size is not hashed again, and its manifests stay the ones its peers hold.
    auto loaded = RootIndex::load(p.game.root, std::nullopt);
    if (loaded) {
      p.chunk_size = loaded->chunk_size();
      p.index = std::move(*loaded);
    }
  }
  p.hashes.resize(p.entries.size());
  for (std::size_t i = 0; i < p.entries.size(); ++i) {
    const Entry& e = p.entries[i];
    if (e.is_dir) continue;
    if (p.index) {
      if (const auto* cached = p.index->lookup(e.rel, e.size, e.mtime_ns)) {
        p.hashes[i] = *cached;
        continue;
      }
    }
    const std::uint64_t n = proto::chunk_count(e.size, p.chunk_size);
    p.hashes[i].resize(n);
    for (std::uint64_t c = 0; c < n; ++c) jobs.push_back({&p, i, c});
    total += e.size;
  }
}

// Builds the manifest and refreshes the index once every job of the root has run.
void finish(Pending& p, const ScanOptions& options) {
  if (!p.failures.empty()) {
    std::sort(p.failures.begin(), p.failures.end());
    for (const auto& f : p.failures) p.game.problems.push_back("cannot hash " + f);
    p.game.problems.push_back("the game is not offered to peers until every file can be read");
    return;
  }
  proto::Game manifest{p.game.id, p.game.version, p.chunk_size, {}};
  manifest.files.reserve(p.entries.size());
  RootIndex fresh(p.chunk_size);
  for (std::size_t i = 0; i < p.entries.size(); ++i) {
    const Entry& e = p.entries[i];
    manifest.files.push_back({e.rel, e.size, e.is_dir, p.hashes[i]});
    if (!e.is_dir) fresh.put(e.rel, {e.size, e.mtime_ns, p.hashes[i]});
  }
  if (!proto::validate_game(manifest)) {
    p.game.problems.push_back("manifest exceeds protocol limits; the game is not offered");
    return;
  }
  p.game.manifest = std::move(manifest);
  if (options.use_index && !(p.index && *p.index == fresh)) {
    // A read-only games dir still scans; it only re-hashes next time.
    if (!fresh.save(p.game.root)) {
      p.game.problems.push_back("cannot write .lanspread.index (hashes will be recomputed)");
    }
  }
}

boost::system::result<void> check_games_dir(const fs::path& game_dir) {
  struct stat st {};
  if (::stat(game_dir.c_str(), &st) != 0) {
    return errno == ENOENT ? errc::games_dir_missing : errc::games_dir_unreadable;
  }
  if (!S_ISDIR(st.st_mode)) return errc::games_dir_not_directory;
  if (::access(game_dir.c_str(), R_OK | X_OK) != 0) return errc::games_dir_unreadable;
  return {};
}

boost::system::result<void> hash_roots(std::vector<std::unique_ptr<Pending>>& roots,
                                       const ScanOptions& options) {
  // Planning reads each root's index: spread over the threads too, it is most of a warm scan.
  std::vector<std::vector<Job>> planned(roots.size());
  std::vector<std::uint64_t> bytes(roots.size(), 0);
  auto hashed = [&](const Pending& p) {
    return options.hash && p.game.downloaded && !p.game.version.empty();
  };
  parallel_for(roots.size(), thread_count(options, roots.size()), [&](std::size_t i) {
    if (hashed(*roots[i])) plan(*roots[i], options, planned[i], bytes[i]);
  });
  std::vector<Job> jobs;
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < roots.size(); ++i) {
    jobs.insert(jobs.end(), planned[i].begin(), planned[i].end());
    total += bytes[i];
  }
  run_jobs(jobs, options, total);
  if (options.cancel && options.cancel->load()) return errc::cancelled;
  parallel_for(roots.size(), thread_count(options, roots.size()), [&](std::size_t i) {
    if (hashed(*roots[i])) finish(*roots[i], options);
  });
  return {};
}

}  // namespace

proto::GameSummary LocalGame::summary() const {
  const bool offered = downloaded && !version.empty();
  return {id, offered ? version : std::string(), size, offered, installed, {}};
}

const LocalGame* LocalLibrary::find(std::string_view id) const {
  auto it = std::lower_bound(games.begin(), games.end(), id,
                             [](const LocalGame& g, std::string_view v) { return g.id < v; });
  return it != games.end() && it->id == id ? &*it : nullptr;
}

std::vector<proto::GameSummary> LocalLibrary::summaries() const {
  std::vector<proto::GameSummary> out;
  out.reserve(games.size());
  for (const auto& g : games) out.push_back(g.summary());
  return out;
}

boost::system::result<LocalLibrary> scan_local_library(const fs::path& game_dir,
                                                       const Catalog& catalog,
                                                       const ScanOptions& options) {
  if (auto ok = check_games_dir(game_dir); !ok) return ok.error();
  LocalLibrary lib;
  lib.game_dir = game_dir;

  std::vector<std::string> names;
  std::error_code ec;
  fs::directory_iterator it(game_dir, fs::directory_options::none, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    names.push_back(it->path().filename().string());
  }
  if (ec) return errc::games_dir_unreadable;
  std::sort(names.begin(), names.end());

  std::vector<std::string> ids;
  for (const auto& name : names) {
    if (catalog.contains(name)) {
      ids.push_back(name);
    } else {
      lib.ignored.push_back({name, "not a catalog id"});
    }
  }
  // Walking the roots (a stat per file) is the other half of a warm scan: in parallel too.
  std::vector<std::unique_ptr<Pending>> inspected(ids.size());
  parallel_for(ids.size(), thread_count(options, ids.size()), [&](std::size_t i) {
    auto p = std::make_unique<Pending>();
    auto game = inspect(game_dir, ids[i], p->entries);
    if (!game) return;
    p->game = std::move(*game);
    inspected[i] = std::move(p);
  });
  std::vector<std::unique_ptr<Pending>> roots;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (inspected[i]) {
      roots.push_back(std::move(inspected[i]));
      continue;
    }
    struct stat st {};
    const bool link = ::lstat((game_dir / ids[i]).c_str(), &st) == 0 && S_ISLNK(st.st_mode);
    lib.ignored.push_back(
        {ids[i], link ? "symlink (game roots must be real directories)" : "not a directory"});
  }
  std::sort(lib.ignored.begin(), lib.ignored.end(),
            [](const IgnoredEntry& x, const IgnoredEntry& y) { return x.name < y.name; });
  if (auto ok = hash_roots(roots, options); !ok) return ok.error();
  for (auto& p : roots) lib.games.push_back(std::move(p->game));
  return lib;
}

boost::system::result<std::optional<LocalGame>> scan_game(const fs::path& game_dir,
                                                          std::string_view id,
                                                          const ScanOptions& options) {
  if (auto ok = check_games_dir(game_dir); !ok) return ok.error();
  if (!proto::validate_game_id(id)) return std::optional<LocalGame>{};
  std::vector<std::unique_ptr<Pending>> roots;
  auto p = std::make_unique<Pending>();
  auto game = inspect(game_dir, id, p->entries);
  if (!game) return std::optional<LocalGame>{};
  p->game = std::move(*game);
  roots.push_back(std::move(p));
  if (auto ok = hash_roots(roots, options); !ok) return ok.error();
  return std::optional<LocalGame>{std::move(roots.front()->game)};
}

}  // namespace lanspread::library
