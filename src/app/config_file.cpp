#include "app/config_file.hpp"

#include "sys/durable_file.hpp"
#include "sys/unique_fd.hpp"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

namespace lanspread::app {
namespace {

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

bool has_control(std::string_view s) {
  for (const char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  return false;
}

bool valid_port(std::string_view s) {
  unsigned port = 0;
  const auto [end, err] = std::from_chars(s.data(), s.data() + s.size(), port);
  return err == std::errc() && end == s.data() + s.size() && port >= 1 && port <= 65535;
}

bool valid_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_' || c == ':' || c == '%';
}

// HOST[:PORT]: a name or IPv4 address, a bare IPv6 address, or [IPv6][:PORT].
bool valid_peer(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  std::string_view host = s;
  if (s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    host = s.substr(1, close - 1);
    const auto rest = s.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !valid_port(rest.substr(1)))) return false;
  } else if (std::count(s.begin(), s.end(), ':') == 1) {
    const auto colon = s.find(':');
    host = s.substr(0, colon);
    if (!valid_port(s.substr(colon + 1))) return false;
  }
  if (host.empty()) return false;
  return std::all_of(host.begin(), host.end(), valid_host_char);
}

// Linux names: 1 to 15 bytes, no '/', no white space.
bool valid_interface(std::string_view s) {
  if (s.empty() || s.size() > 15) return false;
  return std::none_of(s.begin(), s.end(), [](char c) { return c == '/' || c == ' ' || c == '\t'; });
}

}  // namespace

std::filesystem::path default_config_path() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  if (xdg != nullptr && *xdg == '/') return std::filesystem::path(xdg) / "lanspread" / "config";
  const char* home = std::getenv("HOME");
  const std::filesystem::path base = home != nullptr && *home != '\0'
                                         ? std::filesystem::path(home) / ".config"
                                         : std::filesystem::current_path();
  return base / "lanspread" / "config";
}

boost::system::result<ConfigFile, ConfigError> parse_config(std::string_view text,
                                                            const std::string& file,
                                                            const ConfigLimits& limits) {
  ConfigFile out;
  auto error = [&](std::size_t line, std::string what) {
    return ConfigError{file + ":" + std::to_string(line) + ": " + std::move(what)};
  };
  if (text.size() > limits.max_bytes) {
    return ConfigError{file + ": larger than " + std::to_string(limits.max_bytes) +
                       " bytes; is it the right file?"};
  }
  std::size_t line_no = 0;
  std::optional<std::size_t> games_dir_line;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (++line_no > limits.max_lines) {
      return error(line_no, "more than " + std::to_string(limits.max_lines) + " lines");
    }
    const std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#') continue;
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) {
      return error(line_no,
                   "expected `key = value`, got '" + std::string(line.substr(0, 80)) + "'");
    }
    const std::string key(trim(line.substr(0, eq)));
    const std::string value(trim(line.substr(eq + 1)));
    if (has_control(value))
      return error(line_no, "the value of '" + key + "' has control characters");
    if (key == "games_dir") {
      if (games_dir_line) {
        return error(line_no, "games_dir is also set on line " + std::to_string(*games_dir_line) +
                                  "; keep one");
      }
      if (value.empty() || value.front() != '/') {
        return error(line_no, "games_dir must be an absolute path, got '" + value + "'");
      }
      games_dir_line = line_no;
      out.settings.games_dir = value;
    } else if (key == "peer") {
      if (!valid_peer(value)) {
        return error(line_no,
                     "peer must be HOST or HOST:PORT (port 1-65535; IPv6 as [ADDR]:PORT), got '" +
                         value + "'");
      }
      if (out.settings.peers.size() >= limits.max_peers) {
        return error(line_no, "more than " + std::to_string(limits.max_peers) + " peers");
      }
      out.settings.peers.push_back(value);
    } else if (key == "interface") {
      if (!valid_interface(value)) {
        return error(line_no, "interface must be an interface name (1 to 15 characters), got '" +
                                  value + "'");
      }
      if (out.settings.interfaces.size() >= limits.max_interfaces) {
        return error(line_no, "more than " + std::to_string(limits.max_interfaces) + " interfaces");
      }
      out.settings.interfaces.push_back(value);
    } else if (key == "all_interfaces") {
      if (value != "true" && value != "false") {
        return error(line_no, "all_interfaces must be true or false, got '" + value + "'");
      }
      out.settings.all_interfaces = value == "true";
    } else {
      out.warnings.push_back(file + ":" + std::to_string(line_no) + ": unknown key '" +
                             key.substr(0, 80) + "' ignored");
    }
  }
  return out;
}

boost::system::result<ConfigFile, ConfigError> read_config(const std::filesystem::path& file,
                                                           const ConfigLimits& limits) {
  // A link is followed: settings files are often links into a dotfiles repository.
  sys::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return ConfigFile{};
    return ConfigError{file.string() + ": cannot read: " + std::strerror(errno)};
  }
  auto text = sys::read_small_file(fd.get(), limits.max_bytes, file.string());
  if (!text) {
    if (text.error().code == EFBIG) {
      return ConfigError{file.string() + ": larger than " + std::to_string(limits.max_bytes) +
                         " bytes; is it the right file?"};
    }
    return ConfigError{text.error().message()};
  }
  return parse_config(*text, file.string(), limits);
}

std::string with_games_dir(std::string_view text, const std::filesystem::path& dir) {
  const std::string line = "games_dir = " + dir.string();
  std::string out;
  bool replaced = false;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    const std::string_view t = trim(raw);
    const auto eq = t.find('=');
    if (!replaced && !t.empty() && t.front() != '#' && eq != std::string_view::npos &&
        trim(t.substr(0, eq)) == "games_dir") {
      out += line;
      replaced = true;
    } else {
      out += raw;
    }
    out += '\n';
  }
  if (!replaced) out += line + "\n";
  return out;
}

boost::system::result<void, ConfigError> save_games_dir(const std::filesystem::path& file,
                                                        const std::filesystem::path& dir,
                                                        const ConfigLimits& limits) {
  std::string text;
  {
    sys::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd) {
      auto old = sys::read_small_file(fd.get(), limits.max_bytes, file.string());
      if (!old) return ConfigError{old.error().message()};
      text = std::move(*old);
    } else if (errno != ENOENT) {
      return ConfigError{file.string() + ": cannot read: " + std::strerror(errno)};
    }
  }
  std::error_code ec;
  // A linked file is written where the link points, and stays a link.
  std::filesystem::path target = std::filesystem::weakly_canonical(file, ec);
  if (ec) target = file;
  std::filesystem::create_directories(target.parent_path(), ec);
  if (ec) return ConfigError{target.parent_path().string() + ": cannot create: " + ec.message()};
  if (auto w = sys::write_file_atomic(target.parent_path(), target.filename().string(),
                                      with_games_dir(text, dir));
      !w) {
    return ConfigError{w.error().message()};
  }
  return {};
}

}  // namespace lanspread::app
