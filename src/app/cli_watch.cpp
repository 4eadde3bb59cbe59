// watch: a live view of what the daemon is doing, redrawn on a terminal: one line per
// running operation, and a line that stays for each that ends. Ctrl-C stops watching (the
// operations go on).
#include "app/cli_commands.hpp"
#include "app/cli_context.hpp"
#include "app/cli_format.hpp"
#include "app/cli_terminal.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <boost/json.hpp>

#include <CLI/CLI.hpp>
#include <chrono>
#include <ctime>
#include <map>

namespace lanspread::app {
namespace json = boost::json;
using namespace cli;
using Clock = std::chrono::steady_clock;

namespace {

// A terminal is redrawn at most this often; progress arrives about 4 times a second per game.
constexpr auto kRedrawEvery = std::chrono::milliseconds(250);

class Watch {
 public:
  explicit Watch(CliContext& ctx) : ctx_(ctx), block_(stdout) {}

  int run() {
    int rc = kExitOk;
    auto status = ctx_.get_json("/api/v1/status", rc);
    if (!status) return rc;
    peers_ = uint_field(*status, "peer_count").value_or(0);
    if (!reload(rc)) return rc;
    auto opened = ctx_.client().open_events(uint_field(*status, "event_seq").value_or(0) + 1);
    if (!opened) return ctx_.fail(opened.error());
    if (opened->status != 101) return ctx_.fail(*opened);
    ctx_.client().catch_interrupts(kExitOk);
    if (ctx_.json()) CliContext::print_json(snapshot_event());
    redraw(true);
    for (;;) {
      auto event = ctx_.client().next_event(ctx_.waits().tick);
      if (!event && event.error() == ClientErrc::interrupted) {
        if (!ctx_.json() && block_.redraws()) redraw(true);
        return kExitOk;
      }
      if (!event) return ctx_.fail(event.error());
      if (*event) {
        if (!apply(**event, rc)) return rc;
      }
      redraw(false);
    }
  }

 private:
  // The operations as GET /games shows them (at start, and after missed events).
  bool reload(int& rc) {
    auto games = ctx_.get_json("/api/v1/games", rc);
    if (!games) return false;
    ops_.clear();
    const json::value* list = games->as_object().if_contains("games");
    if (list == nullptr || !list->is_array()) return true;
    for (const auto& g : list->get_array()) {
      const json::value* op = g.as_object().if_contains("active_operation");
      if (op != nullptr && op->is_object()) {
        const std::string id = string_field(g, "id");
        ops_[id] = operation_from_json(*op, id);
      }
    }
    dirty_ = true;
    return true;
  }

  json::value snapshot_event() const {
    json::object ops;
    for (const auto& [id, op] : ops_) {
      json::object o{
          {"kind", op.kind}, {"phase", op.phase}, {"done", op.done}, {"total", op.total}};
      if (op.bytes_per_second) o["bytes_per_second"] = *op.bytes_per_second;
      if (op.active_peers) o["active_peers"] = *op.active_peers;
      ops[id] = std::move(o);
    }
    return json::object{{"type", "active_operations"},
                        {"data", json::object{{"operations", std::move(ops)}}}};
  }

  bool apply(const json::value& event, int& rc) {
    const std::string type = string_field(event, "type");
    if (type == "missed") return reload(rc);
    const json::value* data_ptr = event.as_object().if_contains("data");
    if (data_ptr == nullptr) return true;
    const json::value& data = *data_ptr;
    const std::string id = string_field(data, "id");
    const bool about_operations = type.starts_with("operation_") || type == "active_operations";
    if (about_operations && ctx_.json()) CliContext::print_json(event);
    if (type == "peer_count") {
      peers_ = uint_field(data, "count").value_or(peers_);
    } else if (type == "active_operations") {
      const json::value* all = data.as_object().if_contains("operations");
      std::map<std::string, OperationView> next;
      if (all != nullptr && all->is_object()) {
        for (const auto& [key, op] : all->get_object()) {
          const std::string gid(key);
          OperationView v = operation_from_json(op, gid);
          // Keep the richer progress seen in operation_progress when the phase is the same.
          if (auto it = ops_.find(gid);
              it != ops_.end() && it->second.phase == v.phase && it->second.kind == v.kind)
            v = it->second;
          next[gid] = std::move(v);
        }
      }
      ops_ = std::move(next);
    } else if (type == "operation_begin") {
      ops_[id] = starting_operation(id, string_field(data, "kind"));
      note(fmt::format("{}: {} started", printable(id), printable(string_field(data, "kind"))));
    } else if (type == "operation_progress") {
      ops_[id] = operation_from_json(data, id);
    } else if (type == "operation_finished" || type == "operation_failed" ||
               type == "operation_cancelled" || type == "operation_refused") {
      ops_.erase(id);
      printed_.erase(id);
      note(ending(type, id, data));
    } else {
      return true;
    }
    dirty_ = true;
    return true;
  }

  static std::string ending(const std::string& type, const std::string& id,
                            const json::value& data) {
    const std::string kind = printable(string_field(data, "kind"));
    if (type == "operation_finished") {
      const auto fetched = uint_field(data, "bytes_fetched").value_or(0);
      return kind == "download" || kind == "verify"
                 ? fmt::format("{}: {} finished ({} from peers)", printable(id), kind,
                               format_size(fetched))
                 : fmt::format("{}: {} finished", printable(id), kind);
    }
    if (type == "operation_failed")
      return fmt::format("{}: {} failed: {}", printable(id), kind,
                         printable(string_field(data, "reason")));
    if (type == "operation_cancelled") return fmt::format("{}: {} cancelled", printable(id), kind);
    return fmt::format("{}: refused: {}", printable(id), printable(string_field(data, "reason")));
  }

  void note(const std::string& text) {
    if (ctx_.json()) return;
    const std::time_t now = std::time(nullptr);
    block_.note(fmt::format("{:%H:%M:%S} {}", fmt::localtime(now), text));
    drawn_once_ = false;
  }

  void redraw(bool force) {
    if (ctx_.json() || (!force && !dirty_)) return;
    if (!block_.redraws()) {
      // A log gets a line per operation when its phase changes or it passes 10 %.
      for (const auto& [id, op] : ops_) {
        auto& last = printed_[id];
        const auto pct = percent_of(op), before = percent_of(last);
        if (last.kind == op.kind && last.phase == op.phase &&
            (!pct || (before && *pct / 10 <= *before / 10)))
          continue;
        last = op;
        fmt::print("{}\n", progress_line(op, 1000));
      }
      std::fflush(stdout);
      dirty_ = false;
      return;
    }
    const auto now = Clock::now();
    if (!force && drawn_once_ && now - last_draw_ < kRedrawEvery) return;
    const std::size_t width = block_.width();
    std::vector<std::string> lines;
    std::string header =
        fmt::format("lanspread at {}: {} peer{}, {} running. Ctrl-C stops watching.",
                    ctx_.address(), peers_, peers_ == 1 ? "" : "s", ops_.size());
    lines.push_back(header.substr(0, width));
    if (ops_.empty()) lines.push_back("  nothing running");
    for (const auto& [id, op] : ops_) lines.push_back("  " + progress_line(op, width - 2));
    block_.draw(lines);
    last_draw_ = now;
    drawn_once_ = true;
    dirty_ = false;
  }

  CliContext& ctx_;
  LiveBlock block_;
  std::map<std::string, OperationView> ops_;
  std::map<std::string, OperationView> printed_;
  std::uint64_t peers_ = 0;
  bool dirty_ = true;
  bool drawn_once_ = false;
  Clock::time_point last_draw_{};
};

}  // namespace

void add_watch_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<CommonOptions>();
  CLI::App* cmd = app.add_subcommand(
      "watch", "Live view of the running downloads and installs (Ctrl-C stops watching)");
  add_common_options(*cmd, *options);
  cmd->callback([options, &exit_code] {
    CliContext ctx(*options);
    if (auto failed = ctx.connect()) {
      exit_code = *failed;
      return;
    }
    exit_code = Watch(ctx).run();
  });
}

}  // namespace lanspread::app
