// The requests of a download: a chunk or version.ini fetched on its own QUIC stream, and
// the disk job that seals a verified chunk. Each reports to the session as bytes arrive and
// when it ends; a CancelRequest reaches it through Asio cancellation wherever it waits.
#include "library/hasher.hpp"
#include "proto/layout.hpp"
#include "runtime/download_state.hpp"
#include "runtime/peer_client.hpp"
#include "transfer/download_files.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace lanspread::runtime {
namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using transfer::Clock;
using transfer::FailureKind;

namespace {

// How a request ended.
struct Ended {
  enum class How { done, failed, local, cancelled } how = How::done;
  FailureKind kind = FailureKind::error;
  std::string detail;
  boost::system::error_code ec;                 // local errors
  std::optional<proto::WireErrorCode> refusal;  // the peer answered with an Error
};

Ended failed(FailureKind kind, std::string detail) {
  return {Ended::How::failed, kind, std::move(detail), {}, {}};
}
Ended cancelled() {
  return {Ended::How::cancelled, FailureKind::error, {}, {}, {}};
}

// Payload bytes from `source`: for the session's progress and the per-peer rates.
void count_received(Download::State& st, transfer::RequestId id, const std::string& source,
                    std::size_t n) {
  const auto now = Clock::now();
  st.session.bytes_received(id, n, now);
  if (st.job.traffic && n > 0) st.job.traffic->add_received(source, n, now);
}

awaitable<bool> is_cancelled() {
  const auto state = co_await asio::this_coro::cancellation_state;
  co_return state.cancelled() != asio::cancellation_type::none;
}

// Sends `request` to `source` and waits for the FileData header announcing `expected` bytes.
awaitable<std::variant<OpenResponse, Ended>> open(Download::State& st, const std::string& source,
                                                  proto::Request request, std::uint64_t expected) {
  auto conn = co_await st.job.connect(source);
  if (co_await is_cancelled()) co_return cancelled();
  if (!conn) co_return failed(FailureKind::error, "cannot connect: " + conn.error().message());
  auto answer = co_await send_request(*conn, request);
  if (co_await is_cancelled()) co_return cancelled();
  if (!answer) co_return failed(FailureKind::error, answer.error().message());
  if (const auto* e = std::get_if<proto::Error>(&answer->response)) {
    // `busy` to a spread request: this chunk goes to another downloader now; not a failure.
    const auto* chunk = std::get_if<proto::GetGameFileChunk>(&request);
    const auto* files = std::get_if<proto::GetGameFiles>(&request);
    const bool spread = (chunk != nullptr && chunk->spread) || (files != nullptr && files->spread);
    Ended out = failed(spread && e->code == proto::WireErrorCode::busy ? FailureKind::declined
                                                                       : FailureKind::refused,
                       e->message);
    out.refusal = e->code;
    co_return out;
  }
  const auto* data = std::get_if<proto::FileData>(&answer->response);
  if (data == nullptr || data->size != expected) {
    co_return failed(FailureKind::error, "announced " + std::to_string(data ? data->size : 0) +
                                             " bytes instead of " + std::to_string(expected));
  }
  co_return std::move(*answer);
}

// A piece's bytes as they arrive, over one answer or several: its chunks one after another,
// each hashed on the way and checked as soon as its last byte is written. Disk pool, under
// the piece's guard.
struct PieceWriter {
  PieceWriter(const Download::State& st, const transfer::Piece& piece)
      : first(piece.first), count(piece.count) {
    start(st);
  }
  // Writes `bytes` from the current chunk on. The caller never hands more than the piece holds.
  // chunk_corrupt names the chunk that did not match in `bad`.
  boost::system::error_code write(const Download::State& st, std::span<const std::uint8_t> bytes) {
    while (!bytes.empty() && current < count) {
      const ChunkRef& c = st.chunks[first + current];
      const auto n = static_cast<std::size_t>(
          std::min<std::uint64_t>(bytes.size(), c.length - writer->written()));
      auto file = st.files->acquire(st.job.manifest.files[c.file].path);
      if (!file) return file.error();
      if (auto r = writer->write(file->fd(), bytes.first(n)); !r) return r.error();
      bytes = bytes.subspan(n);
      if (writer->written() == c.length) {
        if (auto done = writer->finish(); !done) {
          bad = first + current;
          return done.error();
        }
        ++current;
        start(st);
      }
    }
    if (bytes.empty()) return {};
    bad = kTooMuch;
    return make_error_code(transfer::errc::chunk_corrupt);
  }
  static constexpr std::size_t kTooMuch = static_cast<std::size_t>(-1);
  std::size_t first;
  std::size_t count;
  std::size_t current = 0;  // the chunk being written, one after another
  std::optional<transfer::ChunkWriter> writer;
  std::size_t bad = 0;

 private:
  void start(const Download::State& st) {
    if (current == count) return;
    const ChunkRef& c = st.chunks[first + current];
    writer.emplace(c.offset, c.length, c.hash);
  }
};

// Sends `request` and writes its answer, `expected` bytes, into the piece from its current
// chunk on.
awaitable<Ended> receive(std::shared_ptr<Download::State> st, transfer::RequestId id,
                         const std::string& source, proto::Request request, std::size_t index,
                         std::shared_ptr<PieceWriter> writer, std::uint64_t expected) {
  auto opened = co_await open(*st, source, std::move(request), expected);
  if (auto* e = std::get_if<Ended>(&opened)) co_return std::move(*e);
  auto& answer = std::get<OpenResponse>(opened);
  st->session.bytes_received(id, 0, Clock::now());  // the header: the peer is alive

  std::vector<std::uint8_t> buf(st->job.settings.read_block);
  std::vector<std::uint8_t> first = std::move(answer.leftover);
  if (first.size() > expected)
    co_return failed(FailureKind::corrupt, "sent more bytes than it announced");
  std::span<const std::uint8_t> pending = first;
  std::uint64_t got_total = 0;
  count_received(*st, id, source, pending.size());
  for (;;) {
    if (!pending.empty()) {
      // Written and hashed on the disk pool; `buf` is not reused until this returns. A
      // cancel waits for the write (one block) and is seen right after: it is not passed
      // into the disk pool's coroutine, whose entry point would throw on it.
      const auto ec = co_await asio::co_spawn(
          st->job.disk,
          [st, writer, pending, index]() -> awaitable<boost::system::error_code> {
            ChunkGuard& guard = *st->guards[index];
            std::lock_guard lock(guard.mutex);
            if (guard.sealed) co_return make_error_code(transfer::errc::cancelled);
            co_return writer->write(*st, pending);
          },
          asio::bind_cancellation_slot(asio::cancellation_slot(), use_awaitable));
      if (co_await is_cancelled() || ec == transfer::errc::cancelled) co_return cancelled();
      if (ec == transfer::errc::chunk_corrupt && writer->bad == PieceWriter::kTooMuch)
        co_return failed(FailureKind::corrupt, "sent more bytes than it announced");
      if (ec == transfer::errc::chunk_corrupt) {
        const auto& path = st->job.manifest.files[st->chunks[writer->bad].file].path;
        co_return failed(FailureKind::corrupt, "'" + path + "' did not match its checksum");
      }
      if (ec) {
        co_return Ended{Ended::How::local, FailureKind::error,
                        "writing the files of '" + st->job.id + "' failed: " + ec.message(), ec,
                        std::nullopt};
      }
      got_total += pending.size();
    }
    if (got_total == expected) break;
    // A whole block (or the rest of the answer) before the next disk job: one hand-over to
    // the disk pool and back per block, however the bytes trickle in. Meanwhile the
    // transport keeps receiving, and its flow-control credit goes back as bytes are read.
    const auto want =
        static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), expected - got_total));
    std::size_t got = 0;
    while (got < want) {
      auto n = co_await answer.stream.read_some(std::span(buf).subspan(got, want - got));
      if (co_await is_cancelled()) co_return cancelled();
      if (!n) co_return failed(FailureKind::error, "the stream failed: " + n.error().message());
      if (*n == 0) break;
      count_received(*st, id, source, *n);
      got += *n;
    }
    if (got == 0) {
      co_return failed(FailureKind::error, "sent " + std::to_string(got_total) + " of " +
                                               std::to_string(expected) + " bytes");
    }
    pending = std::span<const std::uint8_t>(buf.data(), got);
  }
  co_return Ended{};
}

awaitable<Ended> fetch_chunk(std::shared_ptr<Download::State> st, transfer::RequestId id,
                             std::string source, std::size_t index) {
  const transfer::Piece piece = st->pieces[index];
  auto writer = std::make_shared<PieceWriter>(*st, piece);
  // A partial source serves the version it downloads only when asked by its manifest. Every
  // source is told that we may trade chunks with other downloaders (they are found within a
  // round trip, so from the first request on), and it may turn us down to spread its uplink
  // (older peers ignore the field); one that has declined for too long is asked plainly.
  std::optional<proto::Sha256> digest;
  if (st->partial_sources.contains(source)) digest = st->job.digest;
  const bool spread = st->session.may_decline(source);
  if (piece.count > 1 && !st->single_files.contains(source)) {
    proto::GetGameFiles request{st->job.id, {}, piece.length, digest, spread};
    for (std::size_t i = 0; i < piece.count; ++i)
      request.paths.push_back(st->job.manifest.files[st->chunks[piece.first + i].file].path);
    Ended e = co_await receive(st, id, source, std::move(request), index, writer, piece.length);
    if (e.refusal != proto::WireErrorCode::bad_request) co_return e;
    // An older peer does not know the request: its files one at a time from now on.
    st->single_files.insert(source);
  }
  for (std::size_t i = 0; i < piece.count; ++i) {
    // File by file (an older peer): only the first may be declined, so that a seeder that
    // sends one spread chunk to each client at a time cannot cut the piece short.
    const ChunkRef& c = st->chunks[piece.first + i];
    proto::GetGameFileChunk request{st->job.id, st->job.manifest.files[c.file].path,
                                    c.offset,   c.length,
                                    digest,     spread && i == 0};
    Ended e = co_await receive(st, id, source, std::move(request), index, writer, c.length);
    if (e.how != Ended::How::done) co_return e;
  }
  co_return Ended{};
}

// version.ini is small (bounded by the settings) and comes last: fetched whole, checked
// against the manifest, kept in memory for the commit.
awaitable<Ended> fetch_sentinel(std::shared_ptr<Download::State> st, transfer::RequestId id,
                                std::string source) {
  const proto::GameFileDescription* sentinel = nullptr;
  for (const auto& f : st->job.manifest.files)
    if (f.path == proto::layout::kVersionIni) sentinel = &f;
  auto opened = co_await open(*st, source, proto::GetGameFileData{st->job.id, sentinel->path},
                              sentinel->size);
  if (auto* e = std::get_if<Ended>(&opened)) co_return std::move(*e);
  auto& answer = std::get<OpenResponse>(opened);
  st->session.bytes_received(id, 0, Clock::now());
  std::string content(answer.leftover.begin(), answer.leftover.end());
  count_received(*st, id, source, content.size());
  std::vector<std::uint8_t> buf(16 * 1024);
  while (content.size() <= sentinel->size) {
    auto n = co_await answer.stream.read_some(buf);
    if (co_await is_cancelled()) co_return cancelled();
    if (!n) co_return failed(FailureKind::error, "the stream failed: " + n.error().message());
    if (*n == 0) break;
    count_received(*st, id, source, *n);
    content.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
  if (content.size() != sentinel->size ||
      library::sha256({reinterpret_cast<const std::uint8_t*>(content.data()), content.size()}) !=
          sentinel->chunk_hashes[0])
    co_return failed(FailureKind::corrupt, "version.ini did not match the manifest");
  st->sentinel_content = std::move(content);
  co_return Ended{};
}

// Runs a request's coroutine with its own cancellation signal and reports its end.
void launch(std::shared_ptr<Download::State> st, transfer::RequestId id,
            std::function<awaitable<Ended>()> body) {
  auto& request = st->requests[id];
  request = std::make_unique<Download::State::Request>();
  ++st->busy;
  asio::co_spawn(
      st->job.net,
      [st, id, r = request.get(), body = std::move(body)]() -> awaitable<void> {
        // A cancelled request returns from its waits with an error; it must not throw.
        co_await asio::this_coro::throw_if_cancelled(false);
        r->started = true;
        const Ended e = r->cancel_pending ? cancelled() : co_await body();
        const auto now = Clock::now();
        switch (e.how) {
          case Ended::How::done:
            st->session.request_done(id, now);
            break;
          case Ended::How::failed:
            st->session.request_failed(id, e.kind, e.detail, now);
            break;
          case Ended::How::local:
            if (!st->local_error) st->local_error = e.ec;
            st->session.local_error(e.detail, now);
            break;
          case Ended::How::cancelled:
            break;
        }
      },
      asio::bind_cancellation_slot(request->signal.slot(), [st, id](std::exception_ptr ex) {
        if (ex) {
          st->session.request_failed(id, FailureKind::error, "the request failed unexpectedly",
                                     Clock::now());
        }
        // The signal must outlive the operation, which is still unwinding: let go later.
        asio::post(st->job.net, [st, id] {
          st->requests.erase(id);
          --st->busy;
          st->flush();
        });
      }));
}

}  // namespace

void Download::State::start_chunk(const transfer::FetchChunk& a) {
  launch(shared_from_this(), a.id,
         [st = shared_from_this(), a] { return fetch_chunk(st, a.id, a.source, a.chunk); });
}

void Download::State::start_sentinel(const transfer::FetchSentinel& a) {
  launch(shared_from_this(), a.id,
         [st = shared_from_this(), a] { return fetch_sentinel(st, a.id, a.source); });
}

void Download::State::seal(const transfer::SealChunk& a) {
  ++busy;
  asio::post(job.disk, [st = shared_from_this(), a]() mutable {
    const transfer::Piece& piece = st->pieces[a.chunk];
    bool intact = true;
    {
      ChunkGuard& guard = *st->guards[a.chunk];
      std::lock_guard lock(guard.mutex);
      for (std::size_t i = 0; intact && !guard.sealed && a.recheck && i < piece.count; ++i) {
        // Another request wrote into this piece too: what counts is what is on disk now.
        const ChunkRef& c = st->chunks[piece.first + i];
        auto file = st->files->acquire(st->job.manifest.files[c.file].path);
        auto h = file ? library::hash_range(file->fd(), c.offset, c.length)
                      : boost::system::result<proto::Sha256>(file.error());
        intact = h && *h == c.hash;
      }
      if (intact) guard.sealed = true;
    }
    auto net = st->job.net;  // the state is handed over whole to the network thread
    asio::post(net, [st = std::move(st), id = a.id, chunk = a.chunk, intact] {
      --st->busy;
      // Sealed: its bytes on disk are final, so other peers may have them now.
      if (intact && st->partial) {
        const transfer::Piece& piece = st->pieces[chunk];
        for (std::size_t i = piece.first; i < piece.first + piece.count; ++i)
          st->partial->verified.set(st->global_of[i]);
      }
      st->session.chunk_sealed(id, intact, Clock::now());
      st->flush();
    });
  });
}

}  // namespace lanspread::runtime
