// Who may use the local API, decided without IO (docs/api.md, "Authentication"):
// Host and Origin checks for every request; for /api/ requests the API key (Authorization:
// Bearer or X-API-Key, compared in constant time) or a browser session cookie, which must
// come with the daemon's own Origin on requests that change something (CSRF). One-time
// login tokens turn into sessions. Tokens and sessions are kept only as SHA-256 digests, so
// looking one up reveals nothing through timing. Time is passed in; network thread only.
#pragma once

#include "app/api_limits.hpp"
#include "app/error.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>

namespace lanspread::app {

inline constexpr std::string_view kSessionCookie = "lanspread_session";

// What the decision needs from a request's head.
struct RequestFacts {
  bool mutating = false;   // any method but GET, HEAD and OPTIONS
  bool websocket = false;  // an upgrade: browsers send cookies but no custom headers
  std::string_view host;
  std::string_view origin;
  std::string_view authorization;
  std::string_view api_key;  // X-API-Key
  std::string_view cookie;
};

struct Refusal {
  unsigned status = 403;
  std::string code;
  std::string message;
};

enum class Credential { key, session };

class ApiAuth {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // `key_path` is named in 401 answers, so a person knows where the key is.
  ApiAuth(std::string key, std::string key_path, AuthLimits limits = {});

  // The Host values this daemon answers to ("127.0.0.1:7878", ...); its own origin is
  // "http://" + one of them.
  void set_allowed_hosts(std::set<std::string> hosts) { hosts_ = std::move(hosts); }

  // Every request: the Host must name us, an Origin (when sent) must be our own. The
  // refusal never says which Host would pass.
  std::optional<Refusal> check_host_and_origin(const RequestFacts& r) const;
  // /api/ requests: the credential that admits the request, or a 401/403 refusal.
  std::variant<Credential, Refusal> admit(const RequestFacts& r, TimePoint now);

  // A new one-time login token (256 random bits, hex), valid for AuthLimits::login_token_ttl;
  // beyond max_login_tokens the oldest unredeemed one is dropped.
  result<std::string> issue_login_token(TimePoint now);
  // Spends a token: a new session id, or nullopt when the token is unknown, spent or
  // expired. Beyond max_sessions the least recently used session is evicted.
  result<std::optional<std::string>> redeem_login_token(std::string_view token, TimePoint now);

  std::size_t session_count() const { return sessions_.size(); }
  std::size_t login_token_count() const { return tokens_.size(); }

 private:
  using Digest = std::array<std::uint8_t, 32>;
  static Digest digest(std::string_view secret);
  bool session_valid(std::string_view id, TimePoint now);
  void expire(TimePoint now);

  std::string key_;
  std::string key_path_;
  AuthLimits limits_;
  std::set<std::string> hosts_;
  std::map<Digest, TimePoint> tokens_;    // digest -> expiry
  std::map<Digest, TimePoint> sessions_;  // digest -> last use
};

// "lanspread_session=<id>; HttpOnly; SameSite=Strict; Path=/"
std::string session_cookie(std::string_view id);
// The value of cookie `name` in a Cookie header, if present.
std::optional<std::string_view> cookie_value(std::string_view header, std::string_view name);
// The token of "Bearer <token>" (scheme case-insensitive), if that is the header's form.
std::optional<std::string_view> bearer_token(std::string_view authorization);

}  // namespace lanspread::app
