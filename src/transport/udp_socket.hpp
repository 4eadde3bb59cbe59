// A non-blocking UDP socket with what QUIC wants from the kernel: large buffers, the local
// address of each datagram (IP_PKTINFO), ECN bits, GSO on send (UDP_SEGMENT, dropped on
// EIO) and GRO on receive (UDP_GRO). Plain POSIX calls; the endpoint waits for readiness
// through Asio.
#pragma once

#include "transport/address.hpp"
#include "transport/error.hpp"

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace lanspread::transport {

struct SocketStats {
  int rcvbuf = 0;  // bytes the kernel granted
  int sndbuf = 0;
  bool gso = false;
  bool gro = false;
};

struct ReceivedDatagram {
  Path path;
  unsigned ecn = 0;
  std::span<const std::uint8_t> data;  // one datagram (GRO batches are split)
};

class UdpSocket {
 public:
  UdpSocket() = default;
  UdpSocket(UdpSocket&& o) noexcept;
  UdpSocket& operator=(UdpSocket&& o) noexcept;
  ~UdpSocket();

  // Binds to `address` (port 0 picks one). `buffer_bytes` is asked for SO_RCVBUF/SO_SNDBUF.
  static result<UdpSocket> open(const Address& address, int buffer_bytes);

  int fd() const { return fd_; }
  const Address& local_address() const { return local_; }
  const SocketStats& stats() const { return stats_; }
  // True once after a receive failed for want of kernel memory (ENOMEM, ENOBUFS): the
  // socket may stay readable, so the caller pauses instead of spinning.
  bool take_starved() { return std::exchange(starved_, false); }

  enum class SendResult { sent, would_block, failed };
  // Sends `data` to path.remote as datagrams of `segment_size` bytes (the last may be
  // shorter). The source address is chosen by the kernel (bind to pick one).
  SendResult send(const Path& path, unsigned ecn, std::span<const std::uint8_t> data,
                  std::size_t segment_size);

  // Receives what is queued, up to `max` datagrams, calling `f(ReceivedDatagram)` for each.
  // Returns the number received; 0 when nothing is waiting.
  template <class F>
  std::size_t receive(std::size_t max, F&& f) {
    std::size_t n = 0;
    while (n < max) {
      const std::size_t got = receive_one([&](const ReceivedDatagram& d) {
        f(d);
        ++n;
      });
      if (got == 0) break;
    }
    return n;
  }

 private:
  template <class F>
  std::size_t receive_one(F&& f);
  std::size_t receive_raw(Address& remote, Address& local, unsigned& ecn, std::size_t& gro_size);

  int fd_ = -1;
  Address local_;
  SocketStats stats_;
  bool starved_ = false;
  std::vector<std::uint8_t> rx_buffer_ = std::vector<std::uint8_t>(64 * 1024);
};

template <class F>
std::size_t UdpSocket::receive_one(F&& f) {
  ReceivedDatagram d;
  std::size_t gro_size = 0;
  const std::size_t len = receive_raw(d.path.remote, d.path.local, d.ecn, gro_size);
  if (len == 0) return 0;
  const std::size_t seg = gro_size ? gro_size : len;
  for (std::size_t off = 0; off < len; off += seg) {
    d.data = std::span<const std::uint8_t>(rx_buffer_.data() + off, std::min(seg, len - off));
    f(d);
  }
  return 1;
}

}  // namespace lanspread::transport
