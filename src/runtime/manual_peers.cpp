#include "runtime/manual_peers.hpp"

#include "runtime/error.hpp"
#include "sys/durable_file.hpp"

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>

namespace lanspread::runtime {
namespace {

bool host_name_ok(std::string_view h) {
  if (h.empty() || h.size() > 253 || h.front() == '.' || h.front() == '-') return false;
  return std::all_of(h.begin(), h.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == '_';
  });
}

bool ipv6_literal_ok(std::string_view h) {
  boost::system::error_code ec;
  boost::asio::ip::make_address_v6(std::string(h), ec);
  return !ec;
}

}  // namespace

std::string ManualAddress::text() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

boost::system::result<ManualAddress> parse_manual_address(std::string_view text,
                                                          std::uint16_t min_port,
                                                          std::string& why) {
  auto refuse = [&](std::string message) -> boost::system::result<ManualAddress> {
    why = std::move(message);
    return make_error_code(errc::bad_address);
  };
  if (text.empty() || text.size() > 300)
    return refuse("expected HOST or HOST:PORT, e.g. 192.168.1.20:7979");
  ManualAddress out;
  std::string_view host = text;
  std::string_view port;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return refuse("'[' without ']' in " + std::string(text));
    host = text.substr(1, close - 1);
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return refuse("expected ':PORT' after ']' in " + std::string(text));
      port = rest.substr(1);
      if (port.empty()) return refuse("empty port in " + std::string(text));
    }
    if (!ipv6_literal_ok(host)) return refuse("'" + std::string(host) + "' is not an IPv6 address");
  } else if (std::count(text.begin(), text.end(), ':') > 1) {
    if (!ipv6_literal_ok(text)) return refuse("'" + std::string(text) + "' is not an IPv6 address");
  } else if (const auto colon = text.find(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (port.empty()) return refuse("empty port in " + std::string(text));
  }
  if (text.front() != '[' && std::count(text.begin(), text.end(), ':') <= 1 && !host_name_ok(host))
    return refuse("'" + std::string(host) + "' is not a host name or IP address");
  out.host = std::string(host);
  if (!port.empty()) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value > 65535)
      return refuse("port '" + std::string(port) + "' is not a number from 1 to 65535");
    out.port = static_cast<std::uint16_t>(value);
  }
  if (out.port == 0 || out.port < min_port) {
    return refuse("port " + std::to_string(out.port) +
                  " is refused: peers are dialled only on ports " + std::to_string(min_port) +
                  " and above (lanspread uses 7979 unless told otherwise)");
  }
  return out;
}

namespace {

constexpr std::size_t kMaxStoreBytes = 64 * 1024;

class FilePeerStore final : public ManualPeerStore {
 public:
  explicit FilePeerStore(std::filesystem::path dir) : dir_(std::move(dir)) {}

  sys::result<std::vector<std::string>> load() override {
    std::vector<std::string> out;
    auto text = sys::read_small_file(dir_ / "peers", kMaxStoreBytes);
    if (!text) {
      if (text.error().code == ENOENT) return out;
      return text.error();
    }
    std::size_t start = 0;
    while (start < text->size()) {
      auto end = text->find('\n', start);
      if (end == std::string::npos) end = text->size();
      std::string line = text->substr(start, end - start);
      start = end + 1;
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      if (!line.empty() && line.front() != '#') out.push_back(std::move(line));
    }
    return out;
  }

  sys::result<void> save(const std::vector<std::string>& addresses) override {
    std::string text = "# lanspread manual peers, one HOST:PORT a line (written by the daemon)\n";
    for (const auto& a : addresses) text += a + "\n";
    return sys::write_file_atomic(dir_, "peers", text, {.mode = 0600});
  }

 private:
  std::filesystem::path dir_;
};

}  // namespace

std::shared_ptr<ManualPeerStore> make_file_peer_store(std::filesystem::path dir) {
  return std::make_shared<FilePeerStore>(std::move(dir));
}

}  // namespace lanspread::runtime
