#include "runtime/mdns_discovery.hpp"

#include "discovery/discovery_service.hpp"

#include <charconv>

namespace lanspread::runtime {
namespace {

std::vector<transport::Address> addresses_of(const discovery::Peer& p) {
  std::vector<transport::Address> out;
  // IPv4 first: the transport endpoint binds IPv4 by default.
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& a : p.addresses) {
      if ((pass == 0) != a.is_v4()) continue;
      boost::asio::ip::udp::endpoint ep(a, p.port);
      out.push_back(transport::Address::from(ep.data(), static_cast<socklen_t>(ep.size())));
    }
  }
  return out;
}

std::uint64_t rev_of(const discovery::Peer& p) {
  auto it = p.txt.find("rev");
  std::uint64_t rev = 0;
  if (it != p.txt.end())
    std::from_chars(it->second.data(), it->second.data() + it->second.size(), rev);
  return rev;
}

class MdnsDiscovery final : public PeerDiscovery {
 public:
  MdnsDiscovery(boost::asio::any_io_executor ex, discovery::Settings settings)
      : service_(discovery::DiscoveryService::create(std::move(ex), std::move(settings))) {}

  boost::system::result<void> start(const std::string& peer_id, const std::string& name,
                                    std::uint16_t port, std::uint64_t rev,
                                    Handlers handlers) override {
    if (h_changed_ = handlers.changed; h_changed_) {
      service_->on_interfaces_changed([this] {
        if (h_changed_) h_changed_();
      });
    }
    if (auto ok = service_->start(); !ok) return ok.error();
    discovery::Advertisement ad;
    ad.id = peer_id;
    ad.host_label = name;
    ad.port = port;
    ad.rev = rev;
    if (auto ok = service_->advertise(ad); !ok) return ok.error();
    service_->browse([h = std::move(handlers)](const discovery::Event& e) {
      if (const auto* seen = std::get_if<discovery::PeerSeen>(&e)) {
        h.seen(DiscoveredPeer{seen->peer.id, seen->peer.instance, addresses_of(seen->peer),
                              rev_of(seen->peer)});
      } else if (const auto* changed = std::get_if<discovery::PeerChanged>(&e)) {
        h.seen(DiscoveredPeer{changed->peer.id, changed->peer.instance, addresses_of(changed->peer),
                              rev_of(changed->peer)});
      } else if (const auto* lost = std::get_if<discovery::PeerLost>(&e)) {
        h.lost(lost->id);
      }
    });
    return {};
  }

  void update_rev(std::uint64_t rev) override { service_->update_rev(rev); }
  Status status() const override {
    Status s;
    for (const auto& i : service_->interfaces()) s.interfaces.push_back(i.name);
    s.waiting_for_interface = s.interfaces.empty();
    return s;
  }
  void stop(std::function<void()> done) override {
    h_changed_ = nullptr;
    service_->stop(std::move(done));
  }

 private:
  std::function<void()> h_changed_;
  std::shared_ptr<discovery::DiscoveryService> service_;
};

}  // namespace

std::unique_ptr<PeerDiscovery> make_mdns_discovery(boost::asio::any_io_executor executor,
                                                   discovery::Settings settings) {
  return std::make_unique<MdnsDiscovery>(std::move(executor), std::move(settings));
}

}  // namespace lanspread::runtime
