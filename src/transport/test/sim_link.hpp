// A simulated network for the sans-IO transport core: two or more endpoints, a virtual
// clock, per-link latency, loss and reordering. Deterministic for a given seed.
#pragma once

#include "transport/endpoint_core.hpp"

#include <gtest/gtest.h>

#include <netinet/in.h>

#include <algorithm>
#include <functional>
#include <random>
#include <vector>

namespace lanspread::transport::testing {

inline Address loopback_address(std::uint16_t port) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(port);
  in.sin_addr.s_addr = htonl(0x7f000001);
  return Address::from(reinterpret_cast<const sockaddr*>(&in), sizeof in);
}

class SimNet {
 public:
  struct Node {
    EndpointCore* endpoint;
    Address address;
  };

  explicit SimNet(std::uint32_t seed = 1) : rng_(seed) {}

  Timestamp now = 1'000'000'000;
  Timestamp latency = 500'000;  // 0.5 ms one way
  Timestamp jitter = 0;         // extra random delay up to this: reorders packets
  double loss = 0.0;            // probability a datagram is dropped
  bool blackhole = false;       // drop everything (peer vanished)
  std::uint64_t delivered = 0;
  std::uint64_t dropped = 0;

  std::size_t add(EndpointCore& ep, std::uint16_t port) {
    nodes_.push_back({&ep, loopback_address(port)});
    return nodes_.size() - 1;
  }
  const Address& address(std::size_t node) const { return nodes_[node].address; }
  Path path_from(std::size_t from, std::size_t to) const {
    return Path{nodes_[from].address, nodes_[to].address};
  }

  // Runs until `done` is true or `limit` virtual nanoseconds have passed; returns done().
  bool run_until(const std::function<bool()>& done, Timestamp limit = 30'000'000'000ULL) {
    const Timestamp end = now + limit;
    while (!done()) {
      flush_all();
      Timestamp next = end;
      for (const auto& f : in_flight_) next = std::min(next, f.at);
      for (auto& n : nodes_)
        for (auto* c : n.endpoint->connections()) next = std::min(next, c->expiry());
      if (next >= end) {
        now = end;
        return done();
      }
      now = std::max(now, next);
      deliver_due();
      for (auto& n : nodes_) {
        for (auto* c : n.endpoint->connections()) {
          if (c->expiry() <= now) c->on_expiry(now);
        }
      }
      on_step();
    }
    flush_all();
    return true;
  }

  // Hook run after every step (tests drive streams from here).
  std::function<void()> on_step = [] {};

  void flush_all() {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      for (auto* c : nodes_[i].endpoint->connections()) {
        for (;;) {
          TxBatch b = c->write_batch(now, 16);
          if (b.data.empty()) break;
          for (std::size_t off = 0; off < b.data.size(); off += b.segment_size) {
            const std::size_t len = std::min(b.segment_size, b.data.size() - off);
            send(i, b.path, b.data.subspan(off, len));
          }
        }
      }
    }
  }

 private:
  struct InFlight {
    Timestamp at;
    std::size_t to;
    Path path;  // as the receiver sees it
    std::vector<std::uint8_t> data;
  };

  void send(std::size_t from, const Path& path, std::span<const std::uint8_t> data) {
    std::size_t to = nodes_.size();
    for (std::size_t j = 0; j < nodes_.size(); ++j)
      if (nodes_[j].address == path.remote) to = j;
    if (to == nodes_.size()) return;
    if (blackhole || std::uniform_real_distribution<double>(0, 1)(rng_) < loss) {
      ++dropped;
      return;
    }
    Timestamp delay = latency;
    if (jitter) delay += std::uniform_int_distribution<Timestamp>(0, jitter)(rng_);
    in_flight_.push_back({now + delay, to, Path{path.remote, nodes_[from].address},
                          std::vector<std::uint8_t>(data.begin(), data.end())});
  }

  void deliver_due() {
    std::vector<InFlight> due;
    auto it = std::stable_partition(in_flight_.begin(), in_flight_.end(),
                                    [&](const InFlight& f) { return f.at > now; });
    due.assign(std::make_move_iterator(it), std::make_move_iterator(in_flight_.end()));
    in_flight_.erase(it, in_flight_.end());
    std::sort(due.begin(), due.end(), [](const auto& a, const auto& b) { return a.at < b.at; });
    for (auto& f : due) {
      ++delivered;
      std::vector<StatelessPacket> out;
      nodes_[f.to].endpoint->on_datagram(f.path, 0, f.data, now, out);
      for (auto& p : out) send(f.to, p.path, p.data);
    }
  }

  std::mt19937 rng_;
  std::vector<Node> nodes_;
  std::vector<InFlight> in_flight_;
};

inline std::shared_ptr<Identity> make_identity() {
  auto id = Identity::generate();
  EXPECT_TRUE(id);
  return *id;
}

// A client and a server endpoint on one simulated network (node a dials node b).
struct SimPair {
  SimPair(TransportSettings client_settings, TransportSettings server_settings,
          std::uint32_t seed = 1)
      : net(seed),
        client_id(make_identity()),
        server_id(make_identity()),
        client_ep(std::move(client_settings), client_id),
        server_ep(std::move(server_settings), server_id) {
    a = net.add(client_ep, 40001);
    b = net.add(server_ep, 40002);
  }

  ConnectionCore* dial(const std::string& expected) {
    auto c = client_ep.connect(net.path_from(a, b), expected, net.now);
    EXPECT_TRUE(c);
    return c ? *c : nullptr;
  }
  ConnectionCore* server_conn() {
    auto all = server_ep.connections();
    return all.empty() ? nullptr : all.front();
  }

  SimNet net;
  std::shared_ptr<Identity> client_id;
  std::shared_ptr<Identity> server_id;
  EndpointCore client_ep;
  EndpointCore server_ep;
  std::size_t a = 0;
  std::size_t b = 0;
};

}  // namespace lanspread::transport::testing
