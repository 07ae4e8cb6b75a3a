// RSA-SHA256 (RSASSA-PKCS1-v1_5) from a PEM key: known answers from the GCS V4 conformance
// suite (every signed URL's X-Goog-Signature over its string to sign, with the suite's dummy
// key), verification with the public key, and clear errors for keys that are not usable.
#include <cloudstore/crypto/hex.hpp>
#include <cloudstore/crypto/rsa.hpp>

#include <doctest/doctest.h>
#include <test_support.hpp>

#include <rapidjson/document.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include <string>
#include <thread>
#include <vector>

using namespace cloudstore::crypto;
using cloudstore::error_code;

namespace {

const std::string vectors_dir =
    cloudstore::test::shared_dir() + "/vectors/gcs-v4/conformance-tests/storage/v1/";

std::string dummy_key_pem() {
    rapidjson::Document doc;
    doc.Parse(
        cloudstore::test::read_file(vectors_dir + "test_service_account.not-a-test.json").c_str());
    REQUIRE_FALSE(doc.HasParseError());
    REQUIRE(doc.HasMember("private_key"));
    return doc["private_key"].GetString();
}

bool verify_with_public_key(EVP_PKEY* key, std::string_view data, std::span<const std::byte> sig) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const bool ok =
        EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
        EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                         reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

// The public half of `key` as a key of its own, so verification uses no private material.
EVP_PKEY* public_half(EVP_PKEY* key) {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, key);
    EVP_PKEY* pub = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    return pub;
}

std::string pem_of(EVP_PKEY* key, const EVP_CIPHER* cipher = nullptr, const char* pass = nullptr) {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PKCS8PrivateKey(bio, key, cipher, pass, pass ? static_cast<int>(strlen(pass)) : 0,
                                  nullptr, nullptr);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return out;
}

} // namespace

TEST_CASE("rsa: every GCS V4 conformance signature, from the suite's dummy key parsed once") {
    error_code ec;
    const auto key = rsa_private_key::from_pem(dummy_key_pem(), ec);
    REQUIRE_FALSE(ec);
    REQUIRE(key.valid());
    CHECK(key.signature_size() == 256);

    rapidjson::Document doc;
    doc.Parse(cloudstore::test::read_file(vectors_dir + "v4_signatures.json").c_str());
    REQUIRE_FALSE(doc.HasParseError());
    const auto& tests = doc["signingV4Tests"].GetArray();
    CHECK(tests.Size() == 29);
    EVP_PKEY* pub = public_half(key.native_handle());
    REQUIRE(pub != nullptr);
    int checked = 0;
    for (const auto& t : tests) {
        INFO(t["description"].GetString());
        const std::string sts = t["expectedStringToSign"].GetString();
        const std::string url = t["expectedUrl"].GetString();
        const auto at = url.find("X-Goog-Signature=");
        REQUIRE(at != std::string::npos);
        const std::string expected = url.substr(at + 17, url.find('&', at) - at - 17);
        const auto sig = key.sign_sha256(sts, ec);
        REQUIRE_FALSE(ec);
        CHECK(to_hex(sig) == expected);
        CHECK(verify_with_public_key(pub, sts, sig));
        ++checked;
    }
    CHECK(checked == 29);
    // A different message does not verify against that signature.
    const auto sig = key.sign_sha256("message", ec);
    CHECK_FALSE(verify_with_public_key(pub, "massage", sig));
    EVP_PKEY_free(pub);
}

TEST_CASE("rsa: one key signs from many threads at once, deterministically") {
    error_code ec;
    const auto key = rsa_private_key::from_pem(dummy_key_pem(), ec);
    REQUIRE_FALSE(ec);
    const auto reference = key.sign_sha256("shared", ec);
    std::vector<std::vector<std::byte>> results(4);
    std::vector<std::thread> threads;
    for (auto& r : results)
        threads.emplace_back([&key, &r] {
            error_code thread_ec;
            for (int i = 0; i < 5; ++i)
                r = key.sign_sha256("shared", thread_ec);
        });
    for (auto& t : threads)
        t.join();
    for (const auto& r : results)
        CHECK(r == reference);
}

TEST_CASE("rsa: PKCS#1 ('BEGIN RSA PRIVATE KEY') keys load too") {
    error_code ec;
    const auto key = rsa_private_key::from_pem(dummy_key_pem(), ec);
    BIO* bio = BIO_new(BIO_s_mem());
    REQUIRE(PEM_write_bio_PrivateKey_traditional(bio, key.native_handle(), nullptr, nullptr, 0,
                                                 nullptr, nullptr) == 1);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    const std::string pkcs1(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    CHECK(pkcs1.find("BEGIN RSA PRIVATE KEY") != std::string::npos);
    const auto again = rsa_private_key::from_pem(pkcs1, ec);
    CHECK_FALSE(ec);
    CHECK(again.sign_sha256("x", ec) == key.sign_sha256("x", ec));
}

TEST_CASE("rsa: unusable keys give invalid_key and never echo the key") {
    const std::string good = dummy_key_pem();
    EVP_PKEY* ec_key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    REQUIRE(ec_key != nullptr);
    error_code ec;
    const auto rsa = rsa_private_key::from_pem(good, ec);
    REQUIRE_FALSE(ec);

    const std::string body_marker = good.substr(100, 40); // a piece of the key's base64
    const std::pair<const char*, std::string> bad[] = {
        {"empty", ""},
        {"not PEM", "this is not a key"},
        {"truncated", good.substr(0, good.size() / 2)},
        {"corrupted body",
         [&] {
             std::string s = good;
             s[200] = s[200] == 'A' ? 'B' : 'A';
             s[201] = '!';
             return s;
         }()},
        {"EC key", pem_of(ec_key)},
        {"encrypted key", pem_of(rsa.native_handle(), EVP_aes_256_cbc(), "passphrase")},
        {"public key only",
         [&] {
             BIO* bio = BIO_new(BIO_s_mem());
             PEM_write_bio_PUBKEY(bio, rsa.native_handle());
             char* data = nullptr;
             const long n = BIO_get_mem_data(bio, &data);
             std::string s(data, static_cast<std::size_t>(n));
             BIO_free(bio);
             return s;
         }()},
    };
    for (const auto& entry : bad) {
        const std::string& pem = entry.second;
        INFO(entry.first);
        const auto key = rsa_private_key::from_pem(pem, ec);
        CHECK(ec == cloudstore::errc::invalid_key);
        CHECK_FALSE(key.valid());
        CHECK(ERR_peek_error() == 0); // OpenSSL's queue holds nothing for later calls to trip on
        CHECK(key.sign_sha256("x", ec).empty());
        CHECK(ec == cloudstore::errc::invalid_key);
        // The throwing form: the exception's text holds nothing of the key.
        try {
            rsa_private_key::from_pem(pem);
            FAIL("from_pem accepted " << entry.first);
        } catch (const cloudstore::invalid_configuration_error& e) {
            CHECK(e.code() == cloudstore::errc::invalid_key);
            const std::string what = e.what();
            CHECK(what.find(body_marker) == std::string::npos);
            CHECK(what.find("BEGIN") == std::string::npos);
        }
    }
    EVP_PKEY_free(ec_key);
}
