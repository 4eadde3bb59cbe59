#include "app/api_auth.hpp"

#include "app/api_key.hpp"
#include "library/hasher.hpp"

#include <algorithm>

namespace lanspread::app {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

Refusal unauthorized(std::string message) {
  return Refusal{401, "unauthorized", std::move(message)};
}

}  // namespace

std::optional<std::string_view> bearer_token(std::string_view authorization) {
  authorization = trim(authorization);
  const auto space = authorization.find(' ');
  if (space == std::string_view::npos || !iequals(authorization.substr(0, space), "Bearer"))
    return std::nullopt;
  return trim(authorization.substr(space + 1));
}

std::optional<std::string_view> cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const auto semi = header.find(';');
    const std::string_view pair = trim(header.substr(0, semi));
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && trim(pair.substr(0, eq)) == name)
      return trim(pair.substr(eq + 1));
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return std::nullopt;
}

std::string session_cookie(std::string_view id) {
  return std::string(kSessionCookie) + "=" + std::string(id) +
         "; HttpOnly; SameSite=Strict; Path=/";
}

ApiAuth::ApiAuth(std::string key, std::string key_path, AuthLimits limits)
    : key_(std::move(key)), key_path_(std::move(key_path)), limits_(limits) {}

ApiAuth::Digest ApiAuth::digest(std::string_view secret) {
  return library::sha256({reinterpret_cast<const std::uint8_t*>(secret.data()), secret.size()})
      .bytes;
}

std::optional<Refusal> ApiAuth::check_host_and_origin(const RequestFacts& r) const {
  if (!hosts_.contains(std::string(r.host))) {
    return Refusal{403, "bad_host",
                   "this daemon answers only requests addressed to its own API address"};
  }
  if (!r.origin.empty() && r.origin != "http://" + std::string(r.host)) {
    return Refusal{403, "bad_origin", "cross-site requests are refused"};
  }
  return std::nullopt;
}

std::variant<Credential, Refusal> ApiAuth::admit(const RequestFacts& r, TimePoint now) {
  std::optional<std::string_view> presented;
  if (!r.authorization.empty()) {
    presented = bearer_token(r.authorization);
    if (!presented) {
      return unauthorized("the Authorization header must be 'Bearer <key>', with the key from " +
                          key_path_);
    }
  } else if (!r.api_key.empty()) {
    presented = r.api_key;
  }
  if (presented) {
    if (equal_constant_time(*presented, key_)) return Credential::key;
    return unauthorized("wrong API key; use the key in " + key_path_ +
                        " (readable only by the user running the daemon)");
  }
  if (const auto id = cookie_value(r.cookie, kSessionCookie)) {
    if (!session_valid(*id, now)) {
      return unauthorized(
          "the browser session has expired or the daemon restarted; open the login link that "
          "`lanspread serve` prints at start, or get a new one with POST /api/v1/login-url");
    }
    // A cookie rides along with any request the browser makes, also one a foreign page
    // starts; only our own page sends our Origin.
    if ((r.mutating || r.websocket) && r.origin.empty()) {
      return Refusal{403, "origin_required",
                     "requests that use the session cookie to change something (or to open the "
                     "event stream) must carry this daemon's Origin"};
    }
    return Credential::session;
  }
  return unauthorized(
      "this API needs its key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>' with "
      "the key from " +
      key_path_ + " (readable only by the user running the daemon)");
}

void ApiAuth::expire(TimePoint now) {
  std::erase_if(tokens_, [&](const auto& t) { return t.second <= now; });
  std::erase_if(sessions_, [&](const auto& s) { return now - s.second >= limits_.session_idle; });
}

bool ApiAuth::session_valid(std::string_view id, TimePoint now) {
  expire(now);
  const auto it = sessions_.find(digest(id));
  if (it == sessions_.end()) return false;
  it->second = now;
  return true;
}

result<std::string> ApiAuth::issue_login_token(TimePoint now) {
  expire(now);
  auto token = random_hex(32);
  if (!token) return token.error();
  while (!tokens_.empty() && tokens_.size() >= limits_.max_login_tokens) {
    tokens_.erase(
        std::min_element(tokens_.begin(), tokens_.end(),
                         [](const auto& a, const auto& b) { return a.second < b.second; }));
  }
  tokens_[digest(*token)] = now + limits_.login_token_ttl;
  return token;
}

result<std::optional<std::string>> ApiAuth::redeem_login_token(std::string_view token,
                                                               TimePoint now) {
  expire(now);
  const auto it = tokens_.find(digest(token));
  if (it == tokens_.end()) return std::optional<std::string>();
  tokens_.erase(it);  // single use, whatever happens next
  auto id = random_hex(32);
  if (!id) return id.error();
  while (!sessions_.empty() && sessions_.size() >= limits_.max_sessions) {
    sessions_.erase(
        std::min_element(sessions_.begin(), sessions_.end(),
                         [](const auto& a, const auto& b) { return a.second < b.second; }));
  }
  sessions_[digest(*id)] = now;
  return std::optional<std::string>(std::move(*id));
}

}  // namespace lanspread::app
