// SHA-256 of file chunks. Uses GnuTLS's digest, which runs on the CPU's SHA extensions
// (SHA-NI) where present. All functions block on disk IO: call them on a worker thread.
#pragma once

#include "proto/messages.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <memory>
#include <span>

namespace lanspread::library {

// Incremental SHA-256.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;

  void update(std::span<const std::uint8_t> bytes);
  // Returns the digest and resets the stream for reuse.
  proto::Sha256 finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

proto::Sha256 sha256(std::span<const std::uint8_t> bytes);

// Hashes `length` bytes at `offset` of the open file `fd` (pread; the file offset is not
// used, so one fd can be shared by several threads). Fails with errc::io_error on a read
// error and errc::file_changed when the file ends early.
boost::system::result<proto::Sha256> hash_range(int fd, std::uint64_t offset, std::uint64_t length);

}  // namespace lanspread::library
