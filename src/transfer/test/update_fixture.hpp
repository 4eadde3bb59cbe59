// A game root holding version 1 and a seeder's root holding version 2 of the same game, and an
// update from one to the other run the way a download runs it (stage, fetch what is missing,
// commit) with the seeder's files standing in for the peers. Used by the update and crash tests.
#pragma once

#include "transfer/download_files.hpp"
#include "transfer/file_cache.hpp"
#include "transfer/update_commit.hpp"

#include "../../library/test/temp_dir.hpp"
#include "library/hasher.hpp"
#include "library/scan.hpp"
#include "proto/layout.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <map>

#include <gtest/gtest.h>

namespace lanspread::transfer::test {

namespace fs = std::filesystem;
using lanspread::testing::read_file;
using lanspread::testing::TempDir;
using lanspread::testing::write_file;

inline constexpr std::uint64_t kChunk = 64 * 1024;

// Distinct content for each `seed`.
inline std::string block(std::uint64_t n, int seed) {
  std::string s(n, '\0');
  std::uint32_t x = 2463534242u + static_cast<std::uint32_t>(seed) * 7919u;
  for (auto& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return s;
}

// Every entry below `root` but Lanspread's own names and local/: path -> size and SHA-256 of
// a file's bytes, "<dir>" for a directory, "<link>" for anything else.
using Tree = std::map<std::string, std::string>;
inline Tree snapshot(const fs::path& root) {
  Tree out;
  if (!fs::exists(root)) return out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    const auto rel = fs::relative(it->path(), root).generic_string();
    const auto name = it->path().filename().string();
    if (name.starts_with(".lanspread") || rel == "local") {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_symlink()) {
      out[rel] = "<link>";
    } else if (it->is_directory()) {
      out[rel] = "<dir>";
    } else {
      // Size and hash: a mismatch then reads as a line, not as megabytes of bytes.
      const std::string content = read_file(it->path());
      const auto digest =
          library::sha256({reinterpret_cast<const std::uint8_t*>(content.data()), content.size()});
      out[rel] = std::to_string(content.size()) + " bytes, " + digest.hex().substr(0, 16);
    }
  }
  return out;
}

struct UpdateFixture {
  TempDir tmp;
  fs::path games = tmp.path() / "games";
  fs::path root = games / "game";
  fs::path seed = tmp.path() / "seed" / "game";
  proto::Game manifest;  // version 2, as the seeder's scan describes it
  Tree v1;               // the game root before the update
  Tree v2;               // what it must hold after it

  // Version 1: big.bin of 6.5 chunks; same.bin and sub/keep.txt stay; gone.bin and sub/old.txt
  // go; dir2file/ becomes a file and file2dir a directory. Version 2: big.bin keeps chunks 0,
  // 2 and 3 where they were, gets chunk 5 at 4 (moved) and new bytes elsewhere; a new file in
  // new directories; an empty directory; a file named like the sentinel's temporary. local/
  // holds an installed game that nothing may touch.
  UpdateFixture() {
    const std::string a[7] = {block(kChunk, 0),    block(kChunk, 1), block(kChunk, 2),
                              block(kChunk, 3),    block(kChunk, 4), block(kChunk, 5),
                              block(kChunk / 2, 6)};
    write_file(root / "big.bin", a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6]);
    write_file(root / "same.bin", block(2 * kChunk, 10));
    write_file(root / "gone.bin", block(100, 11));
    write_file(root / "sub/keep.txt", "keep");
    write_file(root / "sub/old.txt", "old");
    write_file(root / "dir2file/x.bin", "x");
    write_file(root / "file2dir", "a file in v1");
    write_file(root / "local/bin/game.exe", "installed v1");
    write_file(root / "version.ini", "1\n");
    v1 = snapshot(root);

    write_file(seed / "big.bin", a[0] + block(kChunk, 20) + a[2] + a[3] + a[5] + block(100, 21));
    write_file(seed / "same.bin", block(2 * kChunk, 10));
    write_file(seed / "sub/keep.txt", "keep");
    write_file(seed / "new/deep/n.bin", block(3 * kChunk, 22));
    write_file(seed / "dir2file", "a file in v2");
    write_file(seed / "file2dir/y.bin", "y");
    fs::create_directories(seed / "newempty");
    write_file(seed / "version.ini.tmp", "t");  // a payload name, not a temporary of ours
    write_file(seed / "version.ini", "2\n");
    v2 = snapshot(seed);

    library::ScanOptions options;
    options.use_index = false;
    options.chunk_size = kChunk;
    options.threads = 1;
    auto scanned = library::scan_game(seed.parent_path(), "game", options);
    EXPECT_TRUE(scanned && *scanned && (*scanned)->manifest);
    manifest = *(*scanned)->manifest;
  }

  std::string installed() const { return read_file(root / "local/bin/game.exe"); }

  struct Run {
    std::uint64_t fetched = 0;  // bytes "fetched from peers"
    StagePlan plan;
  };
  // The update as a download runs it; `hook` sees every step, including "fetch:<path>#<chunk>"
  // before a chunk is fetched and "fetch_half:<path>#<chunk>" when half of it is written.
  result<Run> update(const StepHook& hook = {}, bool commit = true) {
    Run run;
    std::string detail;
    auto area = StagingArea::open(root, manifest.version, detail);
    if (!area) return area.error();
    auto plan = stage_update(*area, manifest, nullptr, {}, hook);
    if (!plan) return plan.error();
    run.plan = *plan;
    FileCache files(area->files(), 4);
    for (std::size_t i = 0; i < manifest.files.size(); ++i) {
      const auto& f = manifest.files[i];
      if (f.is_dir || f.path == proto::layout::kVersionIni) continue;
      const std::string content = read_file(seed / f.path);
      for (std::size_t c = 0; c < f.chunk_hashes.size(); ++c) {
        if (plan->ready[i][c]) continue;
        const std::string tag = f.path + "#" + std::to_string(c);
        if (hook) hook("fetch:" + tag);
        const std::uint64_t off = c * kChunk;
        const std::string bytes = content.substr(off, kChunk);
        ChunkWriter writer(off, bytes.size(), f.chunk_hashes[c]);
        auto lease = files.acquire(f.path);
        if (!lease) return lease.error();
        const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
        const std::size_t half = bytes.size() / 2;
        if (auto r = writer.write(lease->fd(), {data, half}); !r) return r.error();
        if (hook) hook("fetch_half:" + tag);
        if (auto r = writer.write(lease->fd(), {data + half, bytes.size() - half}); !r)
          return r.error();
        if (auto r = writer.finish(); !r) return r.error();
        run.fetched += bytes.size();
      }
    }
    files.close_all();
    if (!commit) return run;
    if (auto r = commit_update(*area, manifest, plan->staged, read_file(seed / "version.ini"),
                               detail, hook);
        !r) {
      return r.error();
    }
    return run;
  }
};

}  // namespace lanspread::transfer::test
