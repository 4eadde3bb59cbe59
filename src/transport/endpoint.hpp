// The QUIC endpoint on Asio: one UDP socket that serves and dials, driven on the network
// thread (the io_context's single thread). Coroutine API:
//
//   auto ep = Endpoint::open(io, bind_address, settings, identity);
//   auto conn = co_await (*ep)->dial(address, peer_id);      // reused per peer
//   auto stream = co_await (*conn)->open_stream();
//   co_await stream->write(bytes); stream->finish();
//   auto n = co_await stream->read_some(buffer);               // 0 = end of stream
//
// Every awaitable honours Asio per-operation cancellation (errc::cancelled). All objects
// belong to the network thread; none may be touched from another thread.
#pragma once

#include "transport/connection_core.hpp"
#include "transport/endpoint_core.hpp"
#include "transport/udp_socket.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <map>
#include <memory>

namespace lanspread::transport {

namespace asio = boost::asio;
template <class T>
using awaitable = asio::awaitable<T>;

class Connection;
class Endpoint;

// Wakes every coroutine waiting on it (single-threaded condition variable).
class Signal {
 public:
  explicit Signal(asio::any_io_executor ex) : timer_(ex, asio::steady_timer::time_point::max()) {}
  // Returns false when the waiting operation itself was cancelled.
  awaitable<bool> wait();
  void notify() { timer_.cancel(); }

 private:
  asio::steady_timer timer_;
};

class Stream {
 public:
  Stream(std::shared_ptr<Connection> conn, std::int64_t id);
  Stream(Stream&&) noexcept = default;
  Stream& operator=(Stream&&) noexcept = default;
  // Releases the stream; one not finished in both directions is reset.
  ~Stream();

  std::int64_t id() const { return id_; }
  // Reads what is available, waiting for at least one byte; 0 means end of stream.
  awaitable<result<std::size_t>> read_some(std::span<std::uint8_t> out);
  // Reads exactly out.size() bytes (errc::stream_closed if the stream ends first).
  awaitable<result<void>> read_exact(std::span<std::uint8_t> out);
  // Returns once all bytes are in the stream's send buffer (back-pressure when it is full).
  awaitable<result<void>> write(std::span<const std::uint8_t> data);
  // Waits until send room for up to `want` bytes is reserved for this stream's next writes;
  // returns the room (1..want). Lets a writer produce data only once it can be queued. A
  // stream that gets no room within the send-stall timeout is reset (errc::stream_reset).
  awaitable<result<std::size_t>> reserve(std::size_t want);
  result<void> finish();
  // Sends this stream's data after the connection's ordinary streams, one sequential stream
  // at a time, oldest first (ConnectionCore::stream_set_sequential).
  void set_sequential();
  void reset(std::uint64_t app_code);
  std::uint64_t reset_code() const;

 private:
  std::shared_ptr<Connection> conn_;
  std::int64_t id_ = -1;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Endpoint& ep, ConnectionCore* core);
  ~Connection();

  const std::string& peer_id() const { return peer_id_; }
  const Address& remote() const { return remote_; }
  bool is_open() const { return core_ != nullptr && !core_->is_closing(); }
  boost::system::error_code close_reason() const { return reason_; }

  awaitable<result<Stream>> open_stream();
  // The next stream the peer opened.
  awaitable<result<Stream>> accept_stream();
  void close(std::uint64_t app_code = kAppNoError);

 private:
  friend class Endpoint;
  friend class Stream;
  struct StreamWaiters {
    explicit StreamWaiters(asio::any_io_executor ex) : readable(ex), writable(ex) {}
    Signal readable;
    Signal writable;
  };
  StreamWaiters& waiters(std::int64_t id);
  void on_events(std::vector<CoreEvent> events);
  void on_closed();
  void kick();  // something changed: flush and re-arm the timer

  Endpoint* ep_;
  ConnectionCore* core_;
  std::string peer_id_;
  Address remote_;
  boost::system::error_code reason_;
  Signal state_changed_;  // established, closed, streams available
  Signal incoming_signal_;
  std::deque<std::int64_t> incoming_;
  std::map<std::int64_t, std::unique_ptr<StreamWaiters>> waiters_;
  asio::steady_timer timer_;
  Timestamp armed_ = kNever;
  bool accepted_ = false;  // server side, handed out by accept() already
  bool kick_pending_ = false;
  std::string dialled_peer_id_;
};

class Endpoint : public std::enable_shared_from_this<Endpoint> {
 public:
  static result<std::shared_ptr<Endpoint>> open(asio::io_context& io, const Address& bind,
                                                TransportSettings settings,
                                                std::shared_ptr<const Identity> identity);
  ~Endpoint();

  const Address& local_address() const { return socket_.local_address(); }
  const SocketStats& socket_stats() const { return socket_.stats(); }
  const Identity& identity() const { return core_.identity(); }
  std::size_t connection_count() const { return connections_.size(); }
  const ConnectionSlots& slots() const { return core_.slots(); }
  const SendBudget& send_budget() const { return core_.send_budget(); }

  // A connection to `peer_id` at `address`: an open one is reused, else a new handshake.
  // An empty `peer_id` accepts whatever certificate the server shows (an address a local user
  // typed, whose id is not known yet); Connection::peer_id() then says which id it proved.
  awaitable<result<std::shared_ptr<Connection>>> dial(const Address& address, std::string peer_id);
  // The next established incoming connection.
  awaitable<result<std::shared_ptr<Connection>>> accept();
  // Closes every connection (CONNECTION_CLOSE sent) and stops accepting.
  void close();

 private:
  friend class Connection;
  Endpoint(asio::io_context& io, UdpSocket socket, TransportSettings settings,
           std::shared_ptr<const Identity> identity);
  awaitable<void> receive_loop();
  awaitable<void> timer_loop(std::shared_ptr<Connection> conn);
  void drive(Connection& conn);  // events, send, timer, cleanup
  void flush(Connection& conn);
  void send_pending();
  void forget(Connection& conn);
  // Closes evicted connections and wakes writers when the shared budget freed room.
  void after_drive();
  Timestamp now() const;

  asio::io_context& io_;
  UdpSocket socket_;
  asio::posix::stream_descriptor watcher_;  // readiness of socket_'s fd
  EndpointCore core_;
  std::map<ConnectionCore*, std::shared_ptr<Connection>> connections_;
  std::deque<std::shared_ptr<Connection>> accept_queue_;
  Signal accept_signal_;
  // A batch the socket would not take yet (EAGAIN): resent when writable.
  struct Pending {
    Path path;
    unsigned ecn;
    std::vector<std::uint8_t> data;
    std::size_t segment_size;
  };
  std::deque<Pending> pending_;
  bool waiting_writable_ = false;
  bool closed_ = false;
  std::size_t max_segments_ = 1;
};

}  // namespace lanspread::transport
