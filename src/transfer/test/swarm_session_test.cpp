// A whole LAN party in virtual time: one seeder and many downloaders, each running its own
// DownloadSession, trading verified chunks with each other (swarming). Links are modelled as
// uplink and downlink rates shared by the flows that cross them; no sockets, no disk, no clock.
#include "transfer/download_session.hpp"
#include "transfer/spread_ledger.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>

namespace lanspread::transfer {
namespace {

using namespace std::chrono_literals;
constexpr std::uint64_t kMiB = 1ULL << 20;
constexpr auto kStep = 20ms;

struct Node {
  std::string id;
  double up = 12.5e6;    // bytes per second
  double down = 12.5e6;  // bytes per second
  bool corrupt = false;  // serves bytes that do not match (its own data is fine)
  Clock::duration join_at{};
  std::optional<Clock::duration> leave_at;  // cancels its download and goes away
  // State.
  std::unique_ptr<DownloadSession> session;
  std::vector<bool> verified;
  bool online = false;
  bool full = false;  // the seeder, or a downloader that finished
  bool gone = false;
  std::optional<Fail> failure;
  std::uint64_t uploaded = 0;
  std::uint64_t corrupt_sealed = 0;
  // A full node's answers to spread requests, as its game server gives them.
  std::shared_ptr<SpreadLedger> ledger =
      std::make_shared<SpreadLedger>();  // chunks it sealed that came from a corrupt peer
};

struct Flow {
  std::size_t to;
  std::size_t from;
  std::optional<ChunkIndex> chunk;
  std::uint64_t size;
  double got = 0;
  SpreadLedger::Ticket ticket = 0;  // a spread upload of a full node
};

struct Swarm {
  Swarm(std::size_t chunk_count, std::vector<Node> downloaders, Node seeder, bool swarming,
        std::uint64_t chunk_size = kMiB)
      : sizes(chunk_count, chunk_size), chunk_size(chunk_size), swarming(swarming) {
    seeder.full = true;
    seeder.online = true;
    seeder.verified.assign(chunk_count, true);
    nodes.push_back(std::move(seeder));
    for (auto& d : downloaders) nodes.push_back(std::move(d));
  }

  std::size_t index(const SourceId& id) const {
    for (std::size_t i = 0; i < nodes.size(); ++i)
      if (nodes[i].id == id) return i;
    ADD_FAILURE() << "unknown source " << id;
    return 0;
  }

  void start(std::size_t i) {
    Node& n = nodes[i];
    n.online = true;
    n.verified.assign(sizes.size(), false);
    DownloadSettings s;
    s.planner.seed = i + 1;
    std::vector<SourceId> full;
    for (const auto& o : nodes)
      if (o.online && o.full) full.push_back(o.id);
    n.session = std::make_unique<DownloadSession>("g", "1", full, s, now);
    if (swarming) {
      for (std::size_t j = 1; j < nodes.size(); ++j) {
        if (j == i || !nodes[j].online || nodes[j].full) continue;
        n.session->source_joined(nodes[j].id, ChunkHave{}, now);
        nodes[j].session->source_joined(n.id, ChunkHave{}, now);  // it has nothing yet
      }
    }
    n.session->checked(sizes, 0, now);
    apply_all();
  }

  void leave(std::size_t i) {
    Node& n = nodes[i];
    n.session->cancel(now);
    apply(i);
    n.online = false;
    n.gone = true;
    for (auto it = flows.begin(); it != flows.end();) {
      if (it->second.from == i) {
        nodes[it->second.to].session->request_failed(it->first.second, FailureKind::error,
                                                     "connection lost", now);
        it = flows.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& o : nodes)
      if (o.session && !o.session->ended() && &o != &n) o.session->source_left(n.id, now);
    apply_all();
  }

  // Runs until every downloader that stays has ended, or `limit`.
  double run(Clock::duration limit = 3600s) {
    while (now - Clock::time_point{} < limit) {
      for (std::size_t i = 1; i < nodes.size(); ++i) {
        if (!nodes[i].online && !nodes[i].gone && nodes[i].join_at <= now - Clock::time_point{})
          start(i);
        if (nodes[i].online && nodes[i].leave_at && *nodes[i].leave_at <= now - Clock::time_point{})
          leave(i);
      }
      bool all_ended = true;
      for (std::size_t i = 1; i < nodes.size(); ++i)
        all_ended &= nodes[i].gone || (nodes[i].session && nodes[i].session->ended());
      if (all_ended) break;
      step();
    }
    return std::chrono::duration<double>(now - Clock::time_point{}).count();
  }

  void step() {
    now += kStep;
    std::map<std::size_t, int> ups, downs;
    for (const auto& [key, f] : flows) {
      ++ups[f.from];
      ++downs[f.to];
    }
    const double dt = std::chrono::duration<double>(kStep).count();
    std::vector<std::pair<std::size_t, RequestId>> complete;
    for (auto& [key, f] : flows) {
      const double rate = std::min(nodes[f.from].up / ups[f.from], nodes[f.to].down / downs[f.to]);
      const double before = f.got;
      f.got = std::min(static_cast<double>(f.size), f.got + rate * dt);
      const auto n = static_cast<std::uint64_t>(f.got) - static_cast<std::uint64_t>(before);
      nodes[f.from].uploaded += n;
      nodes[f.to].session->bytes_received(key.second, n, now);
      if (f.got >= static_cast<double>(f.size)) complete.push_back(key);
    }
    for (const auto& key : complete) {
      auto it = flows.find(key);
      if (it == flows.end()) continue;  // cancelled by an earlier completion
      const Flow f = it->second;
      flows.erase(it);
      if (f.ticket != 0) nodes[f.from].ledger->finished(f.ticket, true, now);
      Node& to = nodes[key.first];
      if (f.chunk && nodes[f.from].corrupt) {
        to.session->request_failed(key.second, FailureKind::corrupt, "hash mismatch", now);
      } else {
        if (f.chunk) pending_seals[key] = *f.chunk;
        to.session->request_done(key.second, now);
      }
      apply(key.first);
    }
    for (const auto& [key, chunk] : std::exchange(seals, {})) {
      nodes[key.first].verified[chunk] = true;
      nodes[key.first].session->chunk_sealed(key.second, true, now);
      apply(key.first);
    }
    for (const auto& [to, source] : std::exchange(have_questions, {})) {
      const Node& s = nodes[index(source)];
      if (!nodes[to].session) continue;
      if (s.online) {
        nodes[to].session->have_received(source, s.verified, now);
      } else {
        nodes[to].session->have_failed(source, now);
      }
      apply(to);
    }
    for (std::size_t i = 1; i < nodes.size(); ++i) {
      if (nodes[i].session && !nodes[i].session->ended()) {
        nodes[i].session->tick(now);
        apply(i);
      }
    }
  }

  void apply_all() {
    for (std::size_t i = 1; i < nodes.size(); ++i)
      if (nodes[i].session) apply(i);
  }

  void apply(std::size_t i) {
    Node& n = nodes[i];
    for (auto& a : n.session->take_actions()) {
      std::visit(
          [&](auto& act) {
            using T = std::decay_t<decltype(act)>;
            if constexpr (std::is_same_v<T, FetchChunk>) {
              const std::size_t from = index(act.source);
              if (!nodes[from].online) {
                refused.push_back({i, act.id, FailureKind::error});
              } else if (!nodes[from].verified[act.chunk]) {
                ++asked_for_missing;
                refused.push_back({i, act.id, FailureKind::refused});
              } else if (!spread) {
                flows[{i, act.id}] = Flow{i, from, act.chunk, sizes[act.chunk]};
              } else {
                // Every source is asked with `spread`, as the runtime does; a full one spreads
                // distinct chunks.
                SpreadLedger::Ticket t = 0;
                if (nodes[from].ledger->admit(std::to_string(act.chunk), n.id, now, t,
                                              nodes[from].full) == SpreadLedger::Verdict::serve) {
                  flows[{i, act.id}] = Flow{i, from, act.chunk, sizes[act.chunk], 0, t};
                } else {
                  ++declined;
                  refused.push_back({i, act.id, FailureKind::declined});
                }
              }
            } else if constexpr (std::is_same_v<T, FetchSentinel>) {
              const std::size_t from = index(act.source);
              if (!nodes[from].full) ++sentinel_from_partial;
              flows[{i, act.id}] = Flow{i, from, std::nullopt, 10};
            } else if constexpr (std::is_same_v<T, CancelRequest>) {
              if (auto f = flows.find({i, act.id}); f != flows.end() && f->second.ticket != 0)
                nodes[f->second.from].ledger->finished(f->second.ticket, false, now);
              flows.erase({i, act.id});
              pending_seals.erase({i, act.id});
            } else if constexpr (std::is_same_v<T, SealChunk>) {
              auto it = pending_seals.find({i, act.id});
              ASSERT_NE(it, pending_seals.end());
              seals[{i, act.id}] = it->second;
              pending_seals.erase(it);
            } else if constexpr (std::is_same_v<T, RefreshHave>) {
              ++have_refreshes;
              have_questions.emplace_back(i, act.source);
            } else if constexpr (std::is_same_v<T, Fail>) {
              n.failure = act;
            } else if constexpr (std::is_same_v<T, Finish>) {
              n.full = true;
              // A peer that finishes is a full source at once.
              for (std::size_t j = 1; j < nodes.size(); ++j) {
                if (j != i && nodes[j].session && !nodes[j].session->ended() && swarming)
                  joins.push_back(j);
              }
            }
          },
          a);
    }
    for (const auto& r : std::exchange(refused, {})) {
      nodes[r.to].session->request_failed(r.id, r.kind, "not here", now);
      apply(r.to);
    }
    for (std::size_t j : std::exchange(joins, {})) {
      nodes[j].session->source_joined(n.id, std::nullopt, now);
      apply(j);
    }
  }

  double copies(std::size_t i) const {
    return static_cast<double>(nodes[i].uploaded) / static_cast<double>(sizes.size() * chunk_size);
  }

  struct Refusal {
    std::size_t to;
    RequestId id;
    FailureKind kind;
  };
  std::vector<std::uint64_t> sizes;
  std::uint64_t chunk_size;
  bool swarming;
  bool spread = true;  // full sources decline duplicate spread requests
  std::vector<Node> nodes;
  Clock::time_point now{};
  std::map<std::pair<std::size_t, RequestId>, Flow> flows;
  std::map<std::pair<std::size_t, RequestId>, ChunkIndex> pending_seals, seals;
  std::vector<std::pair<std::size_t, SourceId>> have_questions;
  std::vector<Refusal> refused;
  std::vector<std::size_t> joins;
  std::size_t have_refreshes = 0;
  std::size_t asked_for_missing = 0;
  std::size_t sentinel_from_partial = 0;
  std::size_t declined = 0;
};

// 30 downloaders on mixed links (1 Gbit, 100 Mbit, 50 Mbit), three of them late, two leaving
// half way, one serving corrupt data; the seeder on 100 Mbit.
std::vector<Node> party() {
  std::vector<Node> out;
  for (int i = 0; i < 30; ++i) {
    Node n;
    n.id = "p" + std::to_string(i);
    const double rate = i % 3 == 0 ? 125e6 : i % 3 == 1 ? 12.5e6 : 6.25e6;
    n.up = n.down = rate;
    if (i >= 27) n.join_at = std::chrono::seconds(5 * (i - 26));
    if (i == 5 || i == 11) n.leave_at = 20s;
    n.corrupt = i == 7;
    out.push_back(std::move(n));
  }
  return out;
}

Node seeder() {
  Node s;
  s.id = "seeder";
  s.up = s.down = 12.5e6;
  return s;
}

// Guards against the seeder uploading one copy per downloader at a LAN party: with swarming
// every downloader that stays ends with every chunk verified (nothing from the corrupt peer),
// the leavers cost nothing but a re-plan, and the seeder uploads far fewer copies than there
// are downloaders; without it, it uploads one copy each.
TEST(SwarmSession, ThirtyPeersShareTheSeedersWork) {
  Swarm swarm(160, party(), seeder(), true);
  const double took = swarm.run();
  std::size_t finished = 0;
  for (std::size_t i = 1; i < swarm.nodes.size(); ++i) {
    const Node& n = swarm.nodes[i];
    if (n.gone) continue;
    ASSERT_TRUE(n.session && n.session->ended()) << n.id;
    EXPECT_FALSE(n.failure) << n.id << ": " << (n.failure ? n.failure->reason : "");
    EXPECT_TRUE(n.full) << n.id;
    EXPECT_EQ(std::count(n.verified.begin(), n.verified.end(), true), 160) << n.id;
    EXPECT_EQ(n.session->planner()->completed_by("p7"), 0u) << n.id << " took corrupt data";
    finished += n.full ? 1 : 0;
  }
  EXPECT_EQ(finished, 28u);
  EXPECT_EQ(swarm.sentinel_from_partial, 0u);
  EXPECT_GT(swarm.have_refreshes, 0u);
  const double copies = swarm.copies(0);
  std::printf("swarm: seeder uploaded %.2f copies for 30 downloaders in %.0f s (virtual)\n", copies,
              took);
  EXPECT_LT(copies, 6.0);

  Swarm alone(160, party(), seeder(), false);
  const double took_alone = alone.run();
  const double copies_alone = alone.copies(0);
  std::printf("no swarm: seeder uploaded %.2f copies in %.0f s (virtual)\n", copies_alone,
              took_alone);
  EXPECT_GT(copies_alone, 27.0);
  EXPECT_LT(took, took_alone / 3);
}

// Guards against a downloader asking a partial source for a chunk it does not have, and
// against a chunk that only the seeder has being left undone: two downloaders and a seeder.
TEST(SwarmSession, PartialSourcesAreAskedOnlyForWhatTheyHave) {
  std::vector<Node> two(2);
  two[0].id = "a";
  two[1].id = "b";
  Swarm swarm(100, std::move(two), seeder(), true);
  swarm.run();
  for (std::size_t i = 1; i < 3; ++i) {
    EXPECT_TRUE(swarm.nodes[i].full) << swarm.nodes[i].id;
    EXPECT_FALSE(swarm.nodes[i].failure);
  }
  EXPECT_EQ(swarm.asked_for_missing, 0u);
  // Each chunk came from the seeder about once: the other copy was traded.
  EXPECT_LT(swarm.copies(0), 1.5);
}

// The swarm benchmark's setting (bench/swarm_bench.py): one seeder and eight downloaders, all
// on 100 Mbit/s links, a 256 MiB game in 2 MiB chunks (a scan's default), everyone starting at
// once.
std::vector<Node> downloaders(std::size_t n) {
  std::vector<Node> out(n);
  for (std::size_t i = 0; i < out.size(); ++i) out[i].id = "d" + std::to_string(i);
  return out;
}

// Guards against the seeder's uplink being the bottleneck of a LAN party: eight downloaders
// starting together must take about as long as one alone, and the seeder must send little
// more than one copy of the game (it spreads distinct chunks, which the downloaders trade),
// not one per downloader nor the same chunk to several at once.
TEST(SwarmSession, EightDownloadersTakeAboutAsLongAsOne) {
  Swarm one(128, downloaders(1), seeder(), true, 2 * kMiB);
  const double single = one.run();
  ASSERT_TRUE(one.nodes[1].full);
  Swarm swarm(128, downloaders(8), seeder(), true, 2 * kMiB);
  const double took = swarm.run();
  for (std::size_t i = 1; i < swarm.nodes.size(); ++i) {
    EXPECT_TRUE(swarm.nodes[i].full) << swarm.nodes[i].id;
    EXPECT_FALSE(swarm.nodes[i].failure) << swarm.nodes[i].id;
  }
  const double copies = swarm.copies(0);
  std::printf(
      "8 downloaders: %.1f s (one alone: %.1f s, virtual), seeder sent %.2f copies, "
      "%zu spread requests declined\n",
      took, single, copies, swarm.declined);
  EXPECT_LT(copies, 1.3);
  EXPECT_LT(took / single, 1.4);
  EXPECT_EQ(swarm.asked_for_missing, 0u);

  // The same swarm with servers that never decline (older peers): the seeder's uplink sends
  // the same chunks to several downloaders at once.
  Swarm plain(128, downloaders(8), seeder(), true, 2 * kMiB);
  plain.spread = false;
  const double took_plain = plain.run();
  std::printf("without spreading: %.1f s, seeder sent %.2f copies\n", took_plain, plain.copies(0));
  EXPECT_LT(took, took_plain);
  EXPECT_LT(copies, plain.copies(0));
}

}  // namespace
}  // namespace lanspread::transfer
