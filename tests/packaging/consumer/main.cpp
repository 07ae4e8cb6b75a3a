// A user's program: one include, a digest and a checksum, the version it was built against.
// Built once against the installed package and once as a subdirectory in the minimal build.
#include <cloudstore/cloudstore.hpp>

#if defined(EXPECT_NO_ISAL) && CLOUDSTORE_USE_ISAL
#error "the minimal build must not use ISA-L"
#endif

#include <cstdio>
#include <cstring>

bool readme_example(); // README.md's first example, compiled as written

int main() {
    const auto digest = cloudstore::crypto::to_hex(cloudstore::crypto::sha256("abc"));
    const auto crc = cloudstore::crc32c::compute(cloudstore::crypto::as_bytes("123456789"));
    std::printf("cloudstore %s: sha256(abc)=%s crc32c=%08x\n", CLOUDSTORE_VERSION_STRING,
                digest.c_str(), crc);
    const bool ok = digest == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" &&
                    crc == 0xe3069283u &&
                    std::strcmp(CLOUDSTORE_VERSION_STRING, EXPECTED_VERSION) == 0;
    const bool readme_ok = readme_example();
    std::printf("README example: %s\n", readme_ok ? "as documented" : "WRONG");
    return ok && readme_ok ? 0 : 1;
}
