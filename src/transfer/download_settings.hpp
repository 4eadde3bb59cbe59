// Every limit, deadline and cadence of a download, with its default, in one place (each has a
// row in the "Downloads" table of docs/security.md).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace lanspread::transfer {

// The chunk planner's part.
struct PlannerConfig {
  std::size_t slots = 4;                     // chunk requests in flight per source
  std::chrono::milliseconds backoff{2'000};  // after a failure, doubled per consecutive failure
  int max_failures = 3;        // consecutive failure episodes before a source is dropped
  std::size_t max_copies = 2;  // holders of one chunk during end-game
  int max_attempts = 8;        // failed attempts of one chunk before giving up
  // Non-zero: the initial chunk order is shuffled with this seed, so downloaders of the same
  // game start on different chunks and can trade them (swarming). Zero keeps file order.
  std::uint64_t seed = 0;
  // Requests in flight per full source while a usable partial source exists (swarming): the
  // seeders' uplink is shared by every downloader, so each asks it for few chunks at a time
  // and those are the rarest; the rest comes from the other downloaders.
  std::size_t swarm_full_slots = 1;
  // Requests in flight to partial sources, over all of them (swarming): a downlink shared by
  // fewer chunks at a time completes each sooner, and only a completed chunk can be passed on;
  // it also leaves the full sources' chunks their share of it.
  std::size_t swarm_partial_requests = 6;
  // A full source that declined a chunk (`busy` to a spread request: it sends that chunk to
  // another downloader, or as many chunks as it spreads at once) is not asked for that chunk
  // again for `spread_retry`, nor for anything for `spread_pause`. Not a failure.
  std::chrono::milliseconds spread_retry{1'000};
  std::chrono::milliseconds spread_pause{300};
};

struct DownloadSettings {
  PlannerConfig planner;
  // A request whose source has sent no byte for this long (for it or another of our requests:
  // a source may send them one after another) fails (the source is penalised and backed
  // off). Only silence counts: a slow but steady chunk is never failed.
  std::chrono::milliseconds silence_timeout{10'000};
  // End-game: a chunk in flight is copied to an idle source when the idle source, at the
  // speed it has shown and after what it already has in flight, would fetch the whole chunk
  // sooner than the current holder finishes it (with a 25 % margin). Before a source's speed
  // is known (see rate_window), a request is judged only once it has run `copy_after`.
  std::chrono::milliseconds copy_after{1'000};
  // Multi-source scheduling (full sources, no partial ones): each source's speed is measured
  // over windows of `rate_window` while it has requests in flight. A source whose speed is
  // known keeps about `in_flight_horizon` of its speed in flight (at least 2 requests, at most
  // `planner.slots`), and takes a new chunk only if it would finish it about when the whole
  // download would end if every source shared the rest at its speed (the fastest source may
  // always take one): a slow source is not left holding the last chunks.
  std::chrono::milliseconds rate_window{500};
  std::chrono::milliseconds in_flight_horizon{500};
  // With no usable source left (all gone or dropped), how long a download waits in the
  // waiting_for_peers phase for one to join or come back before it fails.
  std::chrono::milliseconds peer_wait{600'000};
  // A source dropped for failing is taken back when it answers again, at the earliest this
  // long after it was dropped; doubled each time it is dropped again, up to `readmit_max`.
  // A source that sent corrupt data is not taken back (unless it leaves and joins anew).
  std::chrono::milliseconds readmit_after{5'000};
  std::chrono::milliseconds readmit_max{120'000};
  // How often a partial source (another downloader of the same version) is asked which chunks
  // it has verified, at most one question at a time per source.
  std::chrono::milliseconds have_refresh{500};
  // Progress reports while a download runs (at least 4 a second).
  std::chrono::milliseconds progress_interval{250};
  // bytes_per_second is the network bytes of this window, averaged.
  std::chrono::milliseconds speed_window{3'000};
  // eta_seconds stays null until data has arrived for this long.
  std::chrono::milliseconds eta_warmup{1'000};
  // Files held open at once by one download (least recently used are closed first).
  std::size_t open_files = 64;
  // Bytes read from a chunk stream before they are written to disk.
  std::size_t read_block = 256 * 1024;
  // version.ini is fetched whole into memory: a manifest that says it is larger is refused.
  std::uint64_t max_sentinel_size = 64 * 1024;
};

}  // namespace lanspread::transfer
