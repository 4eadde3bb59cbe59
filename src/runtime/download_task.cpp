#include "runtime/download_task.hpp"

#include "library/hasher.hpp"
#include "library/layout.hpp"
#include "runtime/error.hpp"
#include "runtime/peer_client.hpp"
#include "transfer/chunk_planner.hpp"
#include "transfer/download_files.hpp"
#include "transfer/sentinel_transaction.hpp"

#include <unistd.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <deque>
#include <map>
#include <mutex>

namespace lanspread::runtime {
namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
namespace {

constexpr std::size_t kReadBlock = 256 * 1024;

struct ChunkRef {
  std::size_t file;
  std::uint64_t offset;
  std::uint64_t length;
  proto::Sha256 hash;
};

struct Prepared {
  std::optional<transfer::SentinelTransaction> sentinel;
  std::vector<ChunkRef> chunks;
  std::vector<int> fds;  // per manifest file; -1 when nothing is fetched into it
  std::uint64_t reused = 0;
  boost::system::error_code error;
};

// Serialises the writers of one chunk on the disk pool. Once the chunk is verified `done`,
// late writes (a cancelled end-game copy, a request that stalled and woke up) are dropped,
// so a completed chunk's bytes on disk stay the verified ones.
struct ChunkGuard {
  std::mutex mutex;
  bool done = false;
  int writers = 0;  // requests ever started for this chunk (network thread)
};

struct State {
  explicit State(DownloadJob j) : job(std::move(j)), wake(job.net) {}
  DownloadJob job;
  Prepared prep;
  std::optional<transfer::ChunkPlanner> planner;
  struct Done {
    std::string source;
    std::size_t chunk;
    boost::system::error_code ec;
  };
  std::deque<Done> results;
  transport::Signal wake;
  std::map<std::pair<std::string, std::size_t>, std::shared_ptr<bool>> cancel;
  std::vector<std::unique_ptr<ChunkGuard>> guards;
  std::size_t running = 0;
};

bool is_sentinel(const proto::GameFileDescription& f) {
  return f.path == library::kVersionFile;
}

Prepared prepare(const DownloadJob& job) {
  Prepared p;
  std::error_code fs_ec;
  std::filesystem::create_directories(job.root, fs_ec);
  auto tx = transfer::SentinelTransaction::begin(job.root);
  if (!tx) {
    p.error = tx.error();
    return p;
  }
  p.sentinel = *tx;
  auto fail = [&](boost::system::error_code ec) {
    p.error = ec;
    return std::move(p);
  };
  if (auto r = transfer::remove_entries(job.root, transfer::stale_entries(job.root, job.manifest));
      !r)
    return fail(r.error());
  if (auto r = transfer::prepare_files(job.root, job.manifest); !r) return fail(r.error());
  auto local = transfer::verify_local_chunks(job.root, job.manifest);
  if (!local) return fail(local.error());
  p.fds.assign(job.manifest.files.size(), -1);
  for (std::size_t i = 0; i < job.manifest.files.size(); ++i) {
    const auto& f = job.manifest.files[i];
    if (f.is_dir || is_sentinel(f)) continue;
    bool opened = false;
    for (std::size_t c = 0; c < f.chunk_hashes.size(); ++c) {
      const std::uint64_t off = c * job.manifest.chunk_size;
      const std::uint64_t len = std::min<std::uint64_t>(job.manifest.chunk_size, f.size - off);
      if ((*local)[i][c]) {
        p.reused += len;
        continue;
      }
      if (!opened) {
        auto fd = transfer::open_for_write(job.root, f.path);
        if (!fd) return fail(fd.error());
        p.fds[i] = *fd;
        opened = true;
      }
      p.chunks.push_back({i, off, len, f.chunk_hashes[c]});
    }
  }
  return p;
}

awaitable<boost::system::error_code> fetch_one(std::shared_ptr<State> st, std::string source,
                                               std::size_t index, std::shared_ptr<bool> cancelled) {
  const ChunkRef c = st->prep.chunks[index];
  const auto& file = st->job.manifest.files[c.file];
  auto conn = co_await st->job.connect(source);
  if (!conn) co_return conn.error();
  auto open = co_await send_request(
      *conn, proto::GetGameFileChunk{st->job.id, file.path, c.offset, c.length});
  if (!open) co_return open.error();
  if (std::holds_alternative<proto::Error>(open->response))
    co_return make_error_code(errc::peer_refused);
  transport::Stream* s = &open->stream;
  std::vector<std::uint8_t> buf(kReadBlock);
  std::vector<std::uint8_t> first = std::move(open->leftover);
  std::span<const std::uint8_t> pending = first;

  auto writer =
      std::make_shared<transfer::ChunkWriter>(st->prep.fds[c.file], c.offset, c.length, c.hash);
  ChunkGuard* guard = st->guards[index].get();
  ++guard->writers;
  for (;;) {
    if (*cancelled) {
      s->reset(transport::kAppNoError);
      co_return make_error_code(transfer::errc::cancelled);
    }
    if (!pending.empty()) {
      // Written and hashed on the disk pool; `buf` is not reused until this returns.
      const auto ec = co_await asio::co_spawn(
          st->job.disk,
          [writer, pending, guard]() -> awaitable<boost::system::error_code> {
            std::lock_guard lock(guard->mutex);
            if (guard->done) co_return make_error_code(transfer::errc::cancelled);
            auto r = writer->write(pending);
            co_return r ? boost::system::error_code{} : r.error();
          },
          use_awaitable);
      if (ec) co_return ec;
    }
    if (writer->written() == c.length) break;
    auto n = co_await s->read_some(buf);
    if (!n) co_return n.error();
    if (*n == 0) break;
    pending = std::span<const std::uint8_t>(buf.data(), *n);
  }
  auto done = writer->finish();
  co_return done ? boost::system::error_code{} : done.error();
}

awaitable<void> fetch(std::shared_ptr<State> st, std::string source, std::size_t index) {
  auto flag = std::make_shared<bool>(false);
  st->cancel[{source, index}] = flag;
  const auto ec = co_await fetch_one(st, source, index, flag);
  if (auto it = st->cancel.find({source, index}); it != st->cancel.end() && it->second == flag)
    st->cancel.erase(it);
  --st->running;
  st->results.push_back({source, index, ec});
  st->wake.notify();
}

// version.ini is small and comes last: fetched whole and checked against the manifest.
awaitable<boost::system::result<std::string>> fetch_sentinel(std::shared_ptr<State> st) {
  const proto::GameFileDescription* sentinel = nullptr;
  for (const auto& f : st->job.manifest.files)
    if (is_sentinel(f)) sentinel = &f;
  if (sentinel == nullptr || sentinel->chunk_hashes.size() != 1)
    co_return make_error_code(transfer::errc::sentinel_failed);
  for (const auto& source : st->job.sources) {
    auto conn = co_await st->job.connect(source);
    if (!conn) continue;
    auto open = co_await send_request(*conn, proto::GetGameFileData{st->job.id, sentinel->path});
    if (!open || !std::holds_alternative<proto::FileData>(open->response)) continue;
    std::string content(open->leftover.begin(), open->leftover.end());
    std::vector<std::uint8_t> buf(64 * 1024);
    while (content.size() <= sentinel->size) {
      auto n = co_await open->stream.read_some(buf);
      if (!n || *n == 0) break;
      content.append(reinterpret_cast<const char*>(buf.data()), *n);
    }
    if (content.size() != sentinel->size ||
        library::sha256({reinterpret_cast<const std::uint8_t*>(content.data()), content.size()}) !=
            sentinel->chunk_hashes[0])
      continue;
    co_return content;
  }
  co_return make_error_code(transfer::errc::sentinel_failed);
}

void close_fds(std::vector<int>& fds, bool sync) {
  for (int& fd : fds) {
    if (fd < 0) continue;
    if (sync) ::fdatasync(fd);
    ::close(fd);
    fd = -1;
  }
}

// Deletes what this download owns: the manifest's files and directories (deepest first).
void discard_payload(const DownloadJob& job) {
  std::vector<std::string> paths;
  for (const auto& f : job.manifest.files) paths.push_back(f.path);
  std::sort(paths.begin(), paths.end(), [](const auto& a, const auto& b) { return a > b; });
  (void)transfer::remove_entries(job.root, paths);
}

}  // namespace

awaitable<boost::system::result<DownloadReport>> run_download(DownloadJob job) {
  using namespace asio::experimental::awaitable_operators;
  auto st = std::make_shared<State>(std::move(job));
  st->prep = co_await asio::co_spawn(
      st->job.disk, [st]() -> awaitable<Prepared> { co_return prepare(st->job); }, use_awaitable);
  auto cleanup = [&](bool discard) -> awaitable<void> {
    co_await asio::co_spawn(
        st->job.disk,
        [st, discard]() -> awaitable<void> {
          close_fds(st->prep.fds, false);
          if (st->prep.sentinel) st->prep.sentinel->abort();
          if (discard) discard_payload(st->job);
          co_return;
        },
        use_awaitable);
  };
  if (st->prep.error) {
    const auto ec = st->prep.error;
    co_await cleanup(false);
    co_return ec;
  }
  std::vector<std::uint64_t> sizes;
  for (const auto& c : st->prep.chunks) {
    sizes.push_back(c.length);
    st->guards.push_back(std::make_unique<ChunkGuard>());
  }
  st->planner.emplace(std::move(sizes), st->job.sources);

  const std::uint64_t total = st->prep.reused + st->planner->bytes_total();
  std::uint64_t last_done = 0;
  auto last_report = transfer::Clock::now();
  asio::steady_timer tick(st->job.net);
  boost::system::error_code failure;
  for (;;) {
    const auto now = transfer::Clock::now();
    if (st->job.stop.stop_requested()) {
      failure = make_error_code(transfer::errc::cancelled);
      break;
    }
    if (failure) break;
    if (st->planner->finished()) break;
    if (st->planner->stuck()) {
      failure = make_error_code(errc::no_sources);
      break;
    }
    for (const auto& a : st->planner->next(now)) {
      ++st->running;
      asio::co_spawn(st->job.net, fetch(st, a.source, a.chunk), asio::detached);
    }
    if (st->results.empty()) {
      tick.expires_after(std::chrono::milliseconds(250));
      boost::system::error_code ignored;
      co_await (st->wake.wait() || tick.async_wait(asio::redirect_error(use_awaitable, ignored)));
    }
    while (!st->results.empty()) {
      auto r = std::move(st->results.front());
      st->results.pop_front();
      if (!r.ec) {
        // Seal the chunk; if anyone else ever wrote into it, check what is on disk now.
        ChunkGuard* guard = st->guards[r.chunk].get();
        const ChunkRef c = st->prep.chunks[r.chunk];
        const int fd = st->prep.fds[c.file];
        const bool shared = guard->writers > 1;
        const bool intact = co_await asio::co_spawn(
            st->job.disk,
            [guard, c, fd, shared]() -> awaitable<bool> {
              std::lock_guard lock(guard->mutex);
              if (guard->done) co_return true;  // sealed by an earlier copy
              if (shared) {
                auto h = library::hash_range(fd, c.offset, c.length);
                if (!h || *h != c.hash) co_return false;
              }
              guard->done = true;
              co_return true;
            },
            use_awaitable);
        if (!intact) {
          st->planner->failed(r.source, r.chunk, transfer::FailureKind::error,
                              transfer::Clock::now());
          continue;
        }
        for (const auto& loser : st->planner->completed(r.source, r.chunk)) {
          if (auto it = st->cancel.find({loser.source, loser.chunk}); it != st->cancel.end())
            *it->second = true;
        }
      } else if (r.ec == transfer::errc::io_error || r.ec == transfer::errc::bad_path) {
        // Our disk, not the peer: retrying elsewhere cannot help.
        if (!failure) failure = r.ec;
      } else if (r.ec != transfer::errc::cancelled) {
        st->planner->failed(r.source, r.chunk,
                            r.ec == transfer::errc::chunk_corrupt ? transfer::FailureKind::corrupt
                                                                  : transfer::FailureKind::error,
                            transfer::Clock::now());
      }
    }
    for (const auto& s : st->planner->check_stalls(transfer::Clock::now())) {
      if (auto it = st->cancel.find({s.source, s.chunk}); it != st->cancel.end())
        *it->second = true;
    }
    const auto t = transfer::Clock::now();
    if (st->job.progress && t - last_report >= std::chrono::milliseconds(250)) {
      const std::uint64_t done = st->prep.reused + st->planner->bytes_done();
      const double secs = std::chrono::duration<double>(t - last_report).count();
      st->job.progress({done, total,
                        static_cast<std::uint64_t>(static_cast<double>(done - last_done) / secs),
                        st->planner->active_sources()});
      last_done = done;
      last_report = t;
    }
  }
  // Stop what still runs (losers, or everything on failure) and wait for it to let go.
  for (auto& [key, flag] : st->cancel) *flag = true;
  while (st->running > 0) {
    tick.expires_after(std::chrono::milliseconds(50));
    boost::system::error_code ignored;
    co_await (st->wake.wait() || tick.async_wait(asio::redirect_error(use_awaitable, ignored)));
  }
  if (failure) {
    co_await cleanup(failure == transfer::errc::cancelled);
    co_return failure;
  }
  auto sentinel = co_await fetch_sentinel(st);
  if (!sentinel) {
    co_await cleanup(false);
    co_return sentinel.error();
  }
  const auto committed = co_await asio::co_spawn(
      st->job.disk,
      [st, content = *sentinel]() -> awaitable<boost::system::error_code> {
        close_fds(st->prep.fds, true);  // data on disk before the sentinel says it is there
        auto r = st->prep.sentinel->commit(
            {reinterpret_cast<const std::uint8_t*>(content.data()), content.size()});
        co_return r ? boost::system::error_code{} : r.error();
      },
      use_awaitable);
  if (committed) {
    co_await cleanup(false);
    co_return committed;
  }
  if (st->job.progress) st->job.progress({total, total, 0, 0});
  co_return DownloadReport{st->planner->bytes_done(), st->prep.reused};
}

}  // namespace lanspread::runtime
