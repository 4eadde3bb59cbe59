// The version.ini sentinel transaction of a download (the reference's step 6): the old
// version.ini is parked as .version.ini.discarded before any payload byte changes, so an
// interrupted download never looks downloaded; the new one is committed last, atomically.
// Blocking: run on the disk pool.
#pragma once

#include "transfer/error.hpp"

#include <filesystem>
#include <span>

namespace lanspread::transfer {

class SentinelTransaction {
 public:
  // Parks root/version.ini (if any) as .version.ini.discarded and clears stale temp files.
  static result<SentinelTransaction> begin(const std::filesystem::path& root);

  // Writes `content` to .version.ini.tmp, fsyncs it, renames it to version.ini, fsyncs the
  // root, then drops the parked copy. Call only when every other file is complete.
  result<void> commit(std::span<const std::uint8_t> content);
  // Sweeps .version.ini.tmp and .version.ini.discarded. The old sentinel is NOT restored:
  // the payload may already be a mix of two versions, so the game must not claim either.
  void abort();

 private:
  explicit SentinelTransaction(std::filesystem::path root) : root_(std::move(root)) {}
  std::filesystem::path root_;
};

}  // namespace lanspread::transfer
