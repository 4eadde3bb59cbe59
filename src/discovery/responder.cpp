#include "discovery/responder.hpp"

#include <algorithm>
#include <cctype>

namespace lanspread::discovery {
namespace {

std::string sanitize_label(std::string_view in, std::size_t max) {
  std::string out;
  for (char c : in) {
    if (out.size() >= max) break;
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) {
      out.push_back(static_cast<char>(std::tolower(u)));
    } else if (!out.empty() && out.back() != '-') {
      out.push_back('-');
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

std::string lower_ascii(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_type(const dns::Question& q, dns::RrType t) {
  return q.type == static_cast<std::uint16_t>(t) ||
         q.type == static_cast<std::uint16_t>(dns::RrType::any);
}

dns::Record make_record(const dns::Name& name, dns::RrType type, bool unique, std::uint32_t ttl,
                        dns::Rdata rdata) {
  return dns::Record{
      name, static_cast<std::uint16_t>(type), dns::kClassIn, unique, ttl, std::move(rdata)};
}

bool same_record(const dns::Record& a, const dns::Record& b) {
  return a.type == b.type && a.name == b.name && a.rdata == b.rdata;
}

void add_unique(std::vector<dns::Record>& to, const dns::Record& r) {
  if (std::none_of(to.begin(), to.end(), [&](const dns::Record& x) { return same_record(x, r); }))
    to.push_back(r);
}

}  // namespace

result<void> validate(const Advertisement& ad) {
  if (ad.id.empty() || ad.id.size() > kMaxPeerIdLength || ad.port == 0) return errc::bad_service;
  if (build_txt(ad).strings.size() != 3 + ad.extra_txt.size()) return errc::bad_service;
  for (const auto& [k, v] : ad.extra_txt) {
    const auto key = lower_ascii(k);
    if (key.empty() || key.find('=') != std::string::npos || key == "v" || key == "id" ||
        key == "rev" || k.size() + 1 + v.size() > 255)
      return errc::bad_service;
  }
  if (3 + std::string("id=").size() + ad.id.size() > 255) return errc::bad_service;
  return {};
}

dns::TxtData build_txt(const Advertisement& ad) {
  dns::TxtData txt;
  txt.strings.push_back("v=" + std::string(kProtocolVersion));
  txt.strings.push_back("id=" + ad.id);
  txt.strings.push_back("rev=" + std::to_string(ad.rev));
  for (const auto& [k, v] : ad.extra_txt) txt.strings.push_back(k + "=" + v);
  return txt;
}

std::map<std::string, std::string> parse_txt(const dns::TxtData& txt) {
  std::map<std::string, std::string> out;
  for (const auto& s : txt.strings) {
    const auto eq = s.find('=');
    auto key = lower_ascii(s.substr(0, eq));
    if (key.empty()) continue;
    out.emplace(std::move(key), eq == std::string::npos ? std::string() : s.substr(eq + 1));
  }
  return out;
}

Responder::Responder(Advertisement ad, const Settings& settings, unsigned seed)
    : ad_(std::move(ad)),
      settings_(settings),
      rng_(seed),
      service_(dns::name_from_dotted(kServiceType)),
      services_enum_(dns::name_from_dotted(kServicesEnumeration)) {
  set_names();
}

void Responder::set_names() {
  std::string label = sanitize_label(ad_.host_label, 40);
  if (label.empty()) label = "lanspread";
  std::string short_id = sanitize_label(ad_.id, 8);
  if (short_id.empty()) short_id = "peer";
  const std::string base = label + "-" + short_id;
  // DNS-SD convention for instance conflicts is " (2)"; host names stay DNS-safe.
  const std::string suffix = renames_ == 0 ? "" : std::to_string(renames_ + 1);
  instance_ = dns::prepend(suffix.empty() ? base : base + " (" + suffix + ")", service_);
  host_ = dns::prepend(suffix.empty() ? base : base + "-" + suffix, dns::name_from_dotted("local"));
}

void Responder::restart_probing(Clock::time_point at) {
  state_ = State::probing;
  sent_ = 0;
  next_ = at;
}

void Responder::start(Clock::time_point now) {
  restart_probing(now + milliseconds(std::uniform_int_distribution<int>(0, 250)(rng_)));
}

void Responder::set_rev(std::uint64_t rev, Clock::time_point now) {
  ad_.rev = rev;
  if (state_ == State::announcing || state_ == State::running) {
    state_ = State::announcing;
    sent_ = 0;
    next_ = now;
  }
}

Responder::Poll Responder::poll(Clock::time_point now) {
  if (state_ == State::idle || state_ == State::running) return {};
  if (now < next_) return {Step::none, next_};
  if (state_ == State::probing) {
    if (sent_ < settings_.probe_count) {
      ++sent_;
      next_ = now + settings_.probe_interval;
      return {Step::probe, next_};
    }
    state_ = State::announcing;
    sent_ = 0;
  }
  if (sent_ < settings_.announce_count) {
    // RFC 6762 §8.3: the interval between announcements at least doubles each time.
    next_ = now + settings_.announce_interval * (1 << std::min(sent_, 10));
    ++sent_;
    if (sent_ < settings_.announce_count) return {Step::announce, next_};
    state_ = State::running;
    return {Step::announce, std::nullopt};
  }
  state_ = State::running;
  return {};
}

std::vector<dns::Record> Responder::unique_records(const NetInterface& iface,
                                                   std::uint32_t ttl) const {
  std::vector<dns::Record> out;
  out.push_back(
      make_record(instance_, dns::RrType::srv, true, ttl, dns::SrvData{0, 0, ad_.port, host_}));
  out.push_back(make_record(instance_, dns::RrType::txt, true, ttl, build_txt(ad_)));
  for (const auto& a : iface.v4)
    out.push_back(make_record(host_, dns::RrType::a, true, ttl, dns::AData{a}));
  for (const auto& a : iface.v6)
    out.push_back(make_record(host_, dns::RrType::aaaa, true, ttl, dns::AaaaData{a}));
  return out;
}

dns::Message Responder::probe(const NetInterface& iface) const {
  dns::Message m;
  // RFC 6762 §8.1: ask for ANY on the names we want, proposing our records as authority.
  // The QU bit stays clear: with SO_REUSEPORT a unicast defence could land on another
  // process's socket, while a multicast one reaches every socket on the link.
  m.questions.push_back(
      {instance_, static_cast<std::uint16_t>(dns::RrType::any), dns::kClassIn, false});
  m.questions.push_back(
      {host_, static_cast<std::uint16_t>(dns::RrType::any), dns::kClassIn, false});
  m.authorities = unique_records(iface, static_cast<std::uint32_t>(settings_.record_ttl.count()));
  for (auto& r : m.authorities) r.cache_flush = false;
  return m;
}

dns::Message Responder::announcement(const NetInterface& iface, bool goodbye) const {
  const auto ttl = goodbye ? 0u : static_cast<std::uint32_t>(settings_.record_ttl.count());
  dns::Message m;
  m.flags = dns::kFlagResponse | dns::kFlagAuthoritative;
  m.answers.push_back(make_record(service_, dns::RrType::ptr, false, ttl, dns::PtrData{instance_}));
  if (!goodbye) {
    m.answers.push_back(
        make_record(services_enum_, dns::RrType::ptr, false, ttl, dns::PtrData{service_}));
  }
  auto unique = unique_records(iface, ttl);
  m.answers.insert(m.answers.end(), unique.begin(), unique.end());
  return m;
}

std::optional<dns::Message> Responder::answer(const dns::Message& query, const NetInterface& iface,
                                              bool legacy) const {
  if (state_ != State::running || query.is_response() || query.opcode() != 0) return std::nullopt;
  const auto ttl = static_cast<std::uint32_t>(settings_.record_ttl.count());
  const auto unique = unique_records(iface, ttl);
  auto pick = [&](const dns::Name& name, dns::RrType t, std::vector<dns::Record>& to) {
    for (const auto& r : unique) {
      if (r.type == static_cast<std::uint16_t>(t) && r.name == name) add_unique(to, r);
    }
  };
  std::vector<dns::Record> answers;
  std::vector<dns::Record> additionals;
  for (const auto& q : query.questions) {
    if (q.qclass != dns::kClassIn && q.qclass != 255) continue;
    if (q.name == service_ && is_type(q, dns::RrType::ptr)) {
      add_unique(answers,
                 make_record(service_, dns::RrType::ptr, false, ttl, dns::PtrData{instance_}));
      // RFC 6763 §12.1: SRV, TXT and addresses ride along so the browser needs no second query.
      pick(instance_, dns::RrType::srv, additionals);
      pick(instance_, dns::RrType::txt, additionals);
      pick(host_, dns::RrType::a, additionals);
      pick(host_, dns::RrType::aaaa, additionals);
    }
    if (q.name == services_enum_ && is_type(q, dns::RrType::ptr)) {
      add_unique(answers,
                 make_record(services_enum_, dns::RrType::ptr, false, ttl, dns::PtrData{service_}));
    }
    if (q.name == instance_) {
      if (is_type(q, dns::RrType::srv)) {
        pick(instance_, dns::RrType::srv, answers);
        pick(host_, dns::RrType::a, additionals);
        pick(host_, dns::RrType::aaaa, additionals);
      }
      if (is_type(q, dns::RrType::txt)) pick(instance_, dns::RrType::txt, answers);
    }
    if (q.name == host_) {
      if (is_type(q, dns::RrType::a)) pick(host_, dns::RrType::a, answers);
      if (is_type(q, dns::RrType::aaaa)) pick(host_, dns::RrType::aaaa, answers);
    }
  }
  // RFC 6762 §7.1 known-answer suppression: skip what the asker holds with at least half our TTL.
  std::erase_if(answers, [&](const dns::Record& r) {
    return std::any_of(query.answers.begin(), query.answers.end(), [&](const dns::Record& k) {
      return same_record(k, r) && k.ttl >= r.ttl / 2;
    });
  });
  if (answers.empty()) return std::nullopt;
  std::erase_if(additionals, [&](const dns::Record& r) {
    return std::any_of(answers.begin(), answers.end(),
                       [&](const dns::Record& a) { return same_record(a, r); });
  });
  dns::Message m;
  m.flags = dns::kFlagResponse | dns::kFlagAuthoritative;
  m.answers = std::move(answers);
  m.additionals = std::move(additionals);
  if (legacy) {
    m.id = query.id;
    m.questions = query.questions;
    for (auto& q : m.questions) q.unicast_response = false;
    for (auto* section : {&m.answers, &m.additionals}) {
      for (auto& r : *section) {
        r.cache_flush = false;  // RFC 6762 §6.7: legacy resolvers do not know the bit
        r.ttl = std::min<std::uint32_t>(r.ttl, 10);
      }
    }
  }
  return m;
}

bool Responder::check_conflict(const dns::Message& message, Clock::time_point now) {
  if (state_ == State::idle) return false;
  NetInterface none;
  const auto ours = unique_records(none, 0);  // SRV and TXT of the instance
  // Our own looped-back packets never count, not even one from before a `rev` change: a TXT
  // record conflicts only when it names another peer id, an SRV record when it differs.
  auto differs = [&](const dns::Record& r) {
    if (!(r.name == instance_)) return false;
    if (r.type == static_cast<std::uint16_t>(dns::RrType::txt)) {
      const auto* txt = std::get_if<dns::TxtData>(&r.rdata);
      if (txt == nullptr) return false;
      auto keys = parse_txt(*txt);
      auto it = keys.find("id");
      return it == keys.end() || it->second != ad_.id;
    }
    if (r.type != static_cast<std::uint16_t>(dns::RrType::srv)) return false;
    return std::none_of(ours.begin(), ours.end(), [&](const dns::Record& o) {
      return o.type == r.type && o.rdata == r.rdata;
    });
  };
  if (message.is_response()) {
    for (const auto* section : {&message.answers, &message.additionals}) {
      for (const auto& r : *section) {
        if (r.ttl != 0 && differs(r)) {
          ++renames_;
          set_names();
          restart_probing(now);
          return true;
        }
      }
    }
    return false;
  }
  if (state_ != State::probing) return false;
  // Simultaneous probe (RFC 6762 §8.2): compare the proposed records; the lexicographically
  // later set wins, the loser waits one second and probes again.
  std::vector<std::pair<std::uint16_t, std::vector<std::uint8_t>>> theirs;
  for (const auto& r : message.authorities) {
    if (r.name == instance_) theirs.emplace_back(r.type, dns::canonical_rdata(r));
  }
  if (theirs.empty()) return false;
  std::vector<std::pair<std::uint16_t, std::vector<std::uint8_t>>> mine;
  for (const auto& r : ours) mine.emplace_back(r.type, dns::canonical_rdata(r));
  std::sort(theirs.begin(), theirs.end());
  std::sort(mine.begin(), mine.end());
  if (theirs > mine) {
    restart_probing(now + std::chrono::seconds(1));
    return true;
  }
  return false;
}

}  // namespace lanspread::discovery
