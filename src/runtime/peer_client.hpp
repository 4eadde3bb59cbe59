// The requesting side of lanspread/1: one request per stream, bounded in time and size.
#pragma once

#include "proto/messages.hpp"
#include "transport/endpoint.hpp"

#include <chrono>

namespace lanspread::runtime {

// Sends `request` and returns the peer's answer (which may be an Error message). Fails on
// transport errors, on a malformed or mismatched answer, and after `timeout`.
boost::asio::awaitable<boost::system::result<proto::Response>> request(
    std::shared_ptr<transport::Connection> conn, proto::Request request,
    std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace lanspread::runtime
