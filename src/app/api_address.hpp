// The local API's address as a person writes it: "127.0.0.1:7878", "[::1]:7878",
// "localhost:7878". Shared by the daemon (where to listen) and the CLI (where to connect).
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <optional>
#include <string>

namespace lanspread::app {

inline constexpr const char* kDefaultApiAddress = "127.0.0.1:7878";

// The endpoint, or nullopt when `text` is not ADDRESS:PORT ("localhost" means 127.0.0.1).
std::optional<boost::asio::ip::tcp::endpoint> parse_api_address(const std::string& text);

// How the endpoint is named in a URL or a Host header: "127.0.0.1:7878", "[::1]:7878".
std::string host_and_port(const boost::asio::ip::tcp::endpoint& endpoint);

}  // namespace lanspread::app
