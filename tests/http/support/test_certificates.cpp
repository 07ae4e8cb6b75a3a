// Certificates made with OpenSSL 3's key-generation and X509 APIs; see test_certificates.hpp.
#include "test_certificates.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <system_error>

namespace cloudstore::test {
namespace {

struct pkey_free {
    void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct x509_free {
    void operator()(X509* p) const noexcept { X509_free(p); }
};
struct bio_free {
    void operator()(BIO* p) const noexcept { BIO_free(p); }
};
struct ext_free {
    void operator()(X509_EXTENSION* p) const noexcept { X509_EXTENSION_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;
using bio_ptr = std::unique_ptr<BIO, bio_free>;
using ext_ptr = std::unique_ptr<X509_EXTENSION, ext_free>;

[[noreturn]] void fail(std::string_view what) {
    std::string message = "test certificates: ";
    message += what;
    // Drain OpenSSL's whole error queue into the message (and leave it empty for the next user).
    for (unsigned long e = ERR_get_error(); e != 0; e = ERR_get_error()) {
        char text[256];
        ERR_error_string_n(e, text, sizeof text);
        message += "; ";
        message += text;
    }
    throw std::runtime_error(message);
}

void check(int ok, std::string_view what) {
    if (ok <= 0) fail(what);
}

pkey_ptr make_key() {
    // EC P-256: generated in well under a millisecond (RSA 2048 takes tens to hundreds).
    pkey_ptr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key) fail("EVP_PKEY_Q_keygen(EC, P-256)");
    return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    ext_ptr ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value));
    if (!ext) fail(std::string("X509V3_EXT_nconf_nid ") + OBJ_nid2sn(nid) + " = " + value);
    check(X509_add_ext(cert, ext.get(), -1), "X509_add_ext");
}

struct certificate_spec {
    const char* common_name;
    const char* subject_alt_name; // nullptr: none
    bool is_ca;
};

/// A certificate for `key` described by `spec`, signed by (issuer, issuer_key), or self-signed
/// when issuer is nullptr.
x509_ptr make_certificate(const certificate_spec& spec, EVP_PKEY* key, X509* issuer,
                          EVP_PKEY* issuer_key) {
    x509_ptr cert(X509_new());
    if (!cert) fail("X509_new");
    check(X509_set_version(cert.get(), X509_VERSION_3), "X509_set_version");

    // A random positive 63-bit serial: no two certificates of one issuer share one.
    std::uint64_t serial = 0;
    check(RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial), "RAND_bytes");
    serial = (serial >> 1) | 1;
    check(ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), serial),
          "ASN1_INTEGER_set_uint64");

    if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60L * 60) == nullptr)
        fail("X509_gmtime_adj(notBefore)");
    if (X509_gmtime_adj(X509_getm_notAfter(cert.get()), 30L * 24 * 60 * 60) == nullptr)
        fail("X509_gmtime_adj(notAfter)");
    check(X509_set_pubkey(cert.get(), key), "X509_set_pubkey");

    X509_NAME* name = X509_get_subject_name(cert.get());
    check(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>("cloudstore tests"), -1,
                                     -1, 0),
          "X509_NAME_add_entry_by_txt(O)");
    check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>(spec.common_name), -1,
                                     -1, 0),
          "X509_NAME_add_entry_by_txt(CN)");
    X509* signer = issuer != nullptr ? issuer : cert.get();
    check(X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)), "X509_set_issuer_name");

    // The subject key identifier first: the authority key identifier of a self-signed
    // certificate is taken from it.
    add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
    add_extension(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
    if (spec.is_ca) {
        add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
        add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
        add_extension(cert.get(), signer, NID_key_usage, "critical,digitalSignature");
        add_extension(cert.get(), signer, NID_ext_key_usage, "serverAuth");
    }
    if (spec.subject_alt_name != nullptr)
        add_extension(cert.get(), signer, NID_subject_alt_name, spec.subject_alt_name);

    EVP_PKEY* signing_key = issuer_key != nullptr ? issuer_key : key;
    if (X509_sign(cert.get(), signing_key, EVP_sha256()) <= 0) fail("X509_sign");
    return cert;
}

std::string bio_text(BIO* bio) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    if (n <= 0 || data == nullptr) fail("BIO_get_mem_data");
    return std::string(data, static_cast<std::size_t>(n));
}

std::string certificate_pem(X509* cert) {
    bio_ptr bio(BIO_new(BIO_s_mem()));
    if (!bio) fail("BIO_new");
    check(PEM_write_bio_X509(bio.get(), cert), "PEM_write_bio_X509");
    return bio_text(bio.get());
}

std::string private_key_pem(EVP_PKEY* key) {
    bio_ptr bio(BIO_new(BIO_s_mem()));
    if (!bio) fail("BIO_new");
    check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr),
          "PEM_write_bio_PrivateKey");
    return bio_text(bio.get());
}

pem_credentials to_pem(X509* cert, EVP_PKEY* key) {
    return {certificate_pem(cert), private_key_pem(key)};
}

certificate_set generate() {
    certificate_set set;

    pkey_ptr ca_key = make_key();
    x509_ptr ca =
        make_certificate({"cloudstore test CA", nullptr, true}, ca_key.get(), nullptr, nullptr);
    set.ca = to_pem(ca.get(), ca_key.get());

    pkey_ptr server_key = make_key();
    x509_ptr server =
        make_certificate({"cloudstore test server", "IP:127.0.0.1,DNS:localhost", false},
                         server_key.get(), ca.get(), ca_key.get());
    set.server = to_pem(server.get(), server_key.get());

    pkey_ptr wrong_key = make_key();
    x509_ptr wrong = make_certificate({"wrong.example", "DNS:wrong.example", false},
                                      wrong_key.get(), ca.get(), ca_key.get());
    set.wrong_host = to_pem(wrong.get(), wrong_key.get());

    pkey_ptr untrusted_key = make_key();
    x509_ptr untrusted =
        make_certificate({"cloudstore untrusted server", "IP:127.0.0.1,DNS:localhost", false},
                         untrusted_key.get(), nullptr, nullptr);
    set.untrusted = to_pem(untrusted.get(), untrusted_key.get());
    return set;
}

void write_file(const std::filesystem::path& path, std::string_view text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.close();
    if (!out) throw std::runtime_error("test certificates: cannot write " + path.string());
}

/// OpenSSL's hashed-directory name of a PEM certificate's subject: "%08lx.0".
std::string hashed_file_name(const std::string& pem) {
    bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) fail("BIO_new_mem_buf");
    x509_ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) fail("PEM_read_bio_X509");
    int ok = 0;
    unsigned long hash =
        X509_NAME_hash_ex(X509_get_subject_name(cert.get()), nullptr, nullptr, &ok);
    if (ok == 0) fail("X509_NAME_hash_ex");
    char name[32];
    std::snprintf(name, sizeof name, "%08lx.0", hash);
    return name;
}

} // namespace

const certificate_set& test_certificates() {
    static const certificate_set set = generate(); // thread-safe initialisation (C++11)
    return set;
}

temporary_ca_files::temporary_ca_files() {
    const certificate_set& set = test_certificates();
    std::string pattern =
        (std::filesystem::temp_directory_path() / "cloudstore-ca-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
        throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
    root_ = pattern;
    try {
        file_ = root_ / "ca.pem";
        directory_ = root_ / "hashed";
        hashed_name_ = hashed_file_name(set.ca.certificate);
        write_file(file_, set.ca.certificate);
        std::filesystem::create_directory(directory_);
        write_file(directory_ / hashed_name_, set.ca.certificate);
    } catch (...) {
        std::error_code ignored;
        std::filesystem::remove_all(root_, ignored);
        throw;
    }
}

temporary_ca_files::~temporary_ca_files() {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
}

} // namespace cloudstore::test
