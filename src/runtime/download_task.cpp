#include "runtime/download_task.hpp"

#include "library/index.hpp"
#include "proto/layout.hpp"
#include "runtime/download_state.hpp"
#include "transfer/download_files.hpp"
#include "transfer/update_commit.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace lanspread::runtime {
namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using transfer::Clock;

namespace {

bool is_sentinel(const proto::GameFileDescription& f) {
  return f.path == proto::layout::kVersionIni;
}

struct Prepared {
  std::optional<transfer::SentinelTransaction> sentinel;
  std::optional<transfer::StagingArea> staging;
  std::vector<bool> staged;
  std::vector<ChunkRef> chunks;
  std::uint64_t reused = 0;
  boost::system::error_code error;
  std::string reason;
};

// The chunks still to fetch: those not already right on disk.
void collect_chunks(const DownloadJob& job, const std::vector<std::vector<bool>>& ready,
                    Prepared& p) {
  for (std::size_t i = 0; i < job.manifest.files.size(); ++i) {
    const auto& f = job.manifest.files[i];
    if (f.is_dir || is_sentinel(f)) continue;
    for (std::size_t c = 0; c < f.chunk_hashes.size(); ++c) {
      const std::uint64_t off = c * job.manifest.chunk_size;
      const std::uint64_t len = std::min<std::uint64_t>(job.manifest.chunk_size, f.size - off);
      if (ready[i][c]) {
        p.reused += len;
      } else {
        p.chunks.push_back({i, off, len, f.chunk_hashes[c]});
      }
    }
  }
}

// Blocking (disk pool). An update (a complete version is on disk) stages the files that change
// and copies what it can from the old ones; the old version is not touched. Otherwise: parks
// version.ini, removes files the new version does not have, sizes the files in place. Either
// way it checks which chunks are already right (reporting as it goes).
Prepared prepare(const DownloadJob& job, const std::atomic<bool>& stop,
                 const transfer::CheckProgress& progress) {
  Prepared p;
  auto fail = [&](boost::system::error_code ec, const std::string& what,
                  const std::string& detail = {}) {
    p.error = ec;
    p.reason = what + " of '" + job.id + "' failed: " + (detail.empty() ? "" : detail + ": ") +
               ec.message();
    return std::move(p);
  };
  std::error_code fs_ec;
  std::filesystem::create_directories(job.root, fs_ec);
  std::string detail;
  // A swap cut short earlier (a games dir not recovered since) is completed first.
  if (auto r = transfer::recover_update(job.root, detail); !r)
    return fail(r.error(), "completing an interrupted update", detail);
  if (transfer::has_complete_version(job.root)) {
    auto area = transfer::StagingArea::open(job.root, job.manifest.version, detail);
    if (!area) return fail(area.error(), "preparing the update", detail);
    // Held from here on, so that a check cut short (a cancel) still counts as an update.
    p.staging = std::move(*area);
    auto plan = transfer::stage_update(*p.staging, job.manifest, &stop, progress);
    if (!plan) return fail(plan.error(), "checking the files already on disk");
    p.staged = std::move(plan->staged);
    collect_chunks(job, plan->ready, p);
    return p;
  }
  // Staged work needs a complete old version to be swapped against: without one it is useless.
  if (auto r = transfer::discard_staging(job.root); !r)
    return fail(r.error(), "removing an old staged update");
  auto tx = transfer::SentinelTransaction::begin(job.root);
  if (!tx) return fail(tx.error(), "parking version.ini");
  p.sentinel = std::move(*tx);
  if (auto r = transfer::remove_entries(job.root, transfer::stale_entries(job.root, job.manifest));
      !r)
    return fail(r.error(), "removing the files of the old version");
  if (auto r = transfer::prepare_files(job.root, job.manifest); !r)
    return fail(r.error(), "creating the files");
  auto local = transfer::verify_local_chunks(job.root, job.manifest, &stop, progress);
  if (!local) return fail(local.error(), "checking the files already on disk");
  collect_chunks(job, *local, p);
  return p;
}

// Deletes what this download owns: the manifest's files and directories (deepest first).
void discard_payload(const DownloadJob& job) {
  std::vector<std::string> paths;
  for (const auto& f : job.manifest.files) paths.push_back(f.path);
  std::sort(paths.begin(), paths.end(), [](const auto& a, const auto& b) { return a > b; });
  (void)transfer::remove_entries(job.root, paths);
}

// What is wrong with the manifest's version.ini, if anything: it is fetched whole into
// memory, so its size is bounded before anything starts.
std::string sentinel_problem(const DownloadJob& job) {
  const auto it = std::find_if(job.manifest.files.begin(), job.manifest.files.end(), is_sentinel);
  if (it == job.manifest.files.end() || it->is_dir || it->chunk_hashes.size() != 1)
    return "the manifest of '" + job.id + "' has no usable version.ini";
  if (it->size > job.settings.max_sentinel_size)
    return "the manifest of '" + job.id + "' gives version.ini " + std::to_string(it->size) +
           " bytes; at most " + std::to_string(job.settings.max_sentinel_size) + " are accepted";
  return {};
}

}  // namespace

Download::State::State(DownloadJob j)
    : job(std::move(j)),
      session(job.id, job.manifest.version, job.sources, job.settings, Clock::now()),
      wake(job.net),
      sources(job.sources.begin(), job.sources.end()) {}

void Download::State::flush() {
  if (flushing) return;  // the outer call picks up what this one would have done
  flushing = true;
  struct Reset {
    bool& flag;
    ~Reset() { flag = false; }
  } reset{flushing};
  for (auto actions = session.take_actions(); !actions.empty(); actions = session.take_actions()) {
    for (auto& a : actions) {
      std::visit(
          [&](auto& act) {
            using T = std::decay_t<decltype(act)>;
            if constexpr (std::is_same_v<T, transfer::FetchChunk>) {
              start_chunk(act);
            } else if constexpr (std::is_same_v<T, transfer::FetchSentinel>) {
              start_sentinel(act);
            } else if constexpr (std::is_same_v<T, transfer::CancelRequest>) {
              // Interrupts whatever the request waits for (connect, header, bytes, disk);
              // its coroutine ends at once and its later reports are ignored.
              if (auto it = requests.find(act.id); it != requests.end()) {
                if (it->second->started) {
                  it->second->signal.emit(asio::cancellation_type::terminal);
                } else {
                  it->second->cancel_pending = true;
                }
              }
            } else if constexpr (std::is_same_v<T, transfer::SealChunk>) {
              seal(act);
            } else if constexpr (std::is_same_v<T, transfer::RefreshHave>) {
              refresh_have(act);
            } else if constexpr (std::is_same_v<T, transfer::ReportProgress>) {
              if (job.progress) job.progress(act.progress);
            } else if constexpr (std::is_same_v<T, transfer::Fail>) {
              failure = act;
            } else if constexpr (std::is_same_v<T, transfer::Finish>) {
              finished = true;
            }
          },
          a);
    }
  }
  notify();
}

void Download::State::offer_verified(const std::vector<ChunkRef>& missing) {
  auto manifest = std::make_shared<const proto::Game>(job.manifest);
  std::vector<std::filesystem::path> roots;
  for (std::size_t i = 0; i < job.manifest.files.size(); ++i)
    roots.push_back(staging && staged[i] ? staging->files() : job.root);
  partial = std::make_shared<PartialGame>(job.id, job.digest, manifest, std::move(roots));
  // Every chunk not to fetch is right on disk already, except version.ini, which comes last.
  global_of.clear();
  std::vector<bool> missing_global(partial->verified.size(), false);
  for (const auto& c : missing) {
    global_of.push_back(partial->numbering.index(c.file, c.offset));
    missing_global[global_of.back()] = true;
  }
  for (std::size_t i = 0; i < job.manifest.files.size(); ++i) {
    if (!is_sentinel(job.manifest.files[i])) continue;
    for (std::size_t c = 0; c < job.manifest.files[i].chunk_hashes.size(); ++c)
      missing_global[partial->numbering.first(i) + c] = true;
  }
  for (std::uint64_t i = 0; i < missing_global.size(); ++i)
    if (!missing_global[i]) partial->verified.set(i);
}

Download::Download(DownloadJob job) : st_(std::make_shared<State>(std::move(job))) {}
Download::~Download() = default;

const proto::Game& Download::manifest() const {
  return st_->job.manifest;
}

const proto::Sha256& Download::digest() const {
  return st_->job.digest;
}

bool Download::has_source(const std::string& peer) const {
  return st_->sources.contains(peer);
}

void Download::source_joined(const std::string& peer) {
  // A partial source that joins as full has finished its download.
  const bool was_partial = st_->partial_sources.erase(peer) > 0;
  if (!st_->sources.insert(peer).second && !was_partial) return;
  st_->session.source_joined(peer, std::nullopt, Clock::now());
  st_->flush();
}

void Download::source_answered(const std::string& peer) {
  if (!st_->sources.contains(peer)) return;
  if (st_->session.source_answered(peer, Clock::now())) st_->flush();
}

void Download::partial_source_joined(const std::string& peer, const transfer::ChunkBitmap& have) {
  if (st_->sources.contains(peer)) return;  // known already (full, or refreshed by the session)
  st_->sources.insert(peer);
  st_->partial_sources.insert(peer);
  st_->session.source_joined(peer, st_->have_of(have), Clock::now());
  st_->flush();
}

bool Download::has_partial_source(const std::string& peer) const {
  return st_->partial_sources.contains(peer);
}

std::shared_ptr<const PartialGame> Download::partial() const {
  return st_->partial;
}

void Download::source_left(const std::string& peer) {
  st_->partial_sources.erase(peer);
  if (st_->sources.erase(peer) == 0) return;
  st_->session.source_left(peer, Clock::now());
  st_->flush();
}

awaitable<DownloadOutcome> Download::run() {
  auto st = st_;
  DownloadOutcome out;
  if (auto problem = sentinel_problem(st->job); !problem.empty()) {
    out.error = make_error_code(transfer::errc::sentinel_failed);
    out.reason = std::move(problem);
    co_return out;
  }
  // Cancel from any thread: the local check stops between chunks, the session at once.
  std::stop_callback on_stop(st->job.stop, [st] {
    st->stop_disk = true;
    asio::post(st->job.net, [st] {
      st->session.cancel(Clock::now());
      st->flush();
    });
  });
  st->flush();  // the first report: checking

  ++st->busy;
  asio::post(st->job.disk, [st]() mutable {
    Prepared p;
    {
      auto last = Clock::now();
      auto progress = [st, &last](std::uint64_t done, std::uint64_t total) {
        const auto now = Clock::now();
        if (now - last < std::chrono::milliseconds(50) && done < total) return;
        last = now;
        asio::post(st->job.net, [st, done, total] {
          st->session.check_progress(done, total, Clock::now());
          st->flush();
        });
      };
      p = prepare(st->job, st->stop_disk, progress);
    }
    // This job lets go of the state in the network thread's hands: the last owner must not
    // destroy it (its timer) on a disk thread.
    auto net = st->job.net;
    asio::post(net, [st = std::move(st), p = std::move(p)]() mutable {
      --st->busy;
      st->sentinel = std::move(p.sentinel);
      st->staging = std::move(p.staging);
      st->staged = std::move(p.staged);
      if (p.error) {
        // A cancelled check is the session's own cancel; anything else is our disk.
        if (p.error != transfer::errc::cancelled) {
          st->local_error = p.error;
          st->session.local_error(p.reason, Clock::now());
        }
        st->flush();
        return;
      }
      st->pieces = transfer::group_pieces(st->job.manifest, p.chunks);
      std::vector<std::uint64_t> sizes;
      for (const auto& piece : st->pieces) {
        sizes.push_back(piece.length);
        st->guards.push_back(std::make_unique<ChunkGuard>());
      }
      st->offer_verified(p.chunks);
      if (st->job.offer_changed) st->job.offer_changed();
      st->chunks = std::move(p.chunks);
      st->files = std::make_shared<transfer::FileCache>(
          st->staging ? st->staging->files() : st->job.root, st->job.settings.open_files);
      st->session.checked(std::move(sizes), p.reused, Clock::now());
      st->flush();
    });
  });

  // Sleep until the session's next deadline or an event; stop once it ended and every
  // request and disk job it started let go.
  while (!(st->session.ended() && st->busy == 0)) {
    st->wake.expires_at(st->session.ended() ? Clock::now() + std::chrono::seconds(1)
                                            : st->session.next_deadline());
    boost::system::error_code ec;
    co_await st->wake.async_wait(asio::redirect_error(use_awaitable, ec));
    st->session.tick(Clock::now());
    st->flush();
  }

  out.report = {st->session.network_bytes(), st->session.reused_bytes()};
  // An update's staged files are about to move (or the download failed): stop serving them.
  // A download written in place keeps serving its chunks while it commits.
  if (st->staging || !st->finished) st->partial.reset();
  if (st->finished) {
    if (st->staging && st->job.before_swap) st->job.before_swap();
    const auto committed = co_await asio::co_spawn(
        st->job.disk,
        [st]() -> awaitable<std::pair<boost::system::error_code, std::string>> {
          const auto& c = st->sentinel_content;
          if (st->staging) {
            // commit_update makes every staged file durable itself, also those copied locally.
            st->files->close_all();
            std::string detail;
            auto r = transfer::commit_update(*st->staging, st->job.manifest, st->staged, c, detail);
            if (!r) {
              co_return std::pair{r.error(), "swapping in version " + st->job.manifest.version +
                                                 " of '" + st->job.id + "' failed (" + detail +
                                                 ")"};
            }
            // The rescan that follows need not hash what was just verified.
            (void)library::index_verified(st->job.root, st->job.manifest);
            co_return std::pair{boost::system::error_code{}, std::string{}};
          }
          // Data on disk before the sentinel says it is there.
          if (auto r = st->files->sync_all(); !r)
            co_return std::pair{r.error(), "syncing the files of '" + st->job.id + "' failed"};
          // The rescan that follows need not hash what was just verified.
          (void)library::index_verified(st->job.root, st->job.manifest);
          auto r =
              st->sentinel->commit({reinterpret_cast<const std::uint8_t*>(c.data()), c.size()});
          if (!r)
            co_return std::pair{r.error(), "committing version.ini of '" + st->job.id + "' failed"};
          co_return std::pair{boost::system::error_code{}, std::string{}};
        },
        use_awaitable);
    if (!committed.first) co_return out;
    out.error = committed.first;
    out.reason = committed.second + ": " + committed.first.message();
  } else if (st->failure) {
    switch (st->failure->cause) {
      case transfer::FailCause::cancelled:
        out.error = make_error_code(transfer::errc::cancelled);
        break;
      case transfer::FailCause::local:
        out.error = st->local_error ? st->local_error : make_error_code(transfer::errc::io_error);
        break;
      case transfer::FailCause::peers:
        out.error = make_error_code(transfer::errc::sources_failed);
        break;
    }
    out.reason = st->failure->reason;
  }
  // An update keeps the old version and its staged work; a fresh download's payload is dropped.
  // Only a download that began writing in place (it parked version.ini) owns the payload: a
  // cancel before that, or during an update's check, deletes nothing.
  const bool discard = out.error == transfer::errc::cancelled && st->sentinel && !st->staging;
  co_await asio::co_spawn(
      st->job.disk,
      [st, discard]() -> awaitable<void> {
        if (st->files) st->files->close_all();
        if (st->sentinel) st->sentinel->abort();
        if (discard) discard_payload(st->job);
        co_return;
      },
      use_awaitable);
  st->partial.reset();
  co_return out;
}

}  // namespace lanspread::runtime
