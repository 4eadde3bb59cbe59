// The serving side of swarming "spread" requests (docs/protocol.md, "Swarming"): a downloader
// that also gets chunks from other downloaders marks its chunk requests `spread`, and the
// server may answer `busy`, so that its uplink carries few chunks at a time (each arrives soon,
// and only an arrived chunk can be passed on) and, as a seeder, distinct ones that the
// downloaders then trade. Pure data, no IO; the caller passes the time. A spread request is
// declined when:
//  - `max_uploads` spread uploads already run, counting a turn kept for each other client
//    that waits for one (it was declined for lack of room within `waiting` while it got
//    nothing from us); a waiting client takes any free turn (the uplink's turns are shared);
//  - the client already has `max_uploads_per_client` of them while another client has one
//    or waits for one;
//  - `distinct` (a seeder serving its downloaded version) and the chunk is being sent to
//    another client, or was sent whole to another client within `recent` (that client is
//    about to offer it).
// The same client is never refused a chunk it already receives (an end-game copy). Requests
// without `spread` (older peers) are neither counted nor refused.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

namespace lanspread::transfer {

struct SpreadLimits {
  // Spread uploads at once, over all clients and games; more are declined.
  std::size_t max_uploads = 4;
  // Spread uploads to one client at once while another client gets or waits for one (its
  // other requests are declined): each downloader gets distinct chunks, and a chunk arrives
  // soon, so it can be passed on. A client alone may have all `max_uploads`.
  std::size_t max_uploads_per_client = 1;
  // A chunk sent whole to one client is declined to others for this long.
  std::chrono::milliseconds recent{2'000};
  // Chunks remembered as recently sent (beyond: the oldest are forgotten).
  std::size_t max_recent = 4'096;
  // A client declined for lack of room, while it gets nothing from us, waits its turn this
  // long (renewed each time it asks; longer than a downloader waits to ask again).
  std::chrono::milliseconds waiting{2'000};
  // Clients remembered as waiting (beyond: the oldest are forgotten).
  std::size_t max_waiting = 1'024;
};

class SpreadLedger {
 public:
  using Clock = std::chrono::steady_clock;
  using Ticket = std::uint64_t;
  enum class Verdict { serve, duplicate, full };

  explicit SpreadLedger(SpreadLimits limits = {}) : limits_(limits) {}

  // May `client` be sent the chunk `key` (game, path and offset) now? On `serve` the upload
  // counts from now on and `ticket` names it for finished(). `distinct`: also decline a chunk
  // that goes, or just went, to another client.
  Verdict admit(const std::string& key, const std::string& client, Clock::time_point now,
                Ticket& ticket, bool distinct = true);
  // The upload ended; `whole`: every byte was sent.
  void finished(Ticket ticket, bool whole, Clock::time_point now);

  std::size_t uploads() const { return uploads_.size(); }
  std::size_t remembered() const { return recent_.size(); }

 private:
  struct Upload {
    std::string key;
    std::string client;
  };
  struct Recent {
    std::string client;
    Clock::time_point until;
  };
  void expire(Clock::time_point now);
  std::size_t uploads_of(const std::string& client) const;

  SpreadLimits limits_;
  Ticket next_ = 1;
  std::map<Ticket, Upload> uploads_;
  std::multimap<std::string, std::string> sending_;  // key -> client, one entry per upload
  std::map<std::string, Recent> recent_;             // key -> the last client sent it whole
  std::deque<std::pair<Clock::time_point, std::string>> order_;  // (until, key), oldest first
  std::map<std::string, Clock::time_point> waiting_;             // client -> declined for room
};

}  // namespace lanspread::transfer
