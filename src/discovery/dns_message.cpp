#include "discovery/dns_message.hpp"

#include "discovery/limits.hpp"
#include "proto/try.hpp"

#include <algorithm>
#include <map>

namespace lanspread::discovery::dns {
namespace {

char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

bool label_equal(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

// Reads from a bounded packet; every read checks the remaining length.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> data) : data_(data) {}

  std::size_t pos() const noexcept { return pos_; }
  std::size_t remaining() const noexcept { return data_.size() - pos_; }

  result<std::uint8_t> u8() noexcept {
    if (remaining() < 1) return errc::truncated;
    return data_[pos_++];
  }
  result<std::uint16_t> u16() noexcept {
    if (remaining() < 2) return errc::truncated;
    auto v = static_cast<std::uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  result<std::uint32_t> u32() noexcept {
    if (remaining() < 4) return errc::truncated;
    std::uint32_t v = (std::uint32_t{data_[pos_]} << 24) | (std::uint32_t{data_[pos_ + 1]} << 16) |
                      (std::uint32_t{data_[pos_ + 2]} << 8) | std::uint32_t{data_[pos_ + 3]};
    pos_ += 4;
    return v;
  }
  result<std::span<const std::uint8_t>> bytes(std::size_t n) noexcept {
    if (remaining() < n) return errc::truncated;
    auto s = data_.subspan(pos_, n);
    pos_ += n;
    return s;
  }

  // Reads a possibly compressed name starting at the current position. Iterative: each
  // pointer must point strictly before the label that holds it, so the walk always ends.
  result<Name> name() noexcept {
    Name out;
    std::size_t cursor = pos_;
    std::size_t resume = 0;  // where the caller's reading continues after the first pointer
    bool jumped = false;
    std::size_t jumps = 0;
    std::size_t wire_length = 1;          // the root label
    std::size_t lowest_allowed = cursor;  // pointers must land before this offset
    for (;;) {
      if (cursor >= data_.size()) return errc::truncated;
      const std::uint8_t len = data_[cursor];
      if ((len & 0xC0) == 0xC0) {
        if (cursor + 1 >= data_.size()) return errc::truncated;
        const std::size_t target = (static_cast<std::size_t>(len & 0x3F) << 8) | data_[cursor + 1];
        if (target >= lowest_allowed) return errc::bad_pointer;
        if (++jumps > kMaxPointerJumps) return errc::bad_pointer;
        if (!jumped) resume = cursor + 2;
        jumped = true;
        lowest_allowed = target;
        cursor = target;
        continue;
      }
      if ((len & 0xC0) != 0) return errc::bad_label;  // 0x40 and 0x80 label types are reserved
      if (len == 0) {
        pos_ = jumped ? resume : cursor + 1;
        return out;
      }
      if (cursor + 1 + len > data_.size()) return errc::truncated;
      wire_length += 1 + len;
      if (wire_length > kMaxNameWireLength) return errc::name_too_long;
      out.labels.emplace_back(reinterpret_cast<const char*>(&data_[cursor + 1]), len);
      cursor += 1 + len;
    }
  }

 private:
  std::span<const std::uint8_t> data_;
  std::size_t pos_ = 0;
};

result<Rdata> parse_rdata(Reader& r, std::uint16_t type, std::uint16_t rdlength) noexcept {
  const std::size_t end = r.pos() + rdlength;
  if (r.remaining() < rdlength) return errc::truncated;
  Rdata out;
  switch (static_cast<RrType>(type)) {
    case RrType::a: {
      if (rdlength != 4) return errc::bad_rdata;
      LANSPREAD_TRY(auto b, r.bytes(4));
      boost::asio::ip::address_v4::bytes_type bytes;
      std::copy(b.begin(), b.end(), bytes.begin());
      out = AData{boost::asio::ip::address_v4(bytes)};
      break;
    }
    case RrType::aaaa: {
      if (rdlength != 16) return errc::bad_rdata;
      LANSPREAD_TRY(auto b, r.bytes(16));
      boost::asio::ip::address_v6::bytes_type bytes;
      std::copy(b.begin(), b.end(), bytes.begin());
      out = AaaaData{boost::asio::ip::address_v6(bytes)};
      break;
    }
    case RrType::ptr: {
      LANSPREAD_TRY(auto n, r.name());
      out = PtrData{std::move(n)};
      break;
    }
    case RrType::srv: {
      SrvData srv;
      LANSPREAD_TRY(srv.priority, r.u16());
      LANSPREAD_TRY(srv.weight, r.u16());
      LANSPREAD_TRY(srv.port, r.u16());
      LANSPREAD_TRY(srv.target, r.name());
      out = std::move(srv);
      break;
    }
    case RrType::txt: {
      TxtData txt;
      while (r.pos() < end) {
        LANSPREAD_TRY(auto len, r.u8());
        if (r.pos() + len > end) return errc::bad_rdata;
        LANSPREAD_TRY(auto b, r.bytes(len));
        if (len == 0) continue;  // an empty string is the "no TXT data" placeholder
        if (txt.strings.size() >= kMaxTxtEntries) return errc::bad_rdata;
        txt.strings.emplace_back(reinterpret_cast<const char*>(b.data()), b.size());
      }
      out = std::move(txt);
      break;
    }
    default: {
      LANSPREAD_TRY(auto b, r.bytes(rdlength));
      out = RawData{std::vector<std::uint8_t>(b.begin(), b.end())};
      break;
    }
  }
  // A name inside the data must end exactly where rdlength says.
  if (r.pos() != end) return errc::bad_rdata;
  return out;
}

result<Record> parse_record(Reader& r) noexcept {
  Record rec;
  LANSPREAD_TRY(rec.name, r.name());
  LANSPREAD_TRY(rec.type, r.u16());
  LANSPREAD_TRY(auto cls, r.u16());
  rec.cache_flush = (cls & 0x8000) != 0;
  rec.rclass = cls & 0x7FFF;
  LANSPREAD_TRY(rec.ttl, r.u32());
  LANSPREAD_TRY(auto rdlength, r.u16());
  LANSPREAD_TRY(rec.rdata, parse_rdata(r, rec.type, rdlength));
  return rec;
}

// Writes with name compression: every suffix written is remembered by its canonical key.
class Writer {
 public:
  explicit Writer(std::size_t max_size) : max_size_(max_size) {}

  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) {
    out_.push_back(static_cast<std::uint8_t>(v >> 8));
    out_.push_back(static_cast<std::uint8_t>(v));
  }
  void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v));
  }
  void bytes(const void* p, std::size_t n) {
    auto b = static_cast<const std::uint8_t*>(p);
    out_.insert(out_.end(), b, b + n);
  }

  result<void> name(const Name& n, bool compress = true) {
    std::size_t wire = 1;
    for (const auto& l : n.labels) {
      if (l.empty() || l.size() > kMaxLabelLength) return errc::bad_label;
      wire += 1 + l.size();
    }
    if (wire > kMaxNameWireLength) return errc::name_too_long;
    for (std::size_t i = 0; i < n.labels.size(); ++i) {
      const std::string key = suffix_key(n, i);
      if (compress) {
        if (auto it = offsets_.find(key); it != offsets_.end()) {
          u16(static_cast<std::uint16_t>(0xC000 | it->second));
          return {};
        }
        if (out_.size() < 0x3FFF) offsets_.emplace(key, static_cast<std::uint16_t>(out_.size()));
      }
      u8(static_cast<std::uint8_t>(n.labels[i].size()));
      bytes(n.labels[i].data(), n.labels[i].size());
    }
    u8(0);
    return {};
  }

  std::size_t size() const noexcept { return out_.size(); }
  void patch_u16(std::size_t at, std::uint16_t v) {
    out_[at] = static_cast<std::uint8_t>(v >> 8);
    out_[at + 1] = static_cast<std::uint8_t>(v);
  }
  result<std::vector<std::uint8_t>> finish() {
    if (out_.size() > max_size_) return errc::message_too_large;
    return std::move(out_);
  }

 private:
  static std::string suffix_key(const Name& n, std::size_t from) {
    std::string key;
    for (std::size_t i = from; i < n.labels.size(); ++i) {
      key.push_back(static_cast<char>(n.labels[i].size()));
      for (char c : n.labels[i]) key.push_back(lower(c));
    }
    return key;
  }

  std::size_t max_size_;
  std::vector<std::uint8_t> out_;
  std::map<std::string, std::uint16_t> offsets_;
};

result<void> write_rdata(Writer& w, const Rdata& rdata, bool compress) {
  return std::visit(
      [&](const auto& d) -> result<void> {
        using T = std::decay_t<decltype(d)>;
        if constexpr (std::is_same_v<T, AData>) {
          auto b = d.address.to_bytes();
          w.bytes(b.data(), b.size());
        } else if constexpr (std::is_same_v<T, AaaaData>) {
          auto b = d.address.to_bytes();
          w.bytes(b.data(), b.size());
        } else if constexpr (std::is_same_v<T, PtrData>) {
          return w.name(d.target, compress);
        } else if constexpr (std::is_same_v<T, SrvData>) {
          w.u16(d.priority);
          w.u16(d.weight);
          w.u16(d.port);
          return w.name(d.target, compress);
        } else if constexpr (std::is_same_v<T, TxtData>) {
          if (d.strings.empty()) w.u8(0);  // RFC 6763 §6.1: never an empty TXT record
          for (const auto& s : d.strings) {
            if (s.empty() || s.size() > 255) return errc::bad_rdata;
            w.u8(static_cast<std::uint8_t>(s.size()));
            w.bytes(s.data(), s.size());
          }
        } else {
          w.bytes(d.bytes.data(), d.bytes.size());
        }
        return {};
      },
      rdata);
}

result<void> write_record(Writer& w, const Record& rec) {
  LANSPREAD_TRYV(w.name(rec.name));
  w.u16(rec.type);
  w.u16(static_cast<std::uint16_t>((rec.rclass & 0x7FFF) | (rec.cache_flush ? 0x8000 : 0)));
  w.u32(rec.ttl);
  const std::size_t len_at = w.size();
  w.u16(0);
  LANSPREAD_TRYV(write_rdata(w, rec.rdata, true));
  const std::size_t len = w.size() - len_at - 2;
  if (len > 0xFFFF) return errc::bad_rdata;
  w.patch_u16(len_at, static_cast<std::uint16_t>(len));
  return {};
}

}  // namespace

bool operator==(const Name& a, const Name& b) noexcept {
  return a.labels.size() == b.labels.size() &&
         std::equal(a.labels.begin(), a.labels.end(), b.labels.begin(), label_equal);
}

Name name_from_dotted(std::string_view dotted) {
  Name n;
  while (!dotted.empty()) {
    auto dot = dotted.find('.');
    auto label = dotted.substr(0, dot);
    if (!label.empty()) n.labels.emplace_back(label);
    if (dot == std::string_view::npos) break;
    dotted.remove_prefix(dot + 1);
  }
  return n;
}

Name prepend(std::string_view first, const Name& rest) {
  Name n;
  n.labels.reserve(rest.labels.size() + 1);
  n.labels.emplace_back(first);
  n.labels.insert(n.labels.end(), rest.labels.begin(), rest.labels.end());
  return n;
}

std::string to_string(const Name& name) {
  std::string out;
  for (const auto& l : name.labels) {
    if (!out.empty()) out.push_back('.');
    for (char c : l) {
      if (c == '.' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
  }
  return out;
}

std::string canonical_key(const Name& name) {
  std::string key;
  for (const auto& l : name.labels) {
    key.push_back(static_cast<char>(l.size()));
    for (char c : l) key.push_back(lower(c));
  }
  return key;
}

result<Message> parse(std::span<const std::uint8_t> packet) noexcept {
  if (packet.size() > kMaxPacketSize) return errc::message_too_large;
  Reader r(packet);
  Message m;
  LANSPREAD_TRY(m.id, r.u16());
  LANSPREAD_TRY(m.flags, r.u16());
  LANSPREAD_TRY(auto qd, r.u16());
  LANSPREAD_TRY(auto an, r.u16());
  LANSPREAD_TRY(auto ns, r.u16());
  LANSPREAD_TRY(auto ar, r.u16());
  const std::size_t total = std::size_t{qd} + an + ns + ar;
  // A question takes at least 5 bytes and a record 11: refuse counts the packet cannot hold
  // before reserving anything.
  if (total > kMaxRecordsPerMessage || std::size_t{qd} * 5 + (total - qd) * 11 > r.remaining())
    return errc::too_many_records;
  m.questions.reserve(qd);
  for (std::size_t i = 0; i < qd; ++i) {
    Question q;
    LANSPREAD_TRY(q.name, r.name());
    LANSPREAD_TRY(q.type, r.u16());
    LANSPREAD_TRY(auto cls, r.u16());
    q.unicast_response = (cls & 0x8000) != 0;
    q.qclass = cls & 0x7FFF;
    m.questions.push_back(std::move(q));
  }
  for (auto [count, section] :
       {std::pair{an, &m.answers}, std::pair{ns, &m.authorities}, std::pair{ar, &m.additionals}}) {
    section->reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      LANSPREAD_TRY(auto rec, parse_record(r));
      section->push_back(std::move(rec));
    }
  }
  if (r.remaining() != 0) return errc::trailing_bytes;
  return m;
}

result<std::vector<std::uint8_t>> build(const Message& m, std::size_t max_size) noexcept {
  try {
    const std::size_t total =
        m.questions.size() + m.answers.size() + m.authorities.size() + m.additionals.size();
    if (total > kMaxRecordsPerMessage) return errc::too_many_records;
    Writer w(max_size);
    w.u16(m.id);
    w.u16(m.flags);
    w.u16(static_cast<std::uint16_t>(m.questions.size()));
    w.u16(static_cast<std::uint16_t>(m.answers.size()));
    w.u16(static_cast<std::uint16_t>(m.authorities.size()));
    w.u16(static_cast<std::uint16_t>(m.additionals.size()));
    for (const auto& q : m.questions) {
      LANSPREAD_TRYV(w.name(q.name));
      w.u16(q.type);
      w.u16(static_cast<std::uint16_t>((q.qclass & 0x7FFF) | (q.unicast_response ? 0x8000 : 0)));
    }
    for (const auto* section : {&m.answers, &m.authorities, &m.additionals}) {
      for (const auto& rec : *section) LANSPREAD_TRYV(write_record(w, rec));
    }
    return w.finish();
  } catch (const std::bad_alloc&) {
    return errc::message_too_large;
  }
}

std::vector<std::uint8_t> canonical_rdata(const Record& record) {
  Writer w(65535);
  Rdata lowered = record.rdata;
  auto lower_name = [](Name& n) {
    for (auto& l : n.labels)
      for (auto& c : l) c = lower(c);
  };
  if (auto* p = std::get_if<PtrData>(&lowered)) lower_name(p->target);
  if (auto* s = std::get_if<SrvData>(&lowered)) lower_name(s->target);
  if (!write_rdata(w, lowered, false)) return {};
  auto out = w.finish();
  return out ? std::move(*out) : std::vector<std::uint8_t>{};
}

}  // namespace lanspread::discovery::dns
