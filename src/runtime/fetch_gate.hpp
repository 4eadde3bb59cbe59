// A budget of requests of one kind that may run at once across all peers (manifest fetches,
// game-list refreshes), so that many peers at once cannot make this runtime decode many large
// answers together. Further requests wait in arrival order. Network thread only.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstddef>
#include <deque>
#include <memory>

namespace lanspread::runtime {

class FetchGate {
 public:
  // Held while the request runs; its slot goes to the next waiter when it is destroyed.
  class Permit {
   public:
    Permit() = default;
    explicit Permit(FetchGate* gate) : gate_(gate) {}
    Permit(Permit&& o) noexcept : gate_(std::exchange(o.gate_, nullptr)) {}
    Permit& operator=(Permit&& o) noexcept {
      if (this != &o) {
        release();
        gate_ = std::exchange(o.gate_, nullptr);
      }
      return *this;
    }
    ~Permit() { release(); }

   private:
    void release() {
      if (gate_) std::exchange(gate_, nullptr)->release();
    }
    FetchGate* gate_ = nullptr;
  };

  FetchGate(boost::asio::any_io_executor ex, std::size_t limit)
      : ex_(std::move(ex)), limit_(limit == 0 ? 1 : limit) {}
  FetchGate(const FetchGate&) = delete;
  FetchGate& operator=(const FetchGate&) = delete;

  // Waits for a slot. A waiter whose coroutine is cancelled leaves the queue (throwing
  // operation_aborted) without taking one. The gate must outlive its permits.
  boost::asio::awaitable<Permit> acquire();

  std::size_t running() const noexcept { return running_; }
  std::size_t waiting() const noexcept { return waiters_.size(); }
  std::size_t limit() const noexcept { return limit_; }

 private:
  struct Waiter {
    explicit Waiter(boost::asio::any_io_executor ex)
        : timer(std::move(ex), boost::asio::steady_timer::time_point::max()) {}
    boost::asio::steady_timer timer;
    bool granted = false;
  };
  void release();

  boost::asio::any_io_executor ex_;
  std::size_t limit_;
  std::size_t running_ = 0;
  std::deque<std::shared_ptr<Waiter>> waiters_;
};

}  // namespace lanspread::runtime
