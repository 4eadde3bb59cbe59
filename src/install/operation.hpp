// What every long install-side operation receives from its caller.
//
// Threading: every operation of this module blocks on disk work. Call it from a worker thread,
// never from the network thread. Callbacks run on that worker thread, or on a helper thread
// the operation starts and joins (extraction); they are never called concurrently, and they
// must not block for long (post to the network thread instead).
#pragma once

#include <cstdint>
#include <functional>
#include <stop_token>
#include <string>
#include <string_view>

namespace lanspread::install {

struct Progress {
  std::string_view phase;  // "extracting", "copying", "carrying", "removing"
  std::uint64_t done = 0;  // bytes (or entries while removing) finished so far
  std::uint64_t total = 0;
};

using ProgressFn = std::function<void(const Progress&)>;

// Called with the name of each step just before it runs (and "done" at the end). Production
// leaves it empty; tests use it to stop the operation (or kill the process) at every step.
using StepHook = std::function<void(std::string_view step)>;

struct OperationContext {
  std::stop_token stop;  // cancellation; honoured until the commit point of the operation
  ProgressFn progress;
  StepHook step_hook;
  // Filled on failure: which object failed and what to do, for the user-facing message.
  std::string detail;

  void step(std::string_view name) const {
    if (step_hook) step_hook(name);
  }
  void report(std::string_view phase, std::uint64_t done, std::uint64_t total) const {
    if (progress) progress(Progress{phase, done, total});
  }
};

}  // namespace lanspread::install
