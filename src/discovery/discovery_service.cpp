#include "discovery/discovery_service.hpp"

#include <boost/asio/post.hpp>

#include <spdlog/spdlog.h>

namespace lanspread::discovery {
namespace {

std::string record_key(unsigned ifindex, bool ipv6, const dns::Record& r) {
  std::string key = std::to_string(ifindex) + (ipv6 ? "/6/" : "/4/") + dns::canonical_key(r.name) +
                    '/' + std::to_string(r.type) + '/';
  const auto rdata = dns::canonical_rdata(r);
  key.append(rdata.begin(), rdata.end());
  return key;
}

}  // namespace

std::shared_ptr<DiscoveryService> DiscoveryService::create(boost::asio::any_io_executor ex,
                                                           Settings settings) {
  return std::shared_ptr<DiscoveryService>(
      new DiscoveryService(std::move(ex), std::move(settings)));
}

DiscoveryService::DiscoveryService(boost::asio::any_io_executor ex, Settings settings)
    : ex_(std::move(ex)),
      settings_(std::move(settings)),
      responder_timer_(ex_),
      browser_timer_(ex_),
      rescan_timer_(ex_) {}

result<void> DiscoveryService::start() {
  if (started_ || stopped_) return {};
  rescan();
  if (links_.empty() && !settings_.wait_for_interface) return errc::no_interface;
  bool any = links_.empty();
  for (const auto& [i, link] : links_) any = any || link.v4 || link.v6;
  if (!any) {
    for (auto& [i, link] : links_) {
      if (link.v4) link.v4->close();
      if (link.v6) link.v6->close();
    }
    links_.clear();
    return errc::socket_setup;
  }
  started_ = true;
  schedule_rescan();
  if (settings_.follow_netlink) {
    std::weak_ptr<DiscoveryService> weak = weak_from_this();
    auto watcher = NetlinkWatcher::open(ex_, settings_.netlink_coalesce, [weak] {
      if (auto self = weak.lock(); self && !self->stopped_) self->rescan();
    });
    if (watcher) {
      netlink_ = *watcher;
      netlink_->start();
    } else {
      spdlog::info("mdns: no rtnetlink ({}); interfaces are rescanned every {} ms",
                   watcher.error().message(), settings_.interface_rescan.count());
    }
  }
  return {};
}

result<void> DiscoveryService::advertise(Advertisement ad) {
  if (responder_) return errc::bad_service;
  if (auto ok = validate(ad); !ok) return ok;
  responder_.emplace(std::move(ad), settings_);
  responder_->start(Clock::now());
  if (browser_) {
    browser_->set_self_id(responder_->advertisement().id);
    browser_->set_self_instance(responder_->instance_name());
  }
  run_responder();
  return {};
}

void DiscoveryService::update_rev(std::uint64_t rev) {
  if (!responder_ || stopped_) return;
  responder_->set_rev(rev, Clock::now());
  run_responder();
}

void DiscoveryService::browse(EventHandler on_event) {
  on_event_ = std::move(on_event);
  if (browser_ || stopped_) return;
  browser_.emplace(settings_, responder_ ? responder_->advertisement().id : std::string());
  if (responder_) browser_->set_self_instance(responder_->instance_name());
  browser_->start(Clock::now());
  run_browser();
}

std::vector<Peer> DiscoveryService::peers() const {
  return browser_ ? browser_->peers() : std::vector<Peer>{};
}

std::vector<NetInterface> DiscoveryService::interfaces() const {
  std::vector<NetInterface> out;
  for (const auto& [i, link] : links_) out.push_back(link.iface);
  return out;
}

std::optional<std::string> DiscoveryService::instance() const {
  if (!responder_) return std::nullopt;
  return responder_->instance_label();
}

void DiscoveryService::schedule_rescan() {
  rescan_timer_.expires_after(settings_.interface_rescan);
  rescan_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->stopped_) return;
    self->rescan();
    self->schedule_rescan();
  });
}

void DiscoveryService::open_sockets(Link& link, bool quiet) {
  std::weak_ptr<DiscoveryService> weak = weak_from_this();
  for (bool v6 : {false, true}) {
    auto& slot = v6 ? link.v6 : link.v4;
    if (slot || (v6 ? link.iface.v6.empty() : link.iface.v4.empty())) continue;
    const unsigned index = link.iface.index;
    auto s = MdnsSocket::open(ex_, link.iface, v6, settings_.port,
                              [weak, index, v6](std::span<const std::uint8_t> data,
                                                const boost::asio::ip::udp::endpoint& from) {
                                if (auto self = weak.lock()) self->on_packet(index, v6, data, from);
                              });
    if (!s) {
      spdlog::log(quiet ? spdlog::level::debug : spdlog::level::warn,
                  "mdns: cannot open an IPv{} socket on {}: {}", v6 ? 6 : 4, link.iface.name,
                  s.error().message());
      continue;
    }
    slot = *s;
    slot->start();
  }
}

void DiscoveryService::rescan() {
  auto current = enumerate_interfaces(settings_.interfaces);
  std::vector<Event> events;
  bool links_changed = false;
  for (auto it = links_.begin(); it != links_.end();) {
    const bool present = std::any_of(current.begin(), current.end(), [&](const NetInterface& i) {
      return i.index == it->first && i.name == it->second.iface.name;
    });
    if (present) {
      ++it;
      continue;
    }
    spdlog::debug("mdns: interface {} went away", it->second.iface.name);
    if (it->second.v4) it->second.v4->close();
    if (it->second.v6) it->second.v6->close();
    if (browser_) {
      auto lost = browser_->drop_interface(it->first);
      events.insert(events.end(), lost.begin(), lost.end());
    }
    it = links_.erase(it);
    links_changed = true;
  }
  bool new_link = false;
  for (auto& iface : current) {
    auto [it, fresh] = links_.try_emplace(iface.index, Link{iface, nullptr, nullptr});
    Link& link = it->second;
    const bool changed = !fresh && !(link.iface == iface);
    if (!fresh && !changed) {
      // A socket that failed before (say, IPv6 while the address was still tentative) is
      // retried on every rescan.
      open_sockets(link, /*quiet=*/true);
      continue;
    }
    link.iface = iface;
    // An IPv6 socket needs an address on the interface; this drops one whose addresses went.
    if (link.v4 && iface.v4.empty()) link.v4->close(), link.v4.reset();
    if (link.v6 && iface.v6.empty()) link.v6->close(), link.v6.reset();
    open_sockets(link);
    spdlog::debug("mdns: using interface {}", iface.name);
    new_link = new_link || fresh;
    links_changed = true;
    if (started_ && responder_ && responder_->running())
      send(link, responder_->announcement(iface));
  }
  emit(std::move(events));
  if (new_link && started_ && browser_) {
    browser_->start(Clock::now());
    run_browser();
  }
  if (links_changed && on_interfaces_changed_) {
    boost::asio::post(ex_, [self = shared_from_this()] {
      if (self->on_interfaces_changed_ && !self->stopped_) self->on_interfaces_changed_();
    });
  }
}

void DiscoveryService::send_on(const std::shared_ptr<MdnsSocket>& s, const dns::Message& m,
                               const boost::asio::ip::udp::endpoint* to,
                               std::function<void()> done) {
  auto bytes = dns::build(m);
  if (!bytes) {
    spdlog::warn("mdns: cannot build a message: {}", bytes.error().message());
    if (done) done();
    return;
  }
  ++stats_.packets_sent;
  auto buffer = std::make_shared<const std::vector<std::uint8_t>>(std::move(*bytes));
  if (to != nullptr) {
    s->send_to(std::move(buffer), *to, std::move(done));
  } else {
    s->send_multicast(std::move(buffer), std::move(done));
  }
}

void DiscoveryService::send(Link& link, const dns::Message& m) {
  if (link.v4) send_on(link.v4, m);
  if (link.v6) send_on(link.v6, m);
}

void DiscoveryService::emit(std::vector<Event> events) {
  if (!on_event_) return;
  for (auto& e : events) {
    // Posted, so a handler may call back into the service (even stop()) safely.
    boost::asio::post(ex_, [self = shared_from_this(), e = std::move(e)] {
      if (self->on_event_) self->on_event_(e);
    });
  }
}

void DiscoveryService::on_packet(unsigned ifindex, bool ipv6, std::span<const std::uint8_t> data,
                                 const boost::asio::ip::udp::endpoint& from) {
  if (stopped_) return;
  ++stats_.packets_received;
  auto it = links_.find(ifindex);
  if (it == links_.end()) return;
  Link& link = it->second;
  auto parsed = dns::parse(data);
  if (!parsed) {
    ++stats_.packets_malformed;
    spdlog::debug("mdns: dropped a packet from {} on {}: {}", from.address().to_string(),
                  link.iface.name, parsed.error().message());
    return;
  }
  const dns::Message& m = *parsed;
  if (m.opcode() != 0) return;
  const auto now = Clock::now();
  if (!m.is_response()) {
    if (!responder_) return;
    if (responder_->check_conflict(m, now)) run_responder();
    const bool legacy = from.port() != settings_.port;
    auto reply = responder_->answer(m, link.iface, legacy);
    if (!reply) return;
    auto& socket = ipv6 ? link.v6 : link.v4;
    if (!socket) return;
    // Probes (queries with proposed records) are defended at once; legacy answers are unicast.
    if (!legacy && m.authorities.empty()) {
      std::erase_if(reply->answers, [&](const dns::Record& r) {
        return recently_multicast(record_key(ifindex, ipv6, r), now);
      });
      if (reply->answers.empty()) return;
    }
    if (!legacy) note_multicast(ifindex, ipv6, *reply, now);
    send_on(socket, *reply, legacy ? &from : nullptr);
    return;
  }
  // RFC 6762 §6: a response not sent from port 5353 is not a multicast DNS response.
  if (from.port() != settings_.port) return;
  if (responder_ && responder_->check_conflict(m, now)) {
    spdlog::info("mdns: name conflict, now advertising as \"{}\"", responder_->instance_label());
    if (browser_) browser_->set_self_instance(responder_->instance_name());
    run_responder();
  }
  if (browser_) {
    emit(browser_->on_response(m, link.iface, now));
    run_browser();
  }
}

bool DiscoveryService::recently_multicast(const std::string& key, Clock::time_point now) const {
  auto it = last_multicast_.find(key);
  // A quarter of the TTL when that is shorter, so refreshes (at 80 % of it) are still answered.
  const auto window = std::min<Clock::duration>(std::chrono::seconds(1), settings_.record_ttl / 4);
  return it != last_multicast_.end() && now - it->second < window;
}

void DiscoveryService::note_multicast(unsigned ifindex, bool ipv6, const dns::Message& m,
                                      Clock::time_point now) {
  for (const auto& r : m.answers) last_multicast_[record_key(ifindex, ipv6, r)] = now;
  // Only our own records are ever noted, but a rename or rev change leaves old keys behind.
  std::erase_if(last_multicast_,
                [&](const auto& kv) { return now - kv.second > std::chrono::seconds(10); });
}

void DiscoveryService::run_responder() {
  if (!responder_ || stopped_) return;
  for (;;) {
    const auto poll = responder_->poll(Clock::now());
    if (poll.step == Responder::Step::probe) {
      for (auto& [i, link] : links_) send(link, responder_->probe(link.iface));
    } else if (poll.step == Responder::Step::announce) {
      const auto now = Clock::now();
      for (auto& [i, link] : links_) {
        const auto m = responder_->announcement(link.iface);
        send(link, m);
        for (bool v6 : {false, true}) note_multicast(i, v6, m, now);
      }
    }
    if (poll.step != Responder::Step::none) continue;
    if (poll.next) {
      responder_timer_.expires_at(*poll.next);
      responder_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
        if (!ec) self->run_responder();
      });
    }
    return;
  }
}

void DiscoveryService::run_browser() {
  if (!browser_ || stopped_) return;
  auto tick = browser_->tick(Clock::now(), interfaces());
  emit(std::move(tick.events));
  for (const auto& q : tick.queries) {
    for (auto& [i, link] : links_) {
      if (q.ifindex == 0 || q.ifindex == i) send(link, q.message);
    }
  }
  if (tick.next) {
    browser_timer_.expires_at(*tick.next);
    browser_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->run_browser();
    });
  }
}

void DiscoveryService::stop(std::function<void()> done) {
  if (stopped_) {
    if (done) boost::asio::post(ex_, std::move(done));
    return;
  }
  stopped_ = true;
  responder_timer_.cancel();
  browser_timer_.cancel();
  rescan_timer_.cancel();
  if (netlink_) netlink_->close();
  on_event_ = nullptr;
  on_interfaces_changed_ = nullptr;
  auto self = shared_from_this();
  // Closes the sockets once the last goodbye has been handed to the kernel.
  auto pending = std::make_shared<std::size_t>(1);
  auto finish = [self, pending, done = std::move(done)]() mutable {
    if (--*pending != 0) return;
    for (auto& [i, link] : self->links_) {
      if (link.v4) link.v4->close();
      if (link.v6) link.v6->close();
    }
    self->links_.clear();
    if (done) boost::asio::post(self->ex_, std::move(done));
  };
  if (responder_ && responder_->announced()) {
    for (auto& [i, link] : links_) {
      const auto goodbye = responder_->announcement(link.iface, true);
      for (auto* s : {&link.v4, &link.v6}) {
        if (!*s) continue;
        ++*pending;
        send_on(*s, goodbye, nullptr, finish);
      }
    }
  }
  finish();
}

}  // namespace lanspread::discovery
