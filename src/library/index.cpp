#include "library/index.hpp"

#include "library/error.hpp"
#include "proto/layout.hpp"
#include "proto/limits.hpp"
#include "proto/validate.hpp"

#include "sys/durable_file.hpp"
#include "sys/open_beneath.hpp"

#include <boost/json.hpp>

#include <fcntl.h>
#include <sys/stat.h>

#include <string_view>

namespace lanspread::library {
namespace json = boost::json;
namespace {

constexpr std::string_view kFormat = "lanspread.index";
constexpr std::int64_t kFormatVersion = 1;
constexpr std::uint64_t kMaxIndexBytes = 256ULL * 1024 * 1024;

}  // namespace

bool operator==(const IndexEntry& a, const IndexEntry& b) {
  return a.size == b.size && a.mtime_ns == b.mtime_ns && a.hashes == b.hashes;
}

bool operator==(const RootIndex& a, const RootIndex& b) {
  return a.chunk_size_ == b.chunk_size_ && a.entries_ == b.entries_;
}

const std::vector<proto::Sha256>* RootIndex::lookup(const std::string& path, std::uint64_t size,
                                                    std::int64_t mtime_ns) const {
  auto it = entries_.find(path);
  if (it == entries_.end() || it->second.size != size || it->second.mtime_ns != mtime_ns) {
    return nullptr;
  }
  return &it->second.hashes;
}

boost::system::result<RootIndex> RootIndex::load(const std::filesystem::path& root,
                                                 std::optional<std::uint64_t> chunk_size) {
  auto read = sys::read_small_file(root / proto::layout::kIndex, kMaxIndexBytes);
  if (!read) return errc::io_error;
  const std::string text = std::move(*read);

  try {
    boost::system::error_code ec;
    json::parse_options opts;
    opts.max_depth = 6;
    const json::value v = json::parse(text, ec, {}, opts);
    if (ec || !v.is_object()) return errc::io_error;
    const auto& o = v.get_object();
    const auto* format = o.if_contains("format");
    const auto* version = o.if_contains("version");
    const auto* cs = o.if_contains("chunk_size");
    const auto* files = o.if_contains("files");
    if (!format || !format->is_string() || format->get_string() != kFormat) return errc::io_error;
    if (!version || !version->is_int64() || version->get_int64() != kFormatVersion)
      return errc::io_error;
    if (!cs || !cs->is_number()) return errc::io_error;
    const auto chunk = cs->to_number<std::uint64_t>();
    if (chunk < proto::kMinChunkSize || chunk > proto::kMaxChunkSize ||
        (chunk_size && chunk != *chunk_size))
      return errc::io_error;
    if (!files || !files->is_array()) return errc::io_error;

    RootIndex index(chunk);
    for (const auto& f : files->get_array()) {
      if (!f.is_object()) return errc::io_error;
      const auto& fo = f.get_object();
      const auto* path = fo.if_contains("path");
      const auto* size = fo.if_contains("size");
      const auto* mtime = fo.if_contains("mtime_ns");
      const auto* hashes = fo.if_contains("hashes");
      if (!path || !path->is_string() || !proto::validate_relative_path(path->get_string()))
        return errc::io_error;
      if (!size || !(size->is_uint64() || (size->is_int64() && size->get_int64() >= 0)))
        return errc::io_error;
      if (!mtime || !mtime->is_int64()) return errc::io_error;
      if (!hashes || !hashes->is_array()) return errc::io_error;
      IndexEntry entry;
      entry.size = size->to_number<std::uint64_t>();
      entry.mtime_ns = mtime->get_int64();
      if (hashes->get_array().size() != proto::chunk_count(entry.size, chunk))
        return errc::io_error;
      entry.hashes.reserve(hashes->get_array().size());
      for (const auto& h : hashes->get_array()) {
        if (!h.is_string()) return errc::io_error;
        auto digest = proto::Sha256::from_hex(h.get_string());
        if (!digest) return errc::io_error;
        entry.hashes.push_back(*digest);
      }
      index.entries_.emplace(std::string(path->get_string()), std::move(entry));
    }
    return index;
  } catch (const std::exception&) {
    return errc::io_error;  // number conversion or allocation failure: not usable
  }
}

boost::system::result<void> RootIndex::save(const std::filesystem::path& root) const {
  json::array files;
  files.reserve(entries_.size());
  for (const auto& [path, e] : entries_) {
    json::array hashes;
    hashes.reserve(e.hashes.size());
    for (const auto& h : e.hashes) hashes.emplace_back(h.hex());
    files.push_back(json::object{
        {"path", path}, {"size", e.size}, {"mtime_ns", e.mtime_ns}, {"hashes", std::move(hashes)}});
  }
  const std::string text = json::serialize(json::object{{"format", kFormat},
                                                        {"version", kFormatVersion},
                                                        {"chunk_size", chunk_size_},
                                                        {"files", std::move(files)}});
  // A cache, not state: tmp + rename keeps readers from ever seeing a torn file, but there
  // is no fsync. After a power loss the index may be missing, empty or stale; it is
  // validated when read and every entry is keyed by size and mtime, and a wrong hash could
  // only make a downloader refuse a chunk, never accept a bad one. Skipping the fsyncs
  // saves about 8 ms per game root on a cold scan.
  if (!sys::write_file_atomic(root, proto::layout::kIndex, text,
                              {.durable = false, .tmp_name = proto::layout::kIndexTmp})) {
    return errc::io_error;
  }
  return {};
}

boost::system::result<void> index_verified(const std::filesystem::path& root,
                                           const proto::Game& manifest) {
  RootIndex index(manifest.chunk_size);
  for (const auto& f : manifest.files) {
    if (f.is_dir) continue;
    // Opened beneath the root without following a link anywhere on the path, as the scan
    // opens it, so the entry describes the file the scan will find.
    auto fd = sys::open_beneath(root, f.path, O_RDONLY | O_NONBLOCK);
    struct stat st {};
    if (!fd || ::fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode) ||
        static_cast<std::uint64_t>(st.st_size) != f.size)
      continue;
    const std::int64_t mtime =
        static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    index.put(f.path, {f.size, mtime, f.chunk_hashes});
  }
  return index.save(root);
}

}  // namespace lanspread::library
