#include "runtime/peer_game_db.hpp"
#include "runtime/game_view.hpp"

#include <gtest/gtest.h>

namespace lanspread::runtime {
namespace {

using namespace std::chrono_literals;

proto::GameSummary dl(std::string id, std::string version, std::uint64_t size = 10) {
  return {std::move(id), std::move(version), size, true, false, {}};
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
  db.set_games("p3", {dl("xonotic", "0.8.10", 20), {"0ad", "", 5, false, false, {}}}, 1);
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

// Guards against one machine filling the peer table with self-made certificates: each is a
// valid peer, but only a few may come from one address (loopback, named by a local caller,
// is exempt).
TEST(PeerGameDB, CapsPeersPerHost) {
  PeerGameDB db(1024, 4);
  auto from = [](std::string id, std::string host) {
    auto p = peer(std::move(id));
    p.host = std::move(host);
    return p;
  };
  for (int i = 0; i < 300; ++i) db.upsert_peer(from("fake" + std::to_string(i), "198.18.0.66"));
  EXPECT_EQ(db.peer_count(), 4u);
  EXPECT_EQ(db.peer("fake4"), nullptr);
  EXPECT_TRUE(db.upsert_peer(from("real", "198.18.0.7")));     // another host still gets in
  EXPECT_FALSE(db.upsert_peer(from("fake0", "198.18.0.66")));  // a listed one still updates
  EXPECT_NE(db.peer("fake0"), nullptr);
  for (int i = 0; i < 6; ++i)
    EXPECT_TRUE(db.upsert_peer(from("lo" + std::to_string(i), "127.0.0.1")));
  EXPECT_EQ(db.peer_count(), 11u);
}

// Guards against a full table of peers that offer nothing keeping out a real one, and against
// a newcomer evicting a peer that offers games or one whose list is not fetched yet.
TEST(PeerGameDB, FullTableEvictsAPeerThatOffersNoGame) {
  PeerGameDB db(3, 4);
  auto seen = [](std::string id, int age_s) {
    auto p = peer(std::move(id));
    p.last_seen = Clock::now() - std::chrono::seconds(age_s);
    return p;
  };
  db.upsert_peer(seen("seeder", 30));
  db.upsert_peer(seen("empty", 10));
  db.upsert_peer(seen("unfetched", 20));
  db.set_games("seeder", {dl("xonotic", "1")}, 1);
  db.set_games("empty", {}, 1);
  std::string evicted;
  EXPECT_TRUE(db.upsert_peer(peer("real"), &evicted));
  EXPECT_EQ(evicted, "empty");
  EXPECT_EQ(db.peer("empty"), nullptr);
  // Now nobody is known to offer nothing: the next newcomer is refused.
  evicted.clear();
  EXPECT_FALSE(db.upsert_peer(peer("late"), &evicted));
  EXPECT_TRUE(evicted.empty());
  EXPECT_EQ(db.peer_count(), 3u);
  EXPECT_NE(db.peer("seeder"), nullptr);
  EXPECT_NE(db.peer("unfetched"), nullptr);
}

// Guards against a library snapshot event on every refresh of an unchanged list: the digest
// is the same for the same views and moves with anything a person would see change.
TEST(SnapshotDigest, ChangesOnlyWithTheSnapshot) {
  GameView v;
  v.info.id = "xonotic";
  v.latest_version = "1";
  v.peers_by_version["1"] = {"p1"};
  const std::vector<GameView> a{v};
  EXPECT_EQ(snapshot_digest(a, 3), snapshot_digest(std::vector<GameView>{v}, 3));
  EXPECT_NE(snapshot_digest(a, 3), snapshot_digest(a, 4));
  auto b = a;
  b[0].peers_by_version["1"].push_back("p2");
  EXPECT_NE(snapshot_digest(a, 3), snapshot_digest(b, 3));
  b = a;
  b[0].installed = true;
  EXPECT_NE(snapshot_digest(a, 3), snapshot_digest(b, 3));
  b = a;
  b[0].latest_version = "";
  b[0].info.id = "xonotic1";  // field boundaries matter
  EXPECT_NE(snapshot_digest(a, 3), snapshot_digest(b, 3));
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
// of answers (the vote holds one manifest at a time), and against refusing a download when
// the peers split: the largest group wins, a tie goes to the smallest digest whatever the
// order of answers, and the split is reported.
TEST(PeerGameDB, VoteTakesTheLargestAgreeingGroup) {
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
  // 1 against 1, either order: the smaller digest (g) is chosen, the split reported.
  for (const Votes& votes : {Votes{{"a", 1}, {"b", 2}}, Votes{{"b", 2}, {"a", 1}}}) {
    auto m = vote(votes);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->manifest, good);
    EXPECT_EQ(m->agreeing, std::vector<std::string>{"a"});
    EXPECT_EQ(m->dissenters, std::vector<std::string>{"b"});
    EXPECT_EQ(m->groups, (std::vector<std::size_t>{1, 1}));
  }
  // A larger group beats a smaller digest, whatever came first.
  for (const Votes& votes : {Votes{{"a", 1}, {"b", 2}, {"c", 2}, {"d", 3}},
                             Votes{{"b", 2}, {"d", 3}, {"c", 2}, {"a", 1}}}) {
    auto m = vote(votes);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->manifest, bad);
    EXPECT_EQ(m->agreeing, (std::vector<std::string>{"b", "c"}));
    EXPECT_EQ(m->dissenters, (std::vector<std::string>{"a", "d"}));
    EXPECT_EQ(m->groups, (std::vector<std::size_t>{2, 1, 1}));
  }
  EXPECT_FALSE(vote({}));
  auto alone = vote({{"a", 1}});
  ASSERT_TRUE(alone);
  EXPECT_TRUE(alone->dissenters.empty());
  EXPECT_EQ(alone->groups, std::vector<std::size_t>{1});
}

// Guards against a peer that is still downloading a version being counted as one that has it
// (the UI's "On N peers", the manifest vote, the download's full sources): it is a partial
// peer of that version only, and a holder of the version it has downloaded.
TEST(PeerGameDB, PartialPeersAreNotHolders) {
  PeerGameDB db;
  for (const char* p : {"p1", "p2", "p3"}) db.upsert_peer(peer(p));
  db.set_games("p1", {dl("xonotic", "2")}, 1);
  db.set_games("p2", {{"xonotic", "", 0, false, false, "2"}}, 1);   // first download of 2
  db.set_games("p3", {{"xonotic", "1", 10, true, false, "2"}}, 1);  // updating 1 -> 2
  EXPECT_EQ(db.latest_version("xonotic"), "2");
  EXPECT_EQ(db.peers_with("xonotic", "2"), (std::vector<std::string>{"p1"}));
  EXPECT_EQ(db.partial_peers("xonotic", "2"), (std::vector<std::string>{"p2", "p3"}));
  EXPECT_TRUE(db.partial_peers("xonotic", "").empty());
  const auto a = db.game("xonotic");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->latest_peers, (std::vector<std::string>{"p1"}));
  EXPECT_EQ(a->peers_by_version.at("1"), (std::vector<std::string>{"p3"}));
  EXPECT_EQ(a->partial_by_version.at("2"), (std::vector<std::string>{"p2", "p3"}));
}

}  // namespace
}  // namespace lanspread::runtime
