// libFuzzer target for the mDNS packet parser: any input must parse or fail cleanly, what
// parses must survive a build/parse round trip unchanged, and feeding it to the responder and
// the browser (as a query and as a response) must not crash them.
#include "discovery/browser.hpp"
#include "discovery/dns_message.hpp"
#include "discovery/limits.hpp"
#include "discovery/responder.hpp"

#include <cstdint>
#include <cstdlib>

namespace {

using namespace lanspread::discovery;

NetInterface test_interface() {
  NetInterface i;
  i.name = "eth0";
  i.index = 2;
  i.v4.push_back(boost::asio::ip::make_address_v4("10.0.0.1"));
  i.v6.push_back(boost::asio::ip::make_address_v6("fe80::1"));
  return i;
}

void exercise_cores(const dns::Message& m) {
  static const NetInterface iface = test_interface();
  Settings s;
  const auto t0 = Clock::time_point{} + std::chrono::hours(1);
  Responder r(Advertisement{"fuzz-peer-id", "fuzz", 47000, 1, {}}, s, 1);
  r.start(t0);
  for (int i = 0; i < 20 && !r.running(); ++i) r.poll(t0 + std::chrono::seconds(10 + i));
  (void)r.check_conflict(m, t0);
  if (auto a = r.answer(m, iface, false)) (void)dns::build(*a);
  if (auto a = r.answer(m, iface, true)) (void)dns::build(*a);
  Browser b(s, "fuzz-peer-id", 1);
  b.start(t0);
  dns::Message as_response = m;
  as_response.flags |= dns::kFlagResponse;
  as_response.flags &= static_cast<std::uint16_t>(~0x7800);  // opcode 0
  (void)b.on_response(as_response, iface, t0);
  for (int i = 0; i < 4; ++i) {
    auto tick = b.tick(t0 + std::chrono::seconds(i * 3000), {iface});
    for (const auto& q : tick.queries) (void)dns::build(q.message);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto parsed = dns::parse(std::span<const std::uint8_t>(data, size));
  if (!parsed) return 0;
  auto built = dns::build(*parsed, 2 * kMaxPacketSize);
  if (!built) {
    if (built.error() != errc::message_too_large) std::abort();  // what parses must build
  } else {
    auto again = dns::parse(*built);
    if (!again) {
      if (again.error() != errc::message_too_large) std::abort();
    } else if (!(*again == *parsed)) {
      std::abort();
    }
  }
  exercise_cores(*parsed);
  return 0;
}
