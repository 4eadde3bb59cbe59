#include "install/libarchive_unpacker.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <algorithm>

namespace lanspread::install {
namespace {

using test::Entry;
using test::Format;
using test::TempDir;

struct Fixture {
  TempDir tmp;
  fs::path dest = tmp.path() / "dest";
  fs::path outside = tmp.path() / "outside";
  Fixture() {
    fs::create_directories(dest);
    fs::create_directories(outside);
    test::write_file(outside / "keep.txt", "untouched");
  }
  result<UnpackStats> unpack(const fs::path& archive, const UnpackLimits& limits = {}) {
    ctx.detail.clear();
    return LibarchiveUnpacker().unpack({{archive}}, dest, limits, ctx);
  }
  // Nothing outside the destination may change, whatever the archive says.
  void expect_outside_untouched() {
    auto all = test::snapshot(tmp.path());
    std::erase_if(all, [](const auto& kv) { return kv.first.starts_with("dest/"); });
    EXPECT_EQ(all, (std::map<std::string, std::string>{{"outside/keep.txt", "untouched"}}));
  }
  OperationContext ctx;
};

const std::vector<Entry> kGame = {test::dir("Game"), test::file("Game/game.exe", "MZ binary"),
                                  test::file("Game/data/level1.dat", std::string(100000, 'x')),
                                  test::file("Game/Spiel ä.txt", "umlaut"),
                                  test::symlink("Game/current.dat", "data/level1.dat")};

// Guards against the default unpacker failing on, or mangling, any of the formats games are
// published in.
TEST(LibarchiveUnpacker, ExtractsZip7zAndTarGz) {
  for (auto format : {Format::zip, Format::seven_zip, Format::tar_gz}) {
    Fixture f;
    const auto archive = f.tmp.path() / "game.arc";
    test::write_archive(archive, format, kGame);
    auto r = f.unpack(archive);
    ASSERT_TRUE(r) << f.ctx.detail;
    EXPECT_EQ(r->entries, kGame.size());
    const auto snap = test::snapshot(f.dest);
    EXPECT_EQ(snap.at("Game/game.exe"), "MZ binary");
    EXPECT_EQ(snap.at("Game/data/level1.dat"), std::string(100000, 'x'));
    EXPECT_EQ(snap.at("Game/Spiel ä.txt"), "umlaut");
    EXPECT_EQ(snap.at("Game/current.dat"), "-> data/level1.dat");
    fs::remove(archive);
    f.expect_outside_untouched();
  }
}

struct Hostile {
  const char* name;
  std::vector<Entry> entries;
};

// Guards against archive entries that write outside the staging directory: absolute paths,
// "..", links pointing out, a symlink followed by a file written through it, hard links to
// outside files, device nodes.
TEST(LibarchiveUnpacker, RefusesHostileEntriesWithoutWritingOutside) {
  Fixture probe;
  const std::string abs_target = (probe.tmp.path() / "outside" / "abs.txt").string();
  const std::vector<Hostile> cases = {
      {"absolute path", {test::file(abs_target, "pwned")}},
      {"dotdot", {test::file("../outside/keep.txt", "pwned")}},
      {"nested dotdot", {test::file("a/b/../../../outside/new.txt", "pwned")}},
      {"backslash dotdot", {test::file("..\\outside\\new.txt", "pwned")}},
      {"absolute symlink", {test::symlink("link", probe.tmp.path() / "outside")}},
      {"escaping symlink", {test::symlink("link", "../outside")}},
      {"escaping symlink then file",
       {test::symlink("a/link", "../../outside"), test::file("a/link/keep.txt", "pwned")}},
      {"inner symlink then file through it",
       {test::dir("sub"), test::symlink("link", "sub"), test::file("link/x.txt", "through")}},
      {"hardlink outside", {test::hardlink("h", "../outside/keep.txt")}},
      {"hardlink absolute", {test::hardlink("h", abs_target)}},
      {"hardlink to a symlink",
       {test::symlink("a/b/s", "../x"), test::hardlink("h", "a/b/s"), test::file("x", "inside")}},
      {"char device", {Entry{"dev", {}, Entry::Kind::chardev, 0666}}},
      {"reserved top-level name", {test::file(".lanspread_owned", "x")}},
  };
  for (const auto& c : cases) {
    for (auto format : {Format::tar, Format::zip}) {
      const bool zip_cannot = std::any_of(c.entries.begin(), c.entries.end(), [](const Entry& e) {
        return e.kind == Entry::Kind::hardlink || e.kind == Entry::Kind::chardev;
      });
      if (format == Format::zip && zip_cannot) continue;  // zip has no hard links or devices
      Fixture f;
      const auto archive = f.tmp.path() / "evil.arc";
      test::write_archive(archive, format, c.entries);
      auto r = f.unpack(archive);
      ASSERT_FALSE(r) << c.name;
      EXPECT_EQ(r.error(), make_error_code(errc::unsafe_entry)) << c.name << ": " << f.ctx.detail;
      EXPECT_NE(f.ctx.detail.find("evil.arc"), std::string::npos) << f.ctx.detail;
      fs::remove(archive);
      f.expect_outside_untouched();
      EXPECT_FALSE(fs::exists(abs_target));
      EXPECT_FALSE(fs::exists(f.dest / "sub" / "x.txt")) << c.name;
    }
  }
}

// Guards against an archive bomb made of a huge number of tiny entries.
TEST(LibarchiveUnpacker, RefusesTooManyEntries) {
  Fixture f;
  std::vector<Entry> many;
  for (int i = 0; i < 101; ++i) many.push_back(test::file("f" + std::to_string(i), "x"));
  test::write_archive(f.tmp.path() / "many.zip", Format::zip, many);
  auto r = f.unpack(f.tmp.path() / "many.zip", UnpackLimits{.max_entries = 100});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::too_many_entries));
  EXPECT_TRUE(f.unpack(f.tmp.path() / "many.zip", UnpackLimits{.max_entries = 101}))
      << f.ctx.detail;
}

// Guards against crashing or half-succeeding on damaged, truncated or non-archive input.
TEST(LibarchiveUnpacker, ReportsDamagedAndUnsupportedArchives) {
  Fixture f;
  const auto good = f.tmp.path() / "good.7z";
  test::write_archive(good, Format::seven_zip,
                      {test::file("a.bin", std::string(300000, 'a')), test::file("b", "b")});
  auto bytes = test::read_file(good);
  test::write_file(f.tmp.path() / "cut.7z", bytes.substr(0, bytes.size() / 2));
  auto r = f.unpack(f.tmp.path() / "cut.7z");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error() == make_error_code(errc::damaged_archive) ||
              r.error() == make_error_code(errc::unsupported_archive))
      << r.error().message() << " " << f.ctx.detail;
  EXPECT_FALSE(f.ctx.detail.empty());

  test::write_file(f.tmp.path() / "text.zip", "this is not an archive at all, just text\n");
  r = f.unpack(f.tmp.path() / "text.zip");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::unsupported_archive)) << f.ctx.detail;

  auto zip = f.tmp.path() / "flip.zip";
  std::string text;
  for (int i = 0; i < 50000; ++i) text += std::to_string(i * 2654435761u % 1000003) + " ";
  test::write_archive(zip, Format::zip, {test::file("a.bin", text)});
  bytes = test::read_file(zip);
  // Flip bytes in the middle of the compressed data (the central directory stays intact).
  for (std::size_t i = bytes.size() / 2; i < bytes.size() / 2 + 64; ++i) {
    bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
  }
  test::write_file(zip, bytes);
  r = f.unpack(zip);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::damaged_archive)) << f.ctx.detail;
}

// Guards against extracting password-protected entries as garbage instead of refusing them.
TEST(LibarchiveUnpacker, RefusesEncryptedEntries) {
  Fixture f;
  test::write_archive(f.tmp.path() / "secret.zip", Format::zip, {test::file("a", "secret")},
                      "zip:encryption=zipcrypt", "pw");
  auto r = f.unpack(f.tmp.path() / "secret.zip");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::unsupported_archive)) << f.ctx.detail;
}

// Guards against an extraction that ignores cancellation or reports no progress.
TEST(LibarchiveUnpacker, HonoursCancellationAndReportsProgress) {
  Fixture f;
  std::vector<Entry> big;
  for (int i = 0; i < 4; ++i)
    big.push_back(test::file("f" + std::to_string(i), std::string(10 << 20, 'a' + i)));
  test::write_archive(f.tmp.path() / "big.tar", Format::tar, big);
  std::vector<std::uint64_t> seen;
  f.ctx.progress = [&](const Progress& p) {
    EXPECT_EQ(p.phase, "extracting");
    EXPECT_LE(p.done, p.total);
    seen.push_back(p.done);
  };
  ASSERT_TRUE(f.unpack(f.tmp.path() / "big.tar")) << f.ctx.detail;
  ASSERT_GE(seen.size(), 3u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(seen.back(), fs::file_size(f.tmp.path() / "big.tar"));

  Fixture g;
  std::stop_source stop;
  g.ctx.stop = stop.get_token();
  g.ctx.progress = [&](const Progress&) { stop.request_stop(); };
  auto r = g.unpack(f.tmp.path() / "big.tar");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::cancelled));
  EXPECT_LT(test::snapshot(g.dest).size(), 4u);
}

// Guards against installing setuid/setgid binaries, or files the user cannot delete, from an
// archive's permission bits.
TEST(LibarchiveUnpacker, StripsSpecialPermissionBits) {
  Fixture f;
  test::write_archive(
      f.tmp.path() / "perm.tar", Format::tar,
      {Entry{"suid", "x", Entry::Kind::file, 04755}, Entry{"ro", "x", Entry::Kind::file, 0400},
       Entry{"locked", {}, Entry::Kind::dir, 0500}});
  ASSERT_TRUE(f.unpack(f.tmp.path() / "perm.tar")) << f.ctx.detail;
  struct stat st {};
  ASSERT_EQ(::stat((f.dest / "suid").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  ASSERT_EQ(::stat((f.dest / "ro").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0600, 0600u);
  ASSERT_EQ(::stat((f.dest / "locked").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0700, 0700u);
}

// Guards against multi-volume archives (a 7z split into .001/.002) being unreadable.
TEST(LibarchiveUnpacker, ReadsSplitVolumesAsOneArchive) {
  Fixture f;
  const auto whole = f.tmp.path() / "whole.7z";
  std::string payload;
  for (int i = 0; i < 200000; ++i) payload += std::to_string(i * 7919 % 100003);
  test::write_archive(whole, Format::seven_zip, {test::file("big.txt", payload)});
  const auto bytes = test::read_file(whole);
  test::write_file(f.tmp.path() / "s.7z.001", bytes.substr(0, bytes.size() / 3));
  test::write_file(f.tmp.path() / "s.7z.002", bytes.substr(bytes.size() / 3));
  auto r = LibarchiveUnpacker().unpack({{f.tmp.path() / "s.7z.001", f.tmp.path() / "s.7z.002"}},
                                       f.dest, {}, f.ctx);
  ASSERT_TRUE(r) << f.ctx.detail;
  EXPECT_EQ(test::read_file(f.dest / "big.txt"), payload);
}

}  // namespace
}  // namespace lanspread::install
