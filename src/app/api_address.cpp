#include "app/api_address.hpp"

#include <charconv>

namespace lanspread::app {

std::optional<boost::asio::ip::tcp::endpoint> parse_api_address(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  const auto addr = boost::asio::ip::make_address(host, ec);
  unsigned port = 0;
  const std::string port_text = text.substr(colon + 1);
  auto [p, perr] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec || perr != std::errc{} || p != port_text.data() + port_text.size() || port > 65535)
    return std::nullopt;
  return boost::asio::ip::tcp::endpoint(addr, static_cast<std::uint16_t>(port));
}

std::string host_and_port(const boost::asio::ip::tcp::endpoint& endpoint) {
  const auto ip = endpoint.address();
  const std::string ip_text = ip.is_v6() ? "[" + ip.to_string() + "]" : ip.to_string();
  return ip_text + ":" + std::to_string(endpoint.port());
}

}  // namespace lanspread::app
