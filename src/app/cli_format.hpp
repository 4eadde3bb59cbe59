// How the command line shows the daemon's JSON to a person (docs/cli.md): sizes, speeds,
// durations, the progress line of an operation, tables. Pure functions of their inputs;
// nothing here writes to a terminal.
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lanspread::app::cli {

// Decimal units, as disks and download managers count: "0 B", "999 B", "1.5 kB",
// "512.0 MB", "1.23 GB".
std::string format_size(std::uint64_t bytes);
// "35.2 MB/s".
std::string format_rate(std::uint64_t bytes_per_second);
// "0:07", "12:05", "1:02:03"; beyond 99 hours "99:59:59+".
std::string format_duration(std::uint64_t seconds);

// An operation as the API reports it (a game's active_operation, an operation_progress
// event's data); fields a daemon does not send stay empty.
struct OperationView {
  std::string id;
  std::string kind;   // download, install, update, uninstall, remove
  std::string phase;  // resolving, downloading, starting, extracting, ...
  std::uint64_t done = 0;
  std::uint64_t total = 0;
  std::optional<std::uint64_t> verified;
  std::optional<std::uint64_t> bytes_per_second;
  std::optional<std::uint64_t> eta_seconds;
  std::optional<std::uint64_t> stalled_seconds;
  std::optional<std::uint64_t> active_peers;
};
// An operation that just began: no progress yet.
OperationView starting_operation(const std::string& id, const std::string& kind);
// Reads what it can from `v` (an object); `id` names the game when `v` has no "id".
OperationView operation_from_json(const boost::json::value& v, const std::string& id = {});

// 0..100, rounded down, so 100 only when done; nullopt while the total is unknown.
std::optional<unsigned> percent_of(const OperationView& op);

// One line, at most `width` columns (never less than the game id and the verb):
// "openarena  downloading  42% [########            ] 512.0 MB / 1.2 GB  35.2 MB/s  ETA 0:21  3
// peers". Parts that do not fit are left out, least useful first (bar, sizes, peers, ETA).
std::string progress_line(const OperationView& op, std::size_t width);

// The verb a person reads for an operation in a phase: "looking for peers", "checking"
// (what is on disk), "downloading", "finishing" (the commit), "installing", "updating",
// "uninstalling", "removing".
std::string activity_of(const OperationView& op);

// Columns padded to their widest cell; columns listed in `right` are right-aligned.
// Rows shorter than the header are padded with empty cells.
std::string render_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows,
                         const std::vector<std::size_t>& right = {});

// A game of GET /games as one word: "installed", "downloaded", "available" (a peer offers
// it) or "-"; with " (update)" when a newer version is offered.
std::string game_state(const boost::json::value& game);

// `text` safe to print on a terminal: control characters (C0, DEL, C1, which could move the
// cursor or rewrite the screen) become '?'. Every string that comes from the daemon or a
// peer (names, reasons, paths) goes through this before it reaches human output.
std::string printable(std::string_view text);

// Field access that tolerates a missing or mistyped field (a newer or older daemon).
std::string string_field(const boost::json::value& v, std::string_view key);
std::optional<std::uint64_t> uint_field(const boost::json::value& v, std::string_view key);
bool bool_field(const boost::json::value& v, std::string_view key);

}  // namespace lanspread::app::cli
