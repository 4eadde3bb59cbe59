#include "runtime/peer_client.hpp"

#include "runtime/error.hpp"

#include "proto/frame.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace lanspread::runtime {
namespace asio = boost::asio;
namespace {

asio::awaitable<boost::system::result<proto::Response>> exchange(
    std::shared_ptr<transport::Connection> conn, proto::Request sent) {
  auto open = co_await send_request(std::move(conn), std::move(sent));
  if (!open) co_return open.error();
  co_return std::move(open->response);
}

}  // namespace

asio::awaitable<boost::system::result<OpenResponse>> send_request(
    std::shared_ptr<transport::Connection> conn, proto::Request sent) {
  auto frame = proto::frame_request(sent);
  if (!frame) co_return frame.error();
  auto s = co_await conn->open_stream();
  if (!s) co_return s.error();
  if (auto w =
          co_await s->write({reinterpret_cast<const std::uint8_t*>(frame->data()), frame->size()});
      !w)
    co_return w.error();
  if (auto f = s->finish(); !f) co_return f.error();
  // The answer is decoded as it arrives: a frame above the cap for `sent` is refused from its
  // header, and a hostile answer at the first byte that breaks a count or size.
  proto::ResponseReader reader(sent);
  std::vector<std::uint8_t> buf(64 * 1024);
  std::vector<std::uint8_t> leftover;
  while (!reader.complete()) {
    auto n = co_await s->read_some(buf);
    if (!n) co_return n.error();
    if (*n == 0) co_return make_error_code(proto::errc::frame_truncated);
    auto used = reader.feed(std::span<const std::uint8_t>(buf.data(), *n));
    if (!used) co_return used.error();
    leftover.assign(buf.begin() + static_cast<std::ptrdiff_t>(*used),
                    buf.begin() + static_cast<std::ptrdiff_t>(*n));
  }
  auto resp = reader.take();
  if (!resp) co_return resp.error();
  co_return OpenResponse{std::move(*s), std::move(*resp), std::move(leftover)};
}

asio::awaitable<boost::system::result<proto::Response>> request(
    std::shared_ptr<transport::Connection> conn, proto::Request req,
    std::chrono::milliseconds timeout) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
  boost::system::error_code ignored;
  auto r = co_await (exchange(std::move(conn), std::move(req)) ||
                     timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored)));
  if (r.index() == 1) co_return make_error_code(errc::timeout);
  co_return std::move(std::get<0>(r));
}

}  // namespace lanspread::runtime
