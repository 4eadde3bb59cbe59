// The requesting side of lanspread/1: one request per stream, bounded in time and size.
#pragma once

#include "proto/messages.hpp"
#include "transport/endpoint.hpp"

#include <chrono>
#include <vector>

namespace lanspread::runtime {

// A request whose answer frame has arrived: for FileData the raw bytes follow on `stream`,
// starting with `leftover` (bytes read past the frame).
struct OpenResponse {
  transport::Stream stream;
  proto::Response response;
  std::vector<std::uint8_t> leftover;
};

// Sends `request` on a new stream of `conn` and reads the answer frame (which may be an
// Error message). No timeout: callers bound it (request() below, or the download's stalls).
boost::asio::awaitable<boost::system::result<OpenResponse>> send_request(
    std::shared_ptr<transport::Connection> conn, proto::Request request);

// Sends `request` and returns the peer's answer (which may be an Error message). Fails on
// transport errors, on a malformed or mismatched answer, and after `timeout`.
boost::asio::awaitable<boost::system::result<proto::Response>> request(
    std::shared_ptr<transport::Connection> conn, proto::Request request,
    std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace lanspread::runtime
