#include "install/intent_log.hpp"

#include "install/durable_fs.hpp"
#include "proto/layout.hpp"

#include <boost/json.hpp>

namespace lanspread::install {
namespace {

constexpr std::string_view kFormat = "lanspread.install-intent";
constexpr std::int64_t kFormatVersion = 1;
constexpr std::size_t kMaxIntentBytes = 64 * 1024;

template <class E, std::size_t N>
std::optional<E> parse_enum(std::string_view s, const E (&all)[N]) {
  for (E e : all) {
    if (to_string(e) == s) return e;
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(Operation op) noexcept {
  switch (op) {
    case Operation::install:
      return "install";
    case Operation::update:
      return "update";
    case Operation::uninstall:
      return "uninstall";
  }
  return "install";
}

std::string_view to_string(Phase phase) noexcept {
  switch (phase) {
    case Phase::staging:
      return "staging";
    case Phase::swapping:
      return "swapping";
    case Phase::cleanup:
      return "cleanup";
    case Phase::removing:
      return "removing";
  }
  return "staging";
}

std::string encode_intent(const Intent& intent) {
  boost::json::object o;
  o["format"] = kFormat;
  o["format_version"] = kFormatVersion;
  o["op"] = to_string(intent.op);
  o["phase"] = to_string(intent.phase);
  o["version"] = intent.version;
  return boost::json::serialize(o) + "\n";
}

std::optional<Intent> decode_intent(std::string_view json) noexcept {
  boost::system::error_code ec;
  boost::json::parse_options opt;
  opt.max_depth = 8;
  const boost::json::value v = boost::json::parse(json, ec, {}, opt);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.get_object();
  const auto* format = o.if_contains("format");
  const auto* fv = o.if_contains("format_version");
  const auto* op = o.if_contains("op");
  const auto* phase = o.if_contains("phase");
  const auto* version = o.if_contains("version");
  if (!format || !format->is_string() || format->get_string() != kFormat) return std::nullopt;
  if (!fv || !fv->is_int64() || fv->get_int64() != kFormatVersion) return std::nullopt;
  if (!op || !op->is_string() || !phase || !phase->is_string()) return std::nullopt;
  static constexpr Operation kOps[] = {Operation::install, Operation::update, Operation::uninstall};
  static constexpr Phase kPhases[] = {Phase::staging, Phase::swapping, Phase::cleanup,
                                      Phase::removing};
  const auto parsed_op = parse_enum(std::string_view(op->get_string()), kOps);
  const auto parsed_phase = parse_enum(std::string_view(phase->get_string()), kPhases);
  if (!parsed_op || !parsed_phase) return std::nullopt;
  // Only combinations an operation of this module writes are accepted.
  const bool uninstall = *parsed_op == Operation::uninstall;
  if (uninstall != (*parsed_phase == Phase::removing)) return std::nullopt;
  Intent intent{*parsed_op, *parsed_phase, {}};
  if (version) {
    if (!version->is_string()) return std::nullopt;
    intent.version = std::string(version->get_string());
  }
  return intent;
}

IntentRead read_intent(const std::filesystem::path& root) {
  IntentRead out;
  const auto path = root / std::string(proto::layout::kIntent);
  const NodeKind kind = node_kind(path);
  if (kind == NodeKind::absent) return out;
  out.state = IntentRead::State::unreadable;
  if (kind != NodeKind::regular) {
    out.problem = "intent log is not a regular file";
    return out;
  }
  std::string detail;
  auto text = read_small_file(path, kMaxIntentBytes, detail);
  if (!text) {
    out.problem = detail;
    return out;
  }
  auto intent = decode_intent(*text);
  if (!intent) {
    out.problem = "intent log is corrupt or of an unknown format";
    return out;
  }
  out.state = IntentRead::State::valid;
  out.intent = std::move(*intent);
  return out;
}

result<void> write_intent(const std::filesystem::path& root, const Intent& intent,
                          std::string& detail) {
  return write_file_atomic(root, proto::layout::kIntent, encode_intent(intent), detail);
}

result<void> clear_intent(const std::filesystem::path& root, std::string& detail) {
  if (auto r = remove_file_durable(root / std::string(proto::layout::kIntentTmp), detail); !r)
    return r;
  return remove_file_durable(root / std::string(proto::layout::kIntent), detail);
}

}  // namespace lanspread::install
