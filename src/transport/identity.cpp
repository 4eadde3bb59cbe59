#include "transport/identity.hpp"

#include "sys/durable_file.hpp"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

namespace lanspread::transport {
namespace fs = std::filesystem;
namespace {

constexpr const char* kKeyFile = "identity.key";
constexpr const char* kCertFile = "identity.crt";

struct Datum {
  gnutls_datum_t d{nullptr, 0};
  ~Datum() { gnutls_free(d.data); }
  std::string str() const { return std::string(reinterpret_cast<const char*>(d.data), d.size); }
};

struct PrivKey {
  gnutls_x509_privkey_t k = nullptr;
  ~PrivKey() {
    if (k) gnutls_x509_privkey_deinit(k);
  }
};

struct Crt {
  gnutls_x509_crt_t c = nullptr;
  ~Crt() {
    if (c) gnutls_x509_crt_deinit(c);
  }
};

constexpr std::size_t kMaxPemBytes = 64 * 1024;

bool write_atomically(const fs::path& path, const std::string& data, mode_t mode) {
  return static_cast<bool>(
      sys::write_file_atomic(path.parent_path(), path.filename().native(), data, {.mode = mode}));
}

bool read_small_file(const fs::path& path, std::string& out) {
  auto text = sys::read_small_file(path, kMaxPemBytes);
  if (!text) return false;
  out = std::move(*text);
  return true;
}

}  // namespace

std::string peer_id_of(const std::uint8_t* der, std::size_t size) {
  std::uint8_t digest[32];
  gnutls_hash_fast(GNUTLS_DIG_SHA256, der, size, digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (std::uint8_t b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

Identity::~Identity() {
  if (credentials_) {
    gnutls_certificate_free_credentials(
        static_cast<gnutls_certificate_credentials_t>(credentials_));
  }
}

result<std::shared_ptr<Identity>> Identity::from_pem(const std::string& key_pem,
                                                     const std::string& cert_pem) {
  PrivKey key;
  Crt crt;
  const gnutls_datum_t kd{reinterpret_cast<unsigned char*>(const_cast<char*>(key_pem.data())),
                          static_cast<unsigned>(key_pem.size())};
  const gnutls_datum_t cd{reinterpret_cast<unsigned char*>(const_cast<char*>(cert_pem.data())),
                          static_cast<unsigned>(cert_pem.size())};
  if (gnutls_x509_privkey_init(&key.k) < 0 || gnutls_x509_crt_init(&crt.c) < 0)
    return errc::tls_setup_failed;
  if (gnutls_x509_privkey_import(key.k, &kd, GNUTLS_X509_FMT_PEM) < 0 ||
      gnutls_x509_crt_import(crt.c, &cd, GNUTLS_X509_FMT_PEM) < 0) {
    return errc::identity_unreadable;
  }
  Datum der;
  if (gnutls_x509_crt_export2(crt.c, GNUTLS_X509_FMT_DER, &der.d) < 0)
    return errc::identity_unreadable;

  auto id = std::shared_ptr<Identity>(new Identity());
  id->cert_der_.assign(der.d.data, der.d.data + der.d.size);
  id->peer_id_ = peer_id_of(der.d.data, der.d.size);
  gnutls_certificate_credentials_t cred = nullptr;
  if (gnutls_certificate_allocate_credentials(&cred) < 0) return errc::tls_setup_failed;
  id->credentials_ = cred;
  // Fails when key and certificate do not belong together.
  if (gnutls_certificate_set_x509_key(cred, &crt.c, 1, key.k) < 0) return errc::identity_unreadable;
  return id;
}

namespace {

// A new key and self-signed certificate, both as PEM.
result<void> generate_pem(std::string& key_out, std::string& cert_out) {
  PrivKey key;
  Crt crt;
  if (gnutls_x509_privkey_init(&key.k) < 0 || gnutls_x509_crt_init(&crt.c) < 0)
    return errc::tls_setup_failed;
  if (gnutls_x509_privkey_generate(key.k, GNUTLS_PK_ECDSA,
                                   GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0)
    return errc::tls_setup_failed;
  std::uint8_t serial[16];
  gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial);
  serial[0] &= 0x7f;  // a positive serial number
  const std::time_t now = std::time(nullptr);
  if (gnutls_x509_crt_set_version(crt.c, 3) < 0 ||
      gnutls_x509_crt_set_serial(crt.c, serial, sizeof serial) < 0 ||
      gnutls_x509_crt_set_activation_time(crt.c, now - 24 * 3600) < 0 ||
      gnutls_x509_crt_set_expiration_time(crt.c, now + 100LL * 365 * 24 * 3600) < 0 ||
      gnutls_x509_crt_set_dn(crt.c, "CN=lanspread peer", nullptr) < 0 ||
      gnutls_x509_crt_set_key(crt.c, key.k) < 0 ||
      gnutls_x509_crt_sign2(crt.c, crt.c, key.k, GNUTLS_DIG_SHA256, 0) < 0) {
    return errc::tls_setup_failed;
  }
  Datum key_pem;
  Datum cert_pem;
  if (gnutls_x509_privkey_export2(key.k, GNUTLS_X509_FMT_PEM, &key_pem.d) < 0 ||
      gnutls_x509_crt_export2(crt.c, GNUTLS_X509_FMT_PEM, &cert_pem.d) < 0)
    return errc::tls_setup_failed;
  key_out = key_pem.str();
  cert_out = cert_pem.str();
  return {};
}

}  // namespace

result<std::shared_ptr<Identity>> Identity::generate() {
  std::string key_pem;
  std::string cert_pem;
  if (auto r = generate_pem(key_pem, cert_pem); !r) return r.error();
  return from_pem(key_pem, cert_pem);
}

result<std::shared_ptr<Identity>> Identity::load_or_create(const fs::path& state_dir) {
  const fs::path key_path = state_dir / kKeyFile;
  const fs::path cert_path = state_dir / kCertFile;
  std::error_code ec;
  const bool have_key = fs::exists(fs::symlink_status(key_path, ec));
  const bool have_cert = fs::exists(fs::symlink_status(cert_path, ec));
  std::string key_pem;
  std::string cert_pem;
  if (have_key || have_cert) {
    if (!have_key || !have_cert || !read_small_file(key_path, key_pem) ||
        !read_small_file(cert_path, cert_pem))
      return errc::identity_unreadable;
    return from_pem(key_pem, cert_pem);
  }
  fs::create_directories(state_dir, ec);
  if (ec) return errc::identity_write_failed;
  if (auto r = generate_pem(key_pem, cert_pem); !r) return r.error();
  // The certificate goes last: a crash in between leaves a key alone, which is reported
  // (identity_unreadable) rather than silently replaced.
  if (!write_atomically(key_path, key_pem, 0600) || !write_atomically(cert_path, cert_pem, 0644))
    return errc::identity_write_failed;
  return from_pem(key_pem, cert_pem);
}

}  // namespace lanspread::transport
