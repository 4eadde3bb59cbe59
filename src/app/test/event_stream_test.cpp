// The WebSocket event stream against a real ApiServer on loopback, with a real Beast client.
#include "app/api_server.hpp"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <future>
#include <thread>

namespace lanspread::app {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;
using asio::ip::tcp;

const std::string kKey(64, '7');

// A daemon's API without a runtime: the server and its state on their own network thread.
class ApiFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = std::make_shared<AppState>(io_.get_executor());
    ApiServerConfig config;
    config.limits = limits();
    config.address = tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0);
    config.key = kKey;
    config.key_path = "/state/api-key";
    auto server = ApiServer::start(io_.get_executor(), config, state_,
                                   [](runtime::PeerCommand, runtime::DecisionFn) {});
    ASSERT_TRUE(server);
    server_ = *server;
    thread_ = std::thread([this] { io_.run(); });
  }
  virtual ApiLimits limits() const { return {}; }

  void TearDown() override {
    on_network_thread([this] { server_->stop(); });
    io_.stop();
    thread_.join();
  }

  // Runs `f` on the server's thread (the event log is not thread-safe) and waits for it.
  template <class F>
  void on_network_thread(F f) {
    std::promise<void> done;
    asio::post(io_, [&] {
      f();
      done.set_value();
    });
    done.get_future().get();
  }

  // The client's receive buffer is small, so a client that does not read stalls the
  // server's writer after a few events.
  websocket::stream<tcp::socket> connect(
      const std::string& target, bool with_key,
      beast::http::response<beast::http::string_body>* res = nullptr) {
    tcp::socket socket(client_io_);
    socket.open(tcp::v4());
    socket.set_option(asio::socket_base::receive_buffer_size(4096));
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
    websocket::stream<tcp::socket> ws(std::move(socket));
    ws.set_option(websocket::stream_base::decorator([with_key](websocket::request_type& req) {
      if (with_key) req.set(beast::http::field::authorization, "Bearer " + kKey);
    }));
    const std::string host = "127.0.0.1:" + std::to_string(server_->port());
    if (res != nullptr) {
      ws.handshake(*res, host, target);
    } else {
      ws.handshake(host, target);
    }
    return ws;
  }

  asio::io_context io_;
  asio::io_context client_io_;
  std::shared_ptr<AppState> state_;
  std::shared_ptr<ApiServer> server_;
  std::thread thread_;
};

constexpr std::uint64_t kFirst = 300;
constexpr std::uint64_t kTotal = 10'300;

// Each event's payload is derived from its number, so a frame built from anything else
// (freed memory, another event) is detected. The first events are large: together (9.6 MB)
// they are more than the sockets can buffer, so the writer is surely blocked in the middle
// of them when the rest arrive.
std::string pad_for(std::uint64_t seq) {
  return std::string(seq <= kFirst ? 32'000 : 2'000, static_cast<char>('a' + seq % 26));
}

TEST_F(ApiFixture, StalledReaderSurvivesTheLogWrappingAround) {
  // Guards against a WebSocket client that stops reading while the event log wraps
  // (4,096 events) receiving frames built from freed memory: the writer held raw pointers
  // into the log across its writes. Under ASan the old code fails here with a
  // heap-use-after-free; the fixed one sends intact events and a `missed` notice.
  auto ws = connect("/api/v1/events/ws?since=1", true);
  auto append = [this](std::uint64_t from, std::uint64_t to) {
    on_network_thread([&] {
      for (std::uint64_t seq = from; seq <= to; ++seq) {
        const std::uint64_t got =
            state_->events.append("test", R"({"pad":")" + pad_for(seq) + R"("})");
        ASSERT_EQ(got, seq);
      }
    });
  };
  append(1, kFirst);  // the writer takes a batch and blocks on the full socket
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  append(kFirst + 1, kTotal);  // meanwhile the log wraps: every event of that batch is dropped
  on_network_thread([&] { EXPECT_LE(state_->events.size(), 4096u); });

  std::uint64_t expected = 1;
  std::uint64_t missed_total = 0;
  std::uint64_t events = 0;
  while (expected <= kTotal) {
    beast::flat_buffer buffer;
    ws.read(buffer);
    const json::value v = json::parse(beast::buffers_to_string(buffer.data()));
    const json::object& o = v.as_object();
    if (o.at("type").as_string() == "missed") {
      const auto count = static_cast<std::uint64_t>(o.at("data").at("count").as_int64());
      ASSERT_GT(count, 0u);
      missed_total += count;
      expected += count;
      continue;
    }
    const auto seq = static_cast<std::uint64_t>(o.at("seq").as_int64());
    ASSERT_EQ(seq, expected) << "events must arrive in order, gaps only where announced";
    ASSERT_EQ(o.at("data").at("pad").as_string(), pad_for(seq)) << "event " << seq;
    ++expected;
    ++events;
  }
  EXPECT_GT(missed_total, 0u) << "the client fell behind the log and must be told so";
  EXPECT_EQ(events + missed_total, kTotal);
  ws.close(websocket::close_code::normal);
}

TEST_F(ApiFixture, WebSocketWithoutKeyIsRefused) {
  // Guards against the event stream bypassing authentication (it leaks the library, the
  // peers and every operation).
  beast::http::response<beast::http::string_body> res;
  EXPECT_THROW(connect("/api/v1/events/ws", false, &res), boost::system::system_error);
  EXPECT_EQ(res.result_int(), 401u);
  EXPECT_NE(res.body().find("unauthorized"), std::string::npos);
}

// The same server with a WebSocket idle limit of one second.
class QuickIdleFixture : public ApiFixture {
 protected:
  ApiLimits limits() const override {
    ApiLimits l;
    l.websocket_idle = std::chrono::seconds(1);
    return l;
  }
};

TEST_F(QuickIdleFixture, SilentClientIsClosed) {
  // Guards against a WebSocket client that never reads nor answers pings holding its slot
  // (and the events of its batch) forever.
  auto ws = connect("/api/v1/events/ws", true);
  on_network_thread([&] { EXPECT_EQ(server_->websocket_count(), 1u); });
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // more than the limit
  std::size_t open = 1;
  on_network_thread([&] { open = server_->websocket_count(); });
  ASSERT_EQ(open, 0u);
  beast::flat_buffer buffer;
  boost::system::error_code ec;
  while (!ec) ws.read(buffer, ec);  // the ping it ignored, then the end
  EXPECT_TRUE(ec);
}

}  // namespace
}  // namespace lanspread::app
