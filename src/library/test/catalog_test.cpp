#include "library/catalog.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>

namespace lanspread::library {
namespace {

// Guards against shipping a bundled catalog that does not parse or lacks the fields the UI
// shows (a broken data file would only surface at a user's first start).
TEST(Catalog, BundledCatalogIsCompleteAndValid) {
  const Catalog& c = Catalog::bundled();
  EXPECT_GE(c.size(), 8u);
  for (const char* id : {"openarena", "xonotic", "teeworlds", "supertuxkart", "0ad"}) {
    const CatalogEntry* e = c.find(id);
    ASSERT_NE(e, nullptr) << id;
    EXPECT_FALSE(e->name.empty());
    EXPECT_FALSE(e->description.empty());
    EXPECT_FALSE(e->genre.empty());
    EXPECT_GT(e->max_players, 0u);
  }
}

// Guards against malformed catalog files being half-loaded or reported without a location.
TEST(Catalog, MalformedFilesNameTheLine) {
  struct Case {
    const char* text;
    errc code;
    std::size_t line;
  };
  const Case cases[] = {
      {"[a]\nname = A\n[a]\nname = B\n", errc::catalog_duplicate_id, 3},
      {"name = A\n", errc::catalog_syntax, 1},
      {"[a]\nname A\n", errc::catalog_syntax, 2},
      {"[Bad Id]\nname = x\n", errc::catalog_bad_id, 1},
      {"[../x]\nname = x\n", errc::catalog_bad_id, 1},
      {"[a]\nname = A\ncolour = red\n", errc::catalog_unknown_key, 3},
      {"[a]\nname = A\nmax_players = many\n", errc::catalog_bad_value, 3},
      {"[a]\nname = A\nmax_players = 0\n", errc::catalog_bad_value, 3},
      {"[a]\nname =\n", errc::catalog_bad_value, 2},
      {"[a]\ngenre = x\n\n[b]\nname = B\n", errc::catalog_missing_name, 1},
      {"# only comments\n\n", errc::catalog_empty, 0},
      {"", errc::catalog_empty, 0},
      {"[a\nname = A\n", errc::catalog_syntax, 1},
  };
  for (const auto& c : cases) {
    auto r = Catalog::parse(c.text, "test.ini");
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.error().code, make_error_code(c.code)) << c.text << " -> " << r.error().message();
    EXPECT_EQ(r.error().line, c.line) << c.text;
    if (c.line != 0) {
      EXPECT_NE(r.error().message().find("test.ini:" + std::to_string(c.line) + ":"),
                std::string::npos)
          << r.error().message();
    }
  }
}

// Guards against a user's --catalog file being rejected for ordinary formatting (CRLF, BOM,
// comments, spaces around '=').
TEST(Catalog, LoadsAUserFile) {
  testing::TempDir dir;
  testing::write_file(
      dir / "my.ini",
      "\xEF\xBB\xBF# mine\r\n[quake3]\r\nname=Quake III\r\n ; c\r\nmax_players = 4\r\n");
  auto c = Catalog::load_file(dir / "my.ini");
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->size(), 1u);
  EXPECT_EQ(c->find("quake3")->name, "Quake III");
  EXPECT_EQ(c->find("quake3")->max_players, 4u);

  auto missing = Catalog::load_file(dir / "nope.ini");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, make_error_code(errc::catalog_unreadable));
  EXPECT_NE(missing.error().message().find("nope.ini"), std::string::npos);
}

}  // namespace
}  // namespace lanspread::library
