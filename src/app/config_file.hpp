// The daemon's settings file: $XDG_CONFIG_HOME/lanspread/config (else
// ~/.config/lanspread/config), or the file of `serve --config`. Format (docs/cli.md):
//
//   # a comment
//   games_dir = /srv/games        an absolute path
//   peer = 192.168.1.20:7979      a peer to dial, HOST[:PORT]; repeatable
//   interface = eth0              an interface to use; repeatable
//   all_interfaces = false        true|false
//
// One `key = value` per line; blank lines and lines starting with '#' are ignored; spaces
// around key and value are trimmed. An unknown key is a warning, a bad value an error naming
// FILE:LINE. The file is bounded (ConfigLimits). Changes made through the API (the games dir)
// are written back atomically, keeping the file's other lines.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <boost/system/result.hpp>

namespace lanspread::app {

// What the file says; absent keys stay unset/empty.
struct Settings {
  std::optional<std::filesystem::path> games_dir;
  std::vector<std::string> peers;       // HOST[:PORT], as written
  std::vector<std::string> interfaces;  // interface names
  std::optional<bool> all_interfaces;
};

// docs/security.md, "Local API" limits (the settings file).
struct ConfigLimits {
  std::size_t max_bytes = 64 * 1024;
  std::size_t max_lines = 1024;
  std::size_t max_peers = 64;
  std::size_t max_interfaces = 64;
};

struct ConfigError {
  std::string message;  // "FILE:LINE: what is wrong and what to do"
};

struct ConfigFile {
  Settings settings;
  std::vector<std::string> warnings;  // "FILE:LINE: unknown key 'x' ignored"
};

// $XDG_CONFIG_HOME/lanspread/config, else $HOME/.config/lanspread/config.
std::filesystem::path default_config_path();

// Parses `text` as the content of `file` (named in messages).
boost::system::result<ConfigFile, ConfigError> parse_config(std::string_view text,
                                                            const std::string& file,
                                                            const ConfigLimits& limits = {});
// Reads and parses `file`; a missing file is an empty one.
boost::system::result<ConfigFile, ConfigError> read_config(const std::filesystem::path& file,
                                                           const ConfigLimits& limits = {});
// `text` with its games_dir line set to `dir` (the first one replaced, or one appended).
std::string with_games_dir(std::string_view text, const std::filesystem::path& dir);
// Sets games_dir in `file` (created with its directory when missing), written atomically and
// durably. Blocking: call off the network thread.
boost::system::result<void, ConfigError> save_games_dir(const std::filesystem::path& file,
                                                        const std::filesystem::path& dir,
                                                        const ConfigLimits& limits = {});

}  // namespace lanspread::app
