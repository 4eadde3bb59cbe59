#include "app/api_auth.hpp"

#include <gtest/gtest.h>

namespace lanspread::app {
namespace {
using namespace std::chrono_literals;

const std::string kKey(64, 'k');
const std::string kHost = "127.0.0.1:7878";
const std::string kOrigin = "http://127.0.0.1:7878";

ApiAuth make_auth(AuthLimits limits = {}) {
  ApiAuth auth(kKey, "/home/u/.local/share/lanspread/state/api-key", limits);
  auth.set_allowed_hosts({kHost, "localhost:7878"});
  return auth;
}

RequestFacts facts() {
  RequestFacts r;
  r.host = kHost;
  return r;
}

std::optional<Refusal> refusal(const std::variant<Credential, Refusal>& v) {
  if (const auto* r = std::get_if<Refusal>(&v)) return *r;
  return std::nullopt;
}

std::string login(ApiAuth& auth, ApiAuth::TimePoint now) {
  auto token = auth.issue_login_token(now);
  EXPECT_TRUE(token);
  auto session = auth.redeem_login_token(*token, now);
  EXPECT_TRUE(session && *session);
  return **session;
}

TEST(ApiAuth, ForeignHostAndOriginAreRefusedWithoutHints) {
  // Guards against DNS rebinding and cross-site requests, and against a 403 that tells the
  // caller which Host would pass.
  ApiAuth auth = make_auth();
  RequestFacts r = facts();
  r.host = "evil.example:7878";
  auto refused = auth.check_host_and_origin(r);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403u);
  EXPECT_EQ(refused->code, "bad_host");
  EXPECT_EQ(refused->message.find("127.0.0.1"), std::string::npos);
  EXPECT_EQ(refused->message.find("localhost"), std::string::npos);
  EXPECT_EQ(refused->message.find("7878"), std::string::npos);
  r = facts();
  r.origin = "http://evil.example";
  ASSERT_TRUE(auth.check_host_and_origin(r));
  EXPECT_EQ(auth.check_host_and_origin(r)->code, "bad_origin");
  r.origin = kOrigin;
  EXPECT_FALSE(auth.check_host_and_origin(r));
}

TEST(ApiAuth, TheKeyIsRequiredInEitherHeader) {
  // Guards against any local process driving the daemon without the key.
  ApiAuth auth = make_auth();
  const auto now = ApiAuth::TimePoint{} + 1h;
  RequestFacts r = facts();
  auto none = refusal(auth.admit(r, now));
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401u);
  EXPECT_EQ(none->code, "unauthorized");
  EXPECT_NE(none->message.find("/home/u/.local/share/lanspread/state/api-key"), std::string::npos);

  const std::string bearer = "Bearer " + kKey;
  r.authorization = bearer;
  EXPECT_EQ(std::get<Credential>(auth.admit(r, now)), Credential::key);
  const std::string lower = "bearer  " + kKey;
  r.authorization = lower;
  EXPECT_EQ(std::get<Credential>(auth.admit(r, now)), Credential::key);
  const std::string wrong = "Bearer " + std::string(64, 'x');
  r.authorization = wrong;
  EXPECT_EQ(refusal(auth.admit(r, now))->status, 401u);
  const std::string prefix = "Bearer " + kKey.substr(0, 63);
  r.authorization = prefix;
  EXPECT_EQ(refusal(auth.admit(r, now))->status, 401u);
  r.authorization = "Basic a2V5Og==";
  EXPECT_EQ(refusal(auth.admit(r, now))->status, 401u);

  r = facts();
  r.api_key = kKey;
  EXPECT_EQ(std::get<Credential>(auth.admit(r, now)), Credential::key);
  r.api_key = "nope";
  EXPECT_EQ(refusal(auth.admit(r, now))->status, 401u);
}

TEST(ApiAuth, LoginTokensWorkOnceAndExpire) {
  // Guards against a login link that can be replayed or that never expires.
  ApiAuth auth = make_auth();
  const auto t0 = ApiAuth::TimePoint{} + 1h;
  auto token = auth.issue_login_token(t0);
  ASSERT_TRUE(token);
  EXPECT_EQ(token->size(), 64u);
  auto first = auth.redeem_login_token(*token, t0 + 1s);
  ASSERT_TRUE(first && *first);
  EXPECT_EQ((*first)->size(), 64u);
  auto second = auth.redeem_login_token(*token, t0 + 2s);
  ASSERT_TRUE(second);
  EXPECT_FALSE(*second);

  auto late = auth.issue_login_token(t0);
  ASSERT_TRUE(late);
  EXPECT_FALSE(*auth.redeem_login_token(*late, t0 + 10min));
  EXPECT_FALSE(*auth.redeem_login_token("", t0));
  EXPECT_FALSE(*auth.redeem_login_token(std::string(64, '0'), t0));
}

TEST(ApiAuth, UnredeemedTokensAreCapped) {
  // Guards against unbounded growth when login URLs are asked for and never used.
  AuthLimits limits;
  limits.max_login_tokens = 3;
  ApiAuth auth = make_auth(limits);
  const auto t0 = ApiAuth::TimePoint{} + 1h;
  std::vector<std::string> tokens;
  for (int i = 0; i < 5; ++i)
    tokens.push_back(*auth.issue_login_token(t0 + std::chrono::seconds(i)));
  EXPECT_EQ(auth.login_token_count(), 3u);
  EXPECT_FALSE(*auth.redeem_login_token(tokens[0], t0 + 10s));  // the oldest were dropped
  EXPECT_TRUE(*auth.redeem_login_token(tokens[4], t0 + 10s));
}

TEST(ApiAuth, SessionCookieNeedsOurOriginToChangeAnything) {
  // Guards against cross-site request forgery through the session cookie: a request that
  // changes something (or opens the event stream) must carry our Origin.
  ApiAuth auth = make_auth();
  const auto t0 = ApiAuth::TimePoint{} + 1h;
  const std::string cookie = "theme=dark; lanspread_session=" + login(auth, t0);
  RequestFacts r = facts();
  r.cookie = cookie;
  EXPECT_EQ(std::get<Credential>(auth.admit(r, t0)), Credential::session);
  r.mutating = true;
  auto csrf = refusal(auth.admit(r, t0));
  ASSERT_TRUE(csrf);
  EXPECT_EQ(csrf->status, 403u);
  EXPECT_EQ(csrf->code, "origin_required");
  r.origin = kOrigin;
  EXPECT_EQ(std::get<Credential>(auth.admit(r, t0)), Credential::session);
  r.mutating = false;
  r.websocket = true;
  r.origin = "";
  EXPECT_EQ(refusal(auth.admit(r, t0))->code, "origin_required");

  RequestFacts forged = facts();
  const std::string bad = "lanspread_session=" + std::string(64, 'f');
  forged.cookie = bad;
  EXPECT_EQ(refusal(auth.admit(forged, t0))->status, 401u);
}

TEST(ApiAuth, SessionsExpireWhenIdleAndAreCapped) {
  // Guards against sessions that live forever and an unbounded session table.
  AuthLimits limits;
  limits.max_sessions = 2;
  ApiAuth auth = make_auth(limits);
  const auto t0 = ApiAuth::TimePoint{} + 1h;
  const std::string a = "lanspread_session=" + login(auth, t0);
  RequestFacts r = facts();
  r.cookie = a;
  EXPECT_FALSE(refusal(auth.admit(r, t0 + 11h)));  // used: idle time starts again
  EXPECT_FALSE(refusal(auth.admit(r, t0 + 22h)));
  EXPECT_EQ(refusal(auth.admit(r, t0 + 35h))->status, 401u);

  const std::string b = "lanspread_session=" + login(auth, t0 + 36h);
  const std::string c = "lanspread_session=" + login(auth, t0 + 37h);
  const std::string d = "lanspread_session=" + login(auth, t0 + 38h);
  EXPECT_EQ(auth.session_count(), 2u);
  r.cookie = b;  // the least recently used went first
  EXPECT_TRUE(refusal(auth.admit(r, t0 + 38h)));
  r.cookie = c;
  EXPECT_FALSE(refusal(auth.admit(r, t0 + 38h)));
  r.cookie = d;
  EXPECT_FALSE(refusal(auth.admit(r, t0 + 38h)));
}

TEST(ApiAuth, HeaderParsing) {
  // Guards against misreading cookies and the Authorization scheme.
  EXPECT_EQ(cookie_value("a=1; lanspread_session=xyz ; b=2", "lanspread_session"), "xyz");
  EXPECT_EQ(cookie_value("lanspread_session_x=1", "lanspread_session"), std::nullopt);
  EXPECT_EQ(cookie_value("", "lanspread_session"), std::nullopt);
  EXPECT_EQ(bearer_token("Bearer abc"), "abc");
  EXPECT_EQ(bearer_token("Bearerabc"), std::nullopt);
  EXPECT_EQ(bearer_token("Token abc"), std::nullopt);
  EXPECT_EQ(session_cookie("abc"), "lanspread_session=abc; HttpOnly; SameSite=Strict; Path=/");
}

}  // namespace
}  // namespace lanspread::app
