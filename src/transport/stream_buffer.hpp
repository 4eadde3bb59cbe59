// Byte queues of a QUIC stream, in fixed-size pooled blocks: appending or consuming never
// allocates once the pool is warm, and the bytes handed to QUIC stay put until acknowledged.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <span>
#include <vector>

namespace lanspread::transport {

inline constexpr std::size_t kBlockSize = 64 * 1024;

class BlockPool {
 public:
  std::unique_ptr<std::uint8_t[]> get() {
    if (free_.empty()) return std::make_unique<std::uint8_t[]>(kBlockSize);
    auto b = std::move(free_.back());
    free_.pop_back();
    return b;
  }
  void put(std::unique_ptr<std::uint8_t[]> b) {
    if (free_.size() < kMaxFree) free_.push_back(std::move(b));
  }

 private:
  static constexpr std::size_t kMaxFree = 4096;  // 256 MiB at most kept for reuse
  std::vector<std::unique_ptr<std::uint8_t[]>> free_;
};

// A FIFO of bytes addressed by absolute stream offsets: [begin, end). Invariant: the blocks
// cover [first_block_offset_, first_block_offset_ + blocks * kBlockSize) and contain
// begin_ <= end_.
class ByteQueue {
 public:
  explicit ByteQueue(BlockPool& pool) : pool_(&pool) {}
  ByteQueue(ByteQueue&&) = default;
  ByteQueue& operator=(ByteQueue&&) = default;
  ~ByteQueue() { clear(); }

  std::uint64_t begin() const { return begin_; }
  std::uint64_t end() const { return end_; }
  std::uint64_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }

  void append(std::span<const std::uint8_t> data) {
    while (!data.empty()) {
      if (end_ == first_block_offset_ + blocks_.size() * kBlockSize)
        blocks_.push_back(pool_->get());
      const std::uint64_t rel = end_ - first_block_offset_;
      const std::size_t bi = static_cast<std::size_t>(rel / kBlockSize);
      const std::size_t off = static_cast<std::size_t>(rel % kBlockSize);
      const std::size_t n = std::min(kBlockSize - off, data.size());
      std::memcpy(blocks_[bi].get() + off, data.data(), n);
      data = data.subspan(n);
      end_ += n;
    }
  }

  // Up to `max` contiguous spans starting at absolute offset `from` (begin <= from <= end).
  std::size_t spans(std::uint64_t from, std::span<std::span<const std::uint8_t>> out) const {
    std::size_t n = 0;
    while (n < out.size() && from < end_) {
      const std::uint64_t rel = from - first_block_offset_;
      const std::size_t bi = static_cast<std::size_t>(rel / kBlockSize);
      const std::size_t off = static_cast<std::size_t>(rel % kBlockSize);
      const std::size_t len =
          static_cast<std::size_t>(std::min<std::uint64_t>(kBlockSize - off, end_ - from));
      out[n++] = {blocks_[bi].get() + off, len};
      from += len;
    }
    return n;
  }

  // Copies up to out.size() bytes from the front and drops them.
  std::size_t read(std::span<std::uint8_t> out) {
    std::size_t done = 0;
    std::span<const std::uint8_t> parts[8];
    while (done < out.size() && !empty()) {
      const std::size_t n = spans(begin_, parts);
      for (std::size_t i = 0; i < n && done < out.size(); ++i) {
        const std::size_t take = std::min(parts[i].size(), out.size() - done);
        std::memcpy(out.data() + done, parts[i].data(), take);
        done += take;
        consume_to(begin_ + take);
      }
    }
    return done;
  }

  // Drops everything before absolute offset `to`, returning whole blocks to the pool.
  void consume_to(std::uint64_t to) {
    to = std::min(to, end_);
    if (to <= begin_) return;
    begin_ = to;
    while (!blocks_.empty() && first_block_offset_ + kBlockSize <= begin_) {
      pool_->put(std::move(blocks_.front()));
      blocks_.pop_front();
      first_block_offset_ += kBlockSize;
    }
  }

  void clear() {
    for (auto& b : blocks_) pool_->put(std::move(b));
    blocks_.clear();
    first_block_offset_ = begin_ = end_;
  }

 private:
  BlockPool* pool_;
  std::deque<std::unique_ptr<std::uint8_t[]>> blocks_;
  std::uint64_t first_block_offset_ = 0;  // absolute offset of blocks_.front()[0]
  std::uint64_t begin_ = 0;
  std::uint64_t end_ = 0;
};

}  // namespace lanspread::transport
