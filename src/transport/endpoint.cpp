#include "transport/endpoint.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

namespace lanspread::transport {
namespace {

constexpr int kSocketBufferBytes = 8 * 1024 * 1024;
constexpr std::size_t kMaxGsoBytes = 64000;
constexpr std::size_t kReceiveBatch = 256;  // datagrams per wake-up before timers get a turn
constexpr std::chrono::milliseconds kStarvedPause{100};  // after ENOMEM/ENOBUFS on receive

std::chrono::steady_clock::time_point to_time_point(Timestamp t) {
  if (t == kNever) return std::chrono::steady_clock::time_point::max();
  return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(t));
}

bool is_wildcard(const Address& a) {
  if (a.storage.ss_family == AF_INET)
    return reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_addr.s_addr == htonl(INADDR_ANY);
  if (a.storage.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a.storage);
    return IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr);
  }
  return false;
}

// The source address the kernel would use towards `remote`, with our port, so that the
// path we give ngtcp2 matches the local address reported on received datagrams.
Address local_for(const Address& bound, const Address& remote) {
  if (!is_wildcard(bound)) return bound;
  Address local = bound;
  const int fd = ::socket(remote.storage.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return bound;
  Address probe;
  probe.len = sizeof probe.storage;
  if (::connect(fd, remote.sa(), remote.len) == 0 &&
      ::getsockname(fd, probe.sa(), &probe.len) == 0) {
    if (probe.storage.ss_family == AF_INET && bound.storage.ss_family == AF_INET) {
      reinterpret_cast<sockaddr_in*>(&local.storage)->sin_addr =
          reinterpret_cast<sockaddr_in*>(&probe.storage)->sin_addr;
    } else if (probe.storage.ss_family == AF_INET6 && bound.storage.ss_family == AF_INET6) {
      reinterpret_cast<sockaddr_in6*>(&local.storage)->sin6_addr =
          reinterpret_cast<sockaddr_in6*>(&probe.storage)->sin6_addr;
    }
  }
  ::close(fd);
  return local;
}

}  // namespace

// ---- Signal -----------------------------------------------------------------------------

awaitable<bool> Signal::wait() {
  boost::system::error_code ec;
  co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  const auto state = co_await asio::this_coro::cancellation_state;
  co_return state.cancelled() == asio::cancellation_type::none;
}

// ---- Stream -----------------------------------------------------------------------------

Stream::Stream(std::shared_ptr<Connection> conn, std::int64_t id)
    : conn_(std::move(conn)), id_(id) {}

Stream::~Stream() {
  if (!conn_) return;
  if (conn_->core_) conn_->core_->stream_release(id_);
  conn_->waiters_.erase(id_);
  conn_->kick();
}

awaitable<result<std::size_t>> Stream::read_some(std::span<std::uint8_t> out) {
  for (;;) {
    ConnectionCore* core = conn_->core_;
    if (core == nullptr)
      co_return conn_->reason_ ? conn_->reason_ : make_error_code(errc::connection_closed);
    bool fin = false;
    auto r = core->stream_read(id_, out, &fin);
    if (!r) co_return r.error();
    if (*r > 0) {
      conn_->kick();  // flow-control credit may be due
      co_return *r;
    }
    if (fin || out.empty()) co_return std::size_t{0};
    if (!co_await conn_->waiters(id_).readable.wait()) co_return make_error_code(errc::cancelled);
  }
}

awaitable<result<void>> Stream::read_exact(std::span<std::uint8_t> out) {
  while (!out.empty()) {
    auto n = co_await read_some(out);
    if (!n) co_return n.error();
    if (*n == 0) co_return make_error_code(errc::stream_closed);
    out = out.subspan(*n);
  }
  co_return result<void>{};
}

awaitable<result<void>> Stream::write(std::span<const std::uint8_t> data) {
  while (!data.empty()) {
    ConnectionCore* core = conn_->core_;
    if (core == nullptr)
      co_return conn_->reason_ ? conn_->reason_ : make_error_code(errc::connection_closed);
    auto r = core->stream_write(id_, data);
    if (!r) co_return r.error();
    if (*r > 0) {
      data = data.subspan(*r);
      conn_->kick();
      continue;
    }
    if (!co_await conn_->waiters(id_).writable.wait()) co_return make_error_code(errc::cancelled);
  }
  co_return result<void>{};
}

awaitable<result<std::size_t>> Stream::reserve(std::size_t want) {
  for (;;) {
    ConnectionCore* core = conn_->core_;
    if (core == nullptr)
      co_return conn_->reason_ ? conn_->reason_ : make_error_code(errc::connection_closed);
    auto r = core->stream_reserve(id_, want);
    if (!r) co_return r.error();
    if (*r > 0 || want == 0) co_return *r;
    if (!co_await conn_->waiters(id_).writable.wait()) co_return make_error_code(errc::cancelled);
  }
}

result<void> Stream::finish() {
  if (conn_->core_ == nullptr) return conn_->reason_;
  auto r = conn_->core_->stream_finish(id_);
  conn_->kick();
  return r;
}

void Stream::set_sequential() {
  if (conn_->core_ != nullptr) (void)conn_->core_->stream_set_sequential(id_);
}

void Stream::reset(std::uint64_t app_code) {
  if (conn_->core_ == nullptr) return;
  conn_->core_->stream_reset(id_, app_code);
  conn_->kick();
}

std::uint64_t Stream::reset_code() const {
  return conn_->core_ ? conn_->core_->stream_reset_code(id_) : 0;
}

// ---- Connection -------------------------------------------------------------------------

Connection::Connection(Endpoint& ep, ConnectionCore* core)
    : ep_(&ep),
      core_(core),
      peer_id_(core->peer_id()),
      state_changed_(ep.io_.get_executor()),
      incoming_signal_(ep.io_.get_executor()),
      timer_(ep.io_) {}

Connection::~Connection() = default;

Connection::StreamWaiters& Connection::waiters(std::int64_t id) {
  auto& w = waiters_[id];
  if (!w) w = std::make_unique<StreamWaiters>(ep_->io_.get_executor());
  return *w;
}

void Connection::on_events(std::vector<CoreEvent> events) {
  for (const auto& e : events) {
    switch (e.kind) {
      case CoreEvent::handshake_done:
        peer_id_ = core_->peer_id();
        state_changed_.notify();
        if (core_->is_server() && !accepted_) {
          accepted_ = true;
          ep_->accept_queue_.push_back(shared_from_this());
          ep_->accept_signal_.notify();
        }
        break;
      case CoreEvent::stream_opened:
        incoming_.push_back(e.stream_id);
        incoming_signal_.notify();
        break;
      case CoreEvent::stream_readable:
        if (auto it = waiters_.find(e.stream_id); it != waiters_.end())
          it->second->readable.notify();
        break;
      case CoreEvent::stream_writable:
        if (auto it = waiters_.find(e.stream_id); it != waiters_.end())
          it->second->writable.notify();
        break;
      case CoreEvent::stream_closed:
        if (auto it = waiters_.find(e.stream_id); it != waiters_.end()) {
          it->second->readable.notify();
          it->second->writable.notify();
        }
        break;
      case CoreEvent::streams_available:
        state_changed_.notify();
        break;
      case CoreEvent::closed:
        reason_ = core_->close_reason();
        on_closed();
        break;
    }
  }
}

void Connection::on_closed() {
  state_changed_.notify();
  incoming_signal_.notify();
  for (auto& [id, w] : waiters_) {
    w->readable.notify();
    w->writable.notify();
  }
}

void Connection::kick() {
  if (kick_pending_ || core_ == nullptr) return;
  kick_pending_ = true;
  // Coalesce: many writes or reads in one turn of the loop cause one flush.
  asio::post(ep_->io_, [self = shared_from_this()] {
    self->kick_pending_ = false;
    if (self->core_) self->ep_->drive(*self);
    self->ep_->after_drive();
  });
}

awaitable<result<Stream>> Connection::open_stream() {
  for (;;) {
    if (core_ == nullptr) co_return reason_ ? reason_ : make_error_code(errc::connection_closed);
    auto id = core_->open_stream();
    if (id) co_return Stream(shared_from_this(), *id);
    if (id.error() != errc::stream_limit) co_return id.error();
    if (!co_await state_changed_.wait()) co_return make_error_code(errc::cancelled);
  }
}

awaitable<result<Stream>> Connection::accept_stream() {
  for (;;) {
    if (!incoming_.empty()) {
      const std::int64_t id = incoming_.front();
      incoming_.pop_front();
      co_return Stream(shared_from_this(), id);
    }
    if (core_ == nullptr || core_->is_closing()) {
      co_return reason_ ? reason_ : make_error_code(errc::connection_closed);
    }
    if (!co_await incoming_signal_.wait()) co_return make_error_code(errc::cancelled);
  }
}

void Connection::close(std::uint64_t app_code) {
  if (core_ == nullptr) return;
  core_->close(app_code);
  ep_->drive(*this);
}

// ---- Endpoint ---------------------------------------------------------------------------

result<std::shared_ptr<Endpoint>> Endpoint::open(asio::io_context& io, const Address& bind,
                                                 TransportSettings settings,
                                                 std::shared_ptr<const Identity> identity) {
  auto socket = UdpSocket::open(bind, kSocketBufferBytes);
  if (!socket) return socket.error();
  std::shared_ptr<Endpoint> ep(
      new Endpoint(io, std::move(*socket), std::move(settings), std::move(identity)));
  asio::co_spawn(io, ep->receive_loop(), asio::detached);
  return ep;
}

Endpoint::Endpoint(asio::io_context& io, UdpSocket socket, TransportSettings settings,
                   std::shared_ptr<const Identity> identity)
    : io_(io),
      socket_(std::move(socket)),
      watcher_(io, socket_.fd()),
      core_(std::move(settings), std::move(identity)),
      accept_signal_(io.get_executor()) {
  // 1252 bytes is ngtcp2's default payload; GSO batches stay under 64 KB.
  max_segments_ = socket_.stats().gso ? kMaxGsoBytes / 1500 : 1;
  max_segments_ = std::max<std::size_t>(max_segments_, 16);
}

Endpoint::~Endpoint() {
  watcher_.release();  // the fd belongs to socket_
}

Timestamp Endpoint::now() const {
  return static_cast<Timestamp>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                    std::chrono::steady_clock::now().time_since_epoch())
                                    .count());
}

awaitable<void> Endpoint::receive_loop() {
  auto self = shared_from_this();
  std::vector<Connection*> touched;
  std::vector<StatelessPacket> stateless;
  while (!closed_ || !connections_.empty()) {
    boost::system::error_code ec;
    co_await watcher_.async_wait(asio::posix::descriptor_base::wait_read,
                                 asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (closed_) break;
      continue;
    }
    touched.clear();
    const Timestamp t = now();
    socket_.receive(kReceiveBatch, [&](const ReceivedDatagram& d) {
      stateless.clear();
      const auto r = core_.on_datagram(d.path, d.ecn, d.data, t, stateless);
      for (const auto& p : stateless) socket_.send(p.path, 0, p.data, p.data.size());
      if (r.connection == nullptr) return;
      auto it = connections_.find(r.connection);
      if (it == connections_.end()) {
        auto conn = std::make_shared<Connection>(*this, r.connection);
        it = connections_.emplace(r.connection, conn).first;
        asio::co_spawn(io_, timer_loop(conn), asio::detached);
      }
      if (std::find(touched.begin(), touched.end(), it->second.get()) == touched.end())
        touched.push_back(it->second.get());
    });
    for (Connection* c : touched) {
      if (auto it = connections_.find(c->core_); c->core_ && it != connections_.end()) {
        auto keep = it->second;
        drive(*keep);
      }
    }
    after_drive();
    if (socket_.take_starved()) {
      // Out of kernel memory: the socket stays readable; pause rather than spin.
      asio::steady_timer pause(io_, kStarvedPause);
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }
}

awaitable<void> Endpoint::timer_loop(std::shared_ptr<Connection> conn) {
  while (conn->core_ != nullptr) {
    boost::system::error_code ec;
    co_await conn->timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (conn->core_ == nullptr) break;
    if (ec == asio::error::operation_aborted) continue;  // re-armed
    conn->armed_ = kNever;
    const Timestamp t = now();
    if (conn->core_->expiry() <= t) conn->core_->on_expiry(t);
    drive(*conn);
    after_drive();
  }
}

void Endpoint::drive(Connection& conn) {
  if (conn.core_ == nullptr) return;
  conn.on_events(conn.core_->take_events());
  flush(conn);
  core_.sync_ids(conn.core_);
  if (conn.core_->is_closed()) {
    forget(conn);
    return;
  }
  // Re-arm only for an earlier deadline: a later one is found when the timer fires early,
  // which is cheaper than cancelling the wait on every drive.
  const Timestamp t = conn.core_->expiry();
  if (t < conn.armed_) {
    conn.armed_ = t;
    conn.timer_.expires_at(to_time_point(t));  // wakes timer_loop, which waits anew
  }
}

void Endpoint::after_drive() {
  std::vector<std::shared_ptr<Connection>> evicted;
  for (ConnectionCore* core : core_.take_evicted()) {
    if (auto it = connections_.find(core); it != connections_.end()) evicted.push_back(it->second);
  }
  for (auto& conn : evicted) drive(*conn);
  if (!core_.take_budget_released()) return;
  bool left = false;
  for (auto& [core, conn] : connections_) {
    if (core->wake_budget_waiters(&left)) conn->kick();
  }
  core_.settle_budget(left);
}

void Endpoint::flush(Connection& conn) {
  if (!pending_.empty()) return;  // socket full: send_pending() resumes everyone
  for (;;) {
    const TxBatch b = conn.core_->write_batch(now(), max_segments_);
    if (b.data.empty()) break;
    if (socket_.send(b.path, b.ecn, b.data, b.segment_size) == UdpSocket::SendResult::would_block) {
      pending_.push_back({b.path, b.ecn, {b.data.begin(), b.data.end()}, b.segment_size});
      send_pending();
      break;
    }
  }
  conn.on_events(conn.core_->take_events());
}

void Endpoint::send_pending() {
  while (!pending_.empty()) {
    const Pending& p = pending_.front();
    if (socket_.send(p.path, p.ecn, p.data, p.segment_size) == UdpSocket::SendResult::would_block)
      break;
    pending_.pop_front();
  }
  if (pending_.empty() || waiting_writable_) return;
  waiting_writable_ = true;
  watcher_.async_wait(asio::posix::descriptor_base::wait_write,
                      [self = shared_from_this()](const boost::system::error_code&) {
                        self->waiting_writable_ = false;
                        self->send_pending();
                        if (!self->pending_.empty()) return;
                        std::vector<std::shared_ptr<Connection>> all;
                        for (auto& [c, conn] : self->connections_) all.push_back(conn);
                        for (auto& conn : all) self->drive(*conn);
                      });
}

void Endpoint::forget(Connection& conn) {
  auto keep = conn.shared_from_this();
  if (!conn.reason_) conn.reason_ = conn.core_->close_reason();
  ConnectionCore* core = conn.core_;
  conn.core_ = nullptr;
  connections_.erase(core);
  core_.remove(core);
  conn.timer_.cancel();
  conn.on_closed();
  if (closed_ && connections_.empty()) watcher_.cancel();
}

awaitable<result<std::shared_ptr<Connection>>> Endpoint::dial(const Address& address,
                                                              std::string peer_id) {
  if (closed_) co_return make_error_code(errc::connection_refused);
  std::shared_ptr<Connection> conn;
  for (auto& [core, c] : connections_) {
    // A dial that takes any identity reuses only a connection to the same address.
    if (c->dialled_peer_id_ == peer_id && c->is_open() &&
        (!peer_id.empty() || c->remote_ == address)) {
      conn = c;
      break;
    }
  }
  if (!conn) {
    const Path path{local_for(socket_.local_address(), address), address};
    auto core = core_.connect(path, peer_id, now());
    if (!core) co_return core.error();
    conn = std::make_shared<Connection>(*this, *core);
    conn->dialled_peer_id_ = peer_id;
    conn->remote_ = address;
    connections_.emplace(*core, conn);
    asio::co_spawn(io_, timer_loop(conn), asio::detached);
    drive(*conn);
  }
  for (;;) {
    if (conn->core_ == nullptr || conn->core_->is_closing()) {
      co_return conn->reason_ ? conn->reason_ : make_error_code(errc::connection_closed);
    }
    if (conn->core_->established()) co_return conn;
    if (!co_await conn->state_changed_.wait()) co_return make_error_code(errc::cancelled);
  }
}

awaitable<result<std::shared_ptr<Connection>>> Endpoint::accept() {
  for (;;) {
    if (!accept_queue_.empty()) {
      auto conn = accept_queue_.front();
      accept_queue_.pop_front();
      co_return conn;
    }
    if (closed_) co_return make_error_code(errc::connection_refused);
    if (!co_await accept_signal_.wait()) co_return make_error_code(errc::cancelled);
  }
}

void Endpoint::close() {
  if (closed_) return;
  closed_ = true;
  core_.stop_accepting();
  accept_signal_.notify();
  std::vector<std::shared_ptr<Connection>> all;
  for (auto& [c, conn] : connections_) all.push_back(conn);
  for (auto& conn : all) conn->close(kAppShuttingDown);
  if (connections_.empty()) watcher_.cancel();
}

}  // namespace lanspread::transport
