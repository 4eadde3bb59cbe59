#include "runtime/peer_game_db.hpp"

#include <gtest/gtest.h>

namespace lanspread::runtime {
namespace {

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

// Guards against keeping a stale manifest after a peer updated or removed the game.
TEST(PeerGameDB, ManifestsFollowTheAdvertisedVersion) {
  PeerGameDB db;
  db.upsert_peer(peer("p1"));
  db.set_games("p1", {dl("xonotic", "1")}, 1);
  EXPECT_FALSE(db.set_manifest("p1", manifest("xonotic", "2")));  // not what it advertises
  EXPECT_TRUE(db.set_manifest("p1", manifest("xonotic", "1")));
  EXPECT_NE(db.manifest("p1", "xonotic"), nullptr);
  db.set_games("p1", {dl("xonotic", "2")}, 2);
  EXPECT_EQ(db.manifest("p1", "xonotic"), nullptr);
  EXPECT_TRUE(db.set_manifest("p1", manifest("xonotic", "2")));
  db.set_games("p1", {}, 3);
  EXPECT_EQ(db.manifest("p1", "xonotic"), nullptr);
  EXPECT_FALSE(db.set_manifest("nobody", manifest("xonotic", "2")));
}

// Guards against refetching game lists on every ping, or never refetching after a change.
TEST(PeerGameDB, RefreshOnlyWhenTheRevisionMoves) {
  PeerGameDB db;
  db.upsert_peer(peer("p1", 5));
  EXPECT_TRUE(db.needs_refresh("p1"));
  db.set_games("p1", {}, 5);
  EXPECT_FALSE(db.needs_refresh("p1"));
  EXPECT_FALSE(db.upsert_peer(peer("p1", 6)));  // known peer, new revision
  EXPECT_TRUE(db.needs_refresh("p1"));
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

// Guards against trusting one peer's manifest when the others disagree with it.
TEST(PeerGameDB, MergeTakesTheMajorityManifest) {
  auto good = manifest("x", "1", 1);
  auto bad = manifest("x", "1", 2);
  auto m = merge_manifests({{"a", good}, {"b", bad}, {"c", good}});
  ASSERT_TRUE(m);
  EXPECT_EQ(m->manifest, good);
  EXPECT_EQ(m->agreeing, (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(m->dissenters, std::vector<std::string>{"b"});
  EXPECT_FALSE(merge_manifests({{"a", good}, {"b", bad}}));  // no majority
  EXPECT_FALSE(merge_manifests({}));
  EXPECT_TRUE(merge_manifests({{"a", good}}));
}

}  // namespace
}  // namespace lanspread::runtime
