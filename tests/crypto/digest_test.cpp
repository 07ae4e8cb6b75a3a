// SHA-256 (FIPS 180-2 appendix B) and MD5 (RFC 1321 appendix A.5) known answers, incremental
// feeding and context reuse.
#include <cloudstore/crypto/digest.hpp>
#include <cloudstore/crypto/hex.hpp>

#ifdef BOOST_ASIO_VERSION
#error "crypto/ must not include Asio"
#endif

#include <doctest/doctest.h>

#include <string>

using namespace cloudstore::crypto;

TEST_CASE("sha256: FIPS 180-2 examples") {
    CHECK(to_hex(sha256("abc")) ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(to_hex(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    CHECK(to_hex(sha256(std::string(1000000, 'a'))) ==
          "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    CHECK(to_hex(sha256("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("sha256: one million 'a' fed in uneven pieces equals the one-shot digest") {
    sha256_context ctx;
    const std::string block(997, 'a');
    std::size_t fed = 0;
    while (fed + block.size() <= 1000000) {
        ctx.update(block);
        fed += block.size();
    }
    ctx.update(std::string(1000000 - fed, 'a'));
    CHECK(to_hex(ctx.finish()) ==
          "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256: finish() starts a new digest on the same context, reset() discards") {
    sha256_context ctx;
    ctx.update("abc");
    const auto first = ctx.finish();
    ctx.update("abc");
    CHECK(ctx.finish() == first);
    ctx.update("garbage");
    ctx.reset();
    ctx.update("abc");
    CHECK(ctx.finish() == first);
}

TEST_CASE("md5: RFC 1321 test suite") {
    struct {
        const char* input;
        const char* digest;
    } const suite[] = {
        {"", "d41d8cd98f00b204e9800998ecf8427e"},
        {"a", "0cc175b9c0f1b6a831c399e269772661"},
        {"abc", "900150983cd24fb0d6963f7d28e17f72"},
        {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
        {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
        {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
         "d174ab98d277d9f5a5611c2c9f419d9f"},
        {"1234567890123456789012345678901234567890123456789012345678901234567890123456789"
         "0",
         "57edf4a22be3c955ac49da2e2107b67a"},
    };
    md5_context ctx;
    for (const auto& c : suite) {
        INFO("MD5 (\"" << c.input << "\")");
        CHECK(to_hex(md5(c.input)) == c.digest);
        // The same context, fed one byte at a time, reused across the suite.
        for (const char* p = c.input; *p != '\0'; ++p)
            ctx.update(std::string_view(p, 1));
        CHECK(to_hex(ctx.finish()) == c.digest);
    }
}

TEST_CASE("digest_context: sizes") {
    CHECK(digest_context(digest_algorithm::sha256).size() == 32);
    CHECK(digest_context(digest_algorithm::md5).size() == 16);
}
