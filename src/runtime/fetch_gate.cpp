#include "runtime/fetch_gate.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace lanspread::runtime {
namespace asio = boost::asio;

asio::awaitable<FetchGate::Permit> FetchGate::acquire() {
  if (running_ < limit_ && waiters_.empty()) {
    ++running_;
    co_return Permit(this);
  }
  auto me = std::make_shared<Waiter>(ex_);
  waiters_.push_back(me);
  boost::system::error_code ec;
  co_await me->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  // A granted slot is ours even if a cancel arrived meanwhile: the permit gives it back.
  if (me->granted) co_return Permit(this);
  std::erase(waiters_, me);
  throw boost::system::system_error(asio::error::operation_aborted);
}

void FetchGate::release() {
  // The slot passes straight to the first waiter, so `running_` stays the same.
  if (waiters_.empty()) {
    --running_;
    return;
  }
  auto next = waiters_.front();
  waiters_.pop_front();
  next->granted = true;
  next->timer.cancel();
}

}  // namespace lanspread::runtime
