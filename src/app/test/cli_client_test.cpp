// The CLI's HTTP/WebSocket client against small servers on loopback that misbehave the ways
// a daemon can: not running, silent, oversized, not JSON, closing the event stream.
#include "app/cli_client.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <functional>
#include <thread>

namespace lanspread::app::cli {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using asio::ip::tcp;
using namespace std::chrono_literals;

// Serves each connection with `handler` on a thread of its own; port 0 on 127.0.0.1.
class TestServer {
 public:
  using Handler = std::function<asio::awaitable<void>(tcp::socket)>;
  explicit TestServer(Handler handler)
      : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        handler_(std::move(handler)) {
    asio::co_spawn(io_, accept(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TestServer() {
    io_.stop();
    thread_.join();
  }
  tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }

 private:
  asio::awaitable<void> accept() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket s =
          co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      asio::co_spawn(io_, handler_(std::move(s)), asio::detached);
    }
  }
  asio::io_context io_;
  tcp::acceptor acceptor_;
  Handler handler_;
  std::thread thread_;
};

// Answers every request with `status` and `body`, after checking what the client sent.
TestServer::Handler answer(unsigned status, std::string body, std::string* seen_auth = nullptr,
                           std::string* seen_host = nullptr) {
  return [=](tcp::socket s) -> asio::awaitable<void> {
    beast::tcp_stream stream(std::move(s));
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    boost::system::error_code ec;
    co_await http::async_read(stream, buf, req, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    if (seen_auth) *seen_auth = std::string(req[http::field::authorization]);
    if (seen_host) *seen_host = std::string(req[http::field::host]);
    http::response<http::string_body> res{static_cast<http::status>(status), 11};
    res.body() = body;
    res.prepare_payload();
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
  };
}

ClientLimits fast() {
  ClientLimits l;
  l.connect_timeout = 500ms;
  l.request_timeout = 500ms;
  l.event_idle_timeout = std::chrono::seconds(2);
  return l;
}

TEST(CliClient, NothingListeningIsDaemonNotRunning) {
  // Guards against a confusing error (or a hang) when the daemon is not started.
  tcp::endpoint free_port;
  {
    asio::io_context io;
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    free_port = a.local_endpoint();
  }
  DaemonClient c(free_port, "127.0.0.1:1", "", fast());
  auto r = c.get("/api/v1/status");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), ClientErrc::daemon_not_running);
  auto e = c.open_events(1);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error(), ClientErrc::daemon_not_running);
}

TEST(CliClient, SendsKeyAndHostAndReadsJson) {
  // Guards against a request the authenticated API refuses (no key, wrong Host).
  std::string auth, host;
  TestServer server(answer(200, R"({"peer_id":"p"})", &auth, &host));
  DaemonClient c(server.endpoint(), "127.0.0.1:7878", "k3y", fast());
  auto r = c.get("/api/v1/status");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->body.at("peer_id").as_string(), "p");
  EXPECT_EQ(auth, "Bearer k3y");
  EXPECT_EQ(host, "127.0.0.1:7878");
}

TEST(CliClient, ErrorAnswersAreValuesWithTheirReason) {
  // Guards against losing the daemon's reason for a refusal (the CLI prints it).
  TestServer server(answer(409, R"({"error":{"code":"refused","message":"nothing is running"}})"));
  DaemonClient c(server.endpoint(), "h", "", fast());
  auto r = c.get("/x");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 409u);
  EXPECT_EQ(r->error_code(), "refused");
  EXPECT_EQ(r->error_message(), "nothing is running");
}

TEST(CliClient, SilentServerTimesOut) {
  // Guards against the CLI hanging forever on a daemon that accepts and never answers.
  TestServer server([](tcp::socket s) -> asio::awaitable<void> {
    asio::steady_timer t(s.get_executor(), 10s);
    boost::system::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  });
  DaemonClient c(server.endpoint(), "h", "", fast());
  const auto start = std::chrono::steady_clock::now();
  auto r = c.get("/api/v1/status");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), ClientErrc::timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(CliClient, OversizedAndMalformedAnswersAreRefused) {
  // Guards against unbounded memory for a huge answer, and against acting on garbage.
  {
    TestServer server(answer(200, std::string(2000, ' ') + "{}"));
    ClientLimits l = fast();
    l.response_body_max = 1000;
    DaemonClient c(server.endpoint(), "h", "", l);
    auto r = c.get("/");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), ClientErrc::bad_answer);
  }
  {
    TestServer server(answer(200, "<html>not json</html>"));
    DaemonClient c(server.endpoint(), "h", "", fast());
    auto r = c.get("/");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), ClientErrc::bad_answer);
  }
}

// A WebSocket server that sends `messages` (one every 300 ms), then closes.
TestServer::Handler event_server(std::vector<std::string> messages, std::string* target) {
  return [=](tcp::socket s) -> asio::awaitable<void> {
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    beast::tcp_stream stream(std::move(s));
    boost::system::error_code ec;
    co_await http::async_read(stream, buf, req, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    if (target) *target = std::string(req.target());
    websocket::stream<beast::tcp_stream> ws(std::move(stream));
    co_await ws.async_accept(req, asio::redirect_error(asio::use_awaitable, ec));
    for (const auto& m : messages) {
      asio::steady_timer t(ws.get_executor(), 300ms);
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      co_await ws.async_write(asio::buffer(m), asio::redirect_error(asio::use_awaitable, ec));
    }
    co_await ws.async_close(websocket::close_code::going_away,
                            asio::redirect_error(asio::use_awaitable, ec));
  };
}

TEST(CliClient, EventStreamWaitsWithDeadlinesAndNoticesTheEnd) {
  // Guards against an event wait that cannot time out (no redraw, no Ctrl-C check), and
  // against missing that the daemon went away.
  std::string target;
  TestServer server(event_server({R"({"seq":7,"type":"peer_count","data":{"count":1}})"}, &target));
  DaemonClient c(server.endpoint(), "h", "", fast());
  auto opened = c.open_events(7);
  ASSERT_TRUE(opened) << opened.error().message();
  EXPECT_EQ(opened->status, 101u);
  auto none = c.next_event(50ms);  // the server waits 300 ms before its event
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  std::optional<boost::json::value> got;
  for (int i = 0; i < 40 && !got; ++i) {
    auto e = c.next_event(100ms);
    ASSERT_TRUE(e) << e.error().message();
    got = *e;
  }
  ASSERT_TRUE(got);
  EXPECT_EQ(got->at("seq").as_int64(), 7);
  EXPECT_EQ(target, "/api/v1/events/ws?since=7");
  boost::system::error_code end;
  for (int i = 0; i < 40 && !end; ++i) {
    auto e = c.next_event(100ms);
    if (!e) end = e.error();
  }
  EXPECT_EQ(end, ClientErrc::stream_closed);
}

TEST(CliClient, DeclinedUpgradeIsAReply) {
  // Guards against a 401 on the event stream shown as a broken connection instead of a
  // key problem the person can fix.
  TestServer server(answer(401, R"({"error":{"code":"unauthorized","message":"send the key"}})"));
  DaemonClient c(server.endpoint(), "h", "", fast());
  auto r = c.open_events(1);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 401u);
  EXPECT_EQ(r->error_code(), "unauthorized");
}

}  // namespace
}  // namespace lanspread::app::cli
