#include "runtime/peer_game_db.hpp"

#include <gtest/gtest.h>

namespace lanspread::runtime {
namespace {

using namespace std::chrono_literals;

proto::GameSummary dl(std::string id, std::string version, std::uint64_t size = 10) {
  return {std::move(id), std::move(version), size, true, false};
}

PeerInfo peer(std::string id, std::uint64_t rev = 1) {
  PeerInfo p;
  p.peer_id = std::move(id);
  p.library_rev = rev;
  p.last_seen = Clock::now();
  return p;
}

proto::Game manifest(std::string id, std::string version, std::uint8_t fill = 1) {
  proto::Game g{std::move(id), std::move(version), 8 << 20, {}};
  proto::Sha256 h;
  h.bytes.fill(fill);
  g.files.push_back({"a.bin", 5, false, {h}});
  return g;
}

// Guards against offering an older version as the latest (lexical instead of natural order)
// or counting peers that only hold a partial download.
TEST(PeerGameDB, LatestVersionAndItsPeers) {
  PeerGameDB db;
  db.upsert_peer(peer("p1"));
  db.upsert_peer(peer("p2"));
  db.upsert_peer(peer("p3"));
  db.set_games("p1", {dl("xonotic", "0.8.9")}, 1);
  db.set_games("p2", {dl("xonotic", "0.8.10", 20)}, 1);
  db.set_games("p3", {dl("xonotic", "0.8.10", 20), {"0ad", "", 5, false, false}}, 1);
  EXPECT_EQ(db.latest_version("xonotic"), "0.8.10");
  EXPECT_EQ(db.peers_with("xonotic", "0.8.10"), (std::vector<std::string>{"p2", "p3"}));
  EXPECT_FALSE(db.latest_version("0ad"));  // only a partial copy exists
  auto a = db.game("xonotic");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->latest_peers, (std::vector<std::string>{"p2", "p3"}));
  EXPECT_EQ(a->size, 20u);
  EXPECT_EQ(a->peers_by_version.at("0.8.9"), std::vector<std::string>{"p1"});
  EXPECT_EQ(db.games().size(), 2u);
}

// Guards against refetching game lists on every ping, or never refetching after a change.
TEST(PeerGameDB, RefreshOnlyWhenTheRevisionMoves) {
  PeerGameDB db;
  const auto t = Clock::now();
  db.upsert_peer(peer("p1", 5));
  EXPECT_TRUE(db.needs_refresh("p1", t, 10s));
  db.note_refresh("p1", t);
  db.set_games("p1", {}, 5);
  EXPECT_FALSE(db.needs_refresh("p1", t + 20s, 10s));
  EXPECT_FALSE(db.upsert_peer(peer("p1", 6)));  // known peer, new revision
  EXPECT_TRUE(db.needs_refresh("p1", t + 20s, 10s));
}

// Guards against a peer that bumps its revision on every Pong making us refetch its list
// (and parse its answer) every ping: at most one request per interval, whatever it says.
TEST(PeerGameDB, RefreshesAPeerAtMostOncePerInterval) {
  PeerGameDB db;
  const auto t = Clock::now();
  db.upsert_peer(peer("p1", 1));
  int asked = 0;
  for (auto now = t; now < t + 60s; now += 2s) {  // a Pong every 2 s, each with a new rev
    db.upsert_peer(peer("p1", static_cast<std::uint64_t>(2 + (now - t) / 2s)));
    if (!db.needs_refresh("p1", now, 10s)) continue;
    ++asked;
    db.note_refresh("p1", now);
    if (asked % 2 == 0) db.set_games("p1", {}, 0);  // answered or refused: the same bound
  }
  EXPECT_EQ(asked, 6);
}

// Guards against the table of peers growing without bound.
TEST(PeerGameDB, BoundsThePeers) {
  PeerGameDB db(2);
  EXPECT_TRUE(db.upsert_peer(peer("a")));
  EXPECT_TRUE(db.upsert_peer(peer("b")));
  EXPECT_FALSE(db.upsert_peer(peer("c")));
  EXPECT_EQ(db.peer(std::string("c")), nullptr);
  EXPECT_FALSE(db.upsert_peer(peer("a", 7)));  // known peers still update
  EXPECT_EQ(db.peer("a")->library_rev, 7u);
}

// Guards against dead peers staying in the view (downloads would be planned from them).
TEST(PeerGameDB, PruneAndRemove) {
  PeerGameDB db;
  auto old = peer("old");
  old.last_seen = Clock::now() - std::chrono::minutes(5);
  db.upsert_peer(old);
  db.upsert_peer(peer("fresh"));
  db.set_games("old", {dl("xonotic", "9")}, 1);
  EXPECT_EQ(db.prune(Clock::now() - std::chrono::minutes(1)), std::vector<std::string>{"old"});
  EXPECT_EQ(db.peer_count(), 1u);
  EXPECT_FALSE(db.latest_version("xonotic"));
  EXPECT_TRUE(db.remove_peer("fresh"));
  EXPECT_FALSE(db.remove_peer("fresh"));
}

// Guards against trusting one peer's manifest when the others disagree with it, in any order
// of answers (the vote holds one manifest at a time).
TEST(PeerGameDB, VoteTakesTheMajorityManifest) {
  const auto good = manifest("x", "1", 1);
  const auto bad = manifest("x", "1", 2);
  const auto other = manifest("x", "1", 3);
  proto::Sha256 g, b, o;
  g.bytes.fill(1);
  b.bytes.fill(2);
  o.bytes.fill(3);
  auto vote = [&](std::vector<std::pair<std::string, int>> answers) {
    ManifestVote v;
    for (const auto& [peer, which] : answers) {
      if (which == 1) v.add(peer, g, good);
      if (which == 2) v.add(peer, b, bad);
      if (which == 3) v.add(peer, o, other);
    }
    return v.result();
  };
  using Votes = std::vector<std::pair<std::string, int>>;
  const std::pair<Votes, std::vector<std::string>> cases[] = {
      {{{"a", 1}, {"b", 2}, {"c", 1}}, {"a", "c"}},
      {{{"b", 2}, {"a", 1}, {"c", 1}}, {"a", "c"}},
      {{{"b", 2}, {"d", 3}, {"a", 1}, {"c", 1}, {"e", 1}}, {"a", "c", "e"}}};
  for (const auto& [votes, agreeing] : cases) {
    auto m = vote(votes);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->manifest, good);
    EXPECT_EQ(m->agreeing, agreeing);
    EXPECT_EQ(m->dissenters.front(), "b");
  }
  EXPECT_FALSE(vote({{"a", 1}, {"b", 2}}));  // no majority
  EXPECT_FALSE(vote({{"a", 1}, {"b", 2}, {"c", 3}}));
  EXPECT_FALSE(vote({}));
  EXPECT_TRUE(vote({{"a", 1}}));
}

}  // namespace
}  // namespace lanspread::runtime
