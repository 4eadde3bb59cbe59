// A peer's TLS identity: an ECDSA P-256 key and a self-signed certificate, created on first
// start and kept in the state dir. The peer id is the SHA-256 of the certificate (DER), as
// 64 lowercase hex digits; it is what mDNS announces and what a dialler expects.
#pragma once

#include "transport/error.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace lanspread::transport {

class Identity {
 public:
  ~Identity();
  Identity(const Identity&) = delete;
  Identity& operator=(const Identity&) = delete;

  // Loads <state_dir>/identity.key and identity.crt, or creates both when neither exists
  // (key 0600, written atomically). A half-present or corrupt pair is an error, never
  // silently replaced: the peer id would change.
  static result<std::shared_ptr<Identity>> load_or_create(const std::filesystem::path& state_dir);
  // A fresh identity kept only in memory (tests, tools).
  static result<std::shared_ptr<Identity>> generate();

  const std::string& peer_id() const { return peer_id_; }
  const std::vector<std::uint8_t>& certificate_der() const { return cert_der_; }
  // gnutls_certificate_credentials_t holding this key and certificate.
  void* credentials() const { return credentials_; }

 private:
  Identity() = default;
  static result<std::shared_ptr<Identity>> from_pem(const std::string& key_pem,
                                                    const std::string& cert_pem);

  std::string peer_id_;
  std::vector<std::uint8_t> cert_der_;
  void* credentials_ = nullptr;
};

// The peer id of a DER certificate.
std::string peer_id_of(const std::uint8_t* der, std::size_t size);

}  // namespace lanspread::transport
