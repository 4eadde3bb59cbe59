// The disk side of a download (blocking: run on the disk pool). Paths come from a validated
// manifest; every file is opened component by component without following symlinks, so a
// link planted in a game folder can never redirect a write outside it.
#pragma once

#include "library/hasher.hpp"
#include "proto/messages.hpp"
#include "transfer/error.hpp"

#include <atomic>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace lanspread::transfer {

// Opens (creating missing directories and the file) `root/relative` for writing, never
// following a symlink and never truncating. Returns a file descriptor or an error.
result<int> open_for_write(const std::filesystem::path& root, std::string_view relative);

// Creates the manifest's directories and files (except version.ini, which the sentinel
// transaction writes last) and gives each file its manifest size: new files are extended,
// longer ones cut to size, bytes already there are kept (they may be right: resume, delta).
// A file of one chunk that is not there is left to its writer (open_for_write creates it
// and the directories on its way; its one chunk gives it its size).
result<void> prepare_files(const std::filesystem::path& root, const proto::Game& manifest);

// For each file of the manifest, which chunks already hold the right bytes on disk (hashed
// now). A missing or shorter file has none, and neither has a range that was never written
// (a hole, found with SEEK_DATA: not hashed at all). version.ini is never counted: it is
// always fetched. `progress(done, total)` is called with bytes checked; `cancel` is looked at
// before each chunk (errc::cancelled).
result<std::vector<std::vector<bool>>> verify_local_chunks(
    const std::filesystem::path& root, const proto::Game& manifest,
    const std::atomic<bool>* cancel = nullptr,
    const std::function<void(std::uint64_t, std::uint64_t)>& progress = {});

// Payload files and directories under root (not local/, not reserved names) that the
// manifest does not list: left from an older version. Deepest first, ready for deletion.
std::vector<std::string> stale_entries(const std::filesystem::path& root,
                                       const proto::Game& manifest);
// Deletes them (files with unlinkat, empty directories with AT_REMOVEDIR; never following links).
result<void> remove_entries(const std::filesystem::path& root, const std::vector<std::string>& rel);

// Writes one chunk at its offset, hashing on the way; finish() checks length and hash.
// Writeback of what it wrote starts as it goes (every kWritebackStep bytes and at the end of
// the chunk), so the page cache holds little dirty data and the download's one durable
// flush at its end has little left to write.
class ChunkWriter {
 public:
  ChunkWriter(std::uint64_t offset, std::uint64_t length, proto::Sha256 expected);
  ChunkWriter(const ChunkWriter&) = delete;
  ChunkWriter& operator=(const ChunkWriter&) = delete;

  // Writes into `fd` (the chunk's file; callers may hand a different descriptor of the same
  // file each time). Bytes beyond the chunk's length are an error (a peer sending too much).
  result<void> write(int fd, std::span<const std::uint8_t> bytes);
  result<void> finish();
  std::uint64_t written() const { return written_; }

  static constexpr std::uint64_t kWritebackStep = 1 << 20;

 private:
  std::uint64_t offset_;
  std::uint64_t length_;
  proto::Sha256 expected_;
  std::uint64_t written_ = 0;
  std::uint64_t writeback_ = 0;  // bytes (from offset_) whose writeback was started
  library::Sha256Stream hash_;
};

}  // namespace lanspread::transfer
