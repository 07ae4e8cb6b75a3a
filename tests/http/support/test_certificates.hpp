// Throwaway TLS certificates for the HTTP transport tests, made in the test process with OpenSSL 3
// (no files checked in, nothing that expires in the repository). Asio-free: a test that only needs
// the PEM text or a CA file pays for OpenSSL alone.
#pragma once

#include <filesystem>
#include <string>

namespace cloudstore::test {

/// One certificate and its private key, both PEM text.
struct pem_credentials {
    std::string certificate; ///< "-----BEGIN CERTIFICATE-----" ...
    std::string private_key; ///< "-----BEGIN PRIVATE KEY-----" ... (PKCS#8, unencrypted)
};

/// The certificates every TLS test uses. All keys are EC P-256, all signatures ECDSA-SHA256,
/// valid from one hour ago for 30 days.
struct certificate_set {
    /// Self-signed CA (basicConstraints critical CA:TRUE, keyUsage keyCertSign, cRLSign).
    /// Trusting this certificate is "the custom CA".
    pem_credentials ca;
    /// Signed by `ca`; subjectAltName IP:127.0.0.1, DNS:localhost; extendedKeyUsage serverAuth.
    pem_credentials server;
    /// Signed by `ca`; subjectAltName DNS:wrong.example only: a valid chain whose names never
    /// match 127.0.0.1 or localhost (the wrong-host-name test).
    pem_credentials wrong_host;
    /// Self-signed (no CA), subjectAltName IP:127.0.0.1, DNS:localhost: refused by any verifier
    /// that does not trust it explicitly (the untrusted-certificate test).
    pem_credentials untrusted;
};

/// The process's certificate set: generated on first use (a few milliseconds), then cached.
/// Thread-safe. Throws std::runtime_error (with OpenSSL's error text) if OpenSSL fails.
const certificate_set& test_certificates();

/// The CA certificate of test_certificates() written to a fresh temporary directory, in the two
/// forms a TLS client can be pointed at:
///  - file():      `<tmp>/ca.pem`, the CA certificate alone (SSL_CTX_load_verify_file /
///                 asio::ssl::context::load_verify_file);
///  - directory(): `<tmp>/hashed/`, holding only `<subject-hash>.0` in OpenSSL's hashed CA
///                 directory format (what c_rehash / `openssl rehash` produce; the hash is
///                 X509_NAME_hash_ex of the subject name, 8 lowercase hex digits), for
///                 SSL_CTX_load_verify_dir / asio::ssl::context::add_verify_path.
/// Everything is removed by the destructor. Not copyable or movable. Throws
/// std::runtime_error or std::filesystem::filesystem_error on failure.
class temporary_ca_files {
public:
    temporary_ca_files();
    ~temporary_ca_files();
    temporary_ca_files(const temporary_ca_files&) = delete;
    temporary_ca_files& operator=(const temporary_ca_files&) = delete;

    /// Path of the PEM file holding the CA certificate.
    const std::filesystem::path& file() const noexcept { return file_; }
    /// Path of the hashed CA directory (contains exactly one file, hashed_name()).
    const std::filesystem::path& directory() const noexcept { return directory_; }
    /// The file name inside directory(), e.g. "1a2b3c4d.0".
    const std::string& hashed_name() const noexcept { return hashed_name_; }

private:
    std::filesystem::path root_;
    std::filesystem::path file_;
    std::filesystem::path directory_;
    std::string hashed_name_;
};

} // namespace cloudstore::test
