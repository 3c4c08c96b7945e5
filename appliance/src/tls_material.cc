#include "appliance/tls_material.h"
#include "common/file.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "common/secret.h"

namespace appliance {
namespace {

using common::InternalError;
using common::Status;
using common::StatusOr;

struct EvpPkeyFree { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct X509Free { void operator()(X509* p) const { X509_free(p); } };
struct BioFree { void operator()(BIO* p) const { BIO_free_all(p); } };
using PkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

std::string OpenSslError(const std::string& what) {
  unsigned long e = ERR_get_error();
  char buf[256] = {0};
  if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
  return what + (e ? std::string(": ") + buf : std::string());
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

StatusOr<PkeyPtr> NewEcKey() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return InternalError(OpenSslError("generating a P-256 key"));
  return key;
}

StatusOr<std::string> KeyToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)) {
    return InternalError(OpenSslError("encoding a private key"));
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  std::string pem(data, static_cast<size_t>(n));
  return pem;
}

StatusOr<std::string> CertToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_X509(bio.get(), cert)) return InternalError(OpenSslError("encoding a certificate"));
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

StatusOr<PkeyPtr> LoadKey(const std::string& path) {
  ASSIGN_OR_RETURN(std::string pem, common::ReadFile(path));
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  common::SecureZero(pem.data(), pem.size());
  if (!key) return common::InvalidArgumentError(OpenSslError(path + ": not a PEM private key"));
  return key;
}

StatusOr<X509Ptr> LoadCert(const std::string& path) {
  ASSIGN_OR_RETURN(std::string pem, common::ReadFile(path));
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return common::InvalidArgumentError(OpenSslError(path + ": not a PEM certificate"));
  return cert;
}

Status AddExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return InternalError(OpenSslError("certificate extension " + value));
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return common::OkStatus();
}

// Builds a certificate for `key`, signed by issuer_key (self-signed when
// issuer is null).
StatusOr<X509Ptr> MakeCert(EVP_PKEY* key, const std::string& cn, X509* issuer,
                           EVP_PKEY* issuer_key, int days,
                           const std::vector<std::pair<int, std::string>>& exts) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return InternalError("no randomness for serial");
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60 * 60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 60L * 60 * 24 * days);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("Assistant appliance"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509* issuer_cert = issuer ? issuer : cert.get();
  for (const auto& [nid, value] : exts) RETURN_IF_ERROR(AddExt(cert.get(), issuer_cert, nid, value));
  if (!X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256())) {
    return InternalError(OpenSslError("signing certificate " + cn));
  }
  return cert;
}

Status WriteKeyAndCert(EVP_PKEY* key, X509* cert, const std::string& key_path,
                       const std::string& cert_path) {
  ASSIGN_OR_RETURN(std::string key_pem, KeyToPem(key));
  Status s = common::WriteFileAtomic(key_path, key_pem, 0600);
  common::SecureZero(key_pem.data(), key_pem.size());
  RETURN_IF_ERROR(s);
  ASSIGN_OR_RETURN(std::string cert_pem, CertToPem(cert));
  return common::WriteFileAtomic(cert_path, cert_pem, 0644);
}

}  // namespace

TlsPaths TlsPathsIn(const std::string& dir) {
  return TlsPaths{dir + "/ca.pem",     dir + "/ca.key",     dir + "/server.pem",
                  dir + "/server.key", dir + "/client.pem", dir + "/client.key"};
}


Status IssueClientCertificate(const TlsPaths& ca, const std::string& common_name,
                              const std::string& cert_path, const std::string& key_path,
                              int validity_days) {
  ASSIGN_OR_RETURN(PkeyPtr ca_key, LoadKey(ca.ca_key));
  ASSIGN_OR_RETURN(X509Ptr ca_cert, LoadCert(ca.ca_cert));
  ASSIGN_OR_RETURN(PkeyPtr key, NewEcKey());
  ASSIGN_OR_RETURN(X509Ptr cert,
                   MakeCert(key.get(), common_name, ca_cert.get(), ca_key.get(), validity_days,
                            {{NID_basic_constraints, "critical,CA:FALSE"},
                             {NID_key_usage, "critical,digitalSignature"},
                             {NID_ext_key_usage, "clientAuth"}}));
  return WriteKeyAndCert(key.get(), cert.get(), key_path, cert_path);
}

StatusOr<TlsPaths> EnsureLocalTls(const std::string& dir, const TlsGenerationOptions& options) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return common::UnavailableError("cannot create " + dir + ": " + std::strerror(errno));
  }
  TlsPaths p = TlsPathsIn(dir);
  if (!FileExists(p.ca_cert) || !FileExists(p.ca_key)) {
    ASSIGN_OR_RETURN(PkeyPtr key, NewEcKey());
    ASSIGN_OR_RETURN(X509Ptr cert,
                     MakeCert(key.get(), "Assistant appliance local CA", nullptr, nullptr, 3650,
                              {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                               {NID_key_usage, "critical,keyCertSign,cRLSign"},
                               {NID_subject_key_identifier, "hash"}}));
    RETURN_IF_ERROR(WriteKeyAndCert(key.get(), cert.get(), p.ca_key, p.ca_cert));
  }
  if (!FileExists(p.server_cert) || !FileExists(p.server_key)) {
    ASSIGN_OR_RETURN(PkeyPtr ca_key, LoadKey(p.ca_key));
    ASSIGN_OR_RETURN(X509Ptr ca_cert, LoadCert(p.ca_cert));
    ASSIGN_OR_RETURN(PkeyPtr key, NewEcKey());
    std::string san = "DNS:localhost,IP:127.0.0.1,IP:::1";
    for (const auto& n : options.server_dns_names) san += ",DNS:" + n;
    ASSIGN_OR_RETURN(X509Ptr cert,
                     MakeCert(key.get(), "localhost", ca_cert.get(), ca_key.get(),
                              options.validity_days,
                              {{NID_basic_constraints, "critical,CA:FALSE"},
                               {NID_key_usage, "critical,digitalSignature"},
                               {NID_ext_key_usage, "serverAuth"},
                               {NID_subject_alt_name, san}}));
    RETURN_IF_ERROR(WriteKeyAndCert(key.get(), cert.get(), p.server_key, p.server_cert));
  }
  if (!FileExists(p.client_cert) || !FileExists(p.client_key)) {
    RETURN_IF_ERROR(IssueClientCertificate(p, options.client_common_name, p.client_cert,
                                           p.client_key, options.validity_days));
  }
  return p;
}

}  // namespace appliance
