// Every CRC path in the build agrees with the tables on random buffers of every length
// 0..4096, fed in random splits: ISA-L (when the build has it), SSE4.2 over three streams,
// PCLMULQDQ and VPCLMULQDQ folding, and the slicing tables.
#include <cloudstore/checksum/detail/crc_dispatch.hpp>

#include <doctest/doctest.h>
#include <test_support.hpp>

#include <functional>
#include <random>
#include <string>
#include <vector>

namespace crc = cloudstore::detail::crc;

namespace {

template <class T>
using update_fn = std::function<T(T, const unsigned char*, std::size_t)>;

template <class T>
struct path {
    std::string name;
    update_fn<T> update;
};

// Feeds `data` to `update` in 1 to 4 random pieces, starting from a random register.
template <class T>
T feed_in_splits(const update_fn<T>& update, T reg, const std::vector<unsigned char>& data,
                 std::mt19937_64& rng) {
    std::size_t at = 0;
    const int pieces = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < pieces && at < data.size(); ++i) {
        const std::size_t n = i == pieces - 1 ? data.size() - at : rng() % (data.size() - at + 1);
        reg = update(reg, data.data() + at, n);
        at += n;
    }
    return update(reg, data.data() + at, data.size() - at);
}

template <class Math>
void check_paths_agree(const std::vector<path<typename Math::value_type>>& paths) {
    using T = typename Math::value_type;
    std::mt19937_64 rng(0xC10D5702E);
    std::vector<unsigned char> data;
    std::size_t disagreements = 0;
    std::size_t comparisons = 0;
    for (std::size_t length = 0; length <= 4096; ++length) {
        data.resize(length);
        for (auto& b : data)
            b = static_cast<unsigned char>(rng());
        const T start = static_cast<T>(rng());
        const T expected = Math::update_tables(start, data.data(), data.size());
        for (const auto& p : paths) {
            const T got = feed_in_splits(p.update, start, data, rng);
            ++comparisons;
            if (got != expected) {
                ++disagreements;
                if (disagreements < 10) FAIL_CHECK(p.name << " disagrees at length " << length);
            }
        }
    }
    CHECK(disagreements == 0);
    CHECK(comparisons == 4097 * paths.size());
}

#if CLOUDSTORE_X86_SIMD
// SSE4.2 and PCLMULQDQ are on every x86-64 CPU of the last decade: missing ones fail under CI.
void require_feature(bool present, const char* name) {
    if (present) return;
    if (cloudstore::test::under_ci()) FAIL(name << " is missing on this CPU: its path is untested");
    WARN_MESSAGE(false, name << " is missing on this CPU: its path is untested");
}
#endif

} // namespace

TEST_CASE("crc32c: every path agrees with the tables") {
    std::vector<path<std::uint32_t>> paths{{"dispatch", crc::crc32c_update},
                                           {"portable", crc::crc32c_portable}};
#if CLOUDSTORE_USE_ISAL
    paths.push_back({"isa-l", crc::crc32c_isal});
#endif
#if CLOUDSTORE_X86_SIMD
    require_feature(crc::cpu().sse42, "SSE4.2");
    if (crc::cpu().sse42) paths.push_back({"sse4.2 three streams", crc::update_sse42});
#endif
    MESSAGE("crc32c paths compared: " << paths.size());
    check_paths_agree<crc::crc32c_math>(paths);
}

TEST_CASE("crc32: every path agrees with the tables") {
    std::vector<path<std::uint32_t>> paths{{"dispatch", crc::crc32_update},
                                           {"portable", crc::crc32_portable}};
#if CLOUDSTORE_USE_ISAL
    paths.push_back({"isa-l", crc::crc32_isal});
#endif
#if CLOUDSTORE_X86_SIMD
    require_feature(crc::cpu().pclmul, "PCLMULQDQ");
    if (crc::cpu().pclmul) paths.push_back({"pclmul", crc::update_pclmul<crc::crc32_math>});
    if (crc::cpu().vpclmul)
        paths.push_back({"vpclmul", crc::update_vpclmul<crc::crc32_math>});
    else
        MESSAGE("this CPU has no VPCLMULQDQ: that path is not compared here");
#endif
    check_paths_agree<crc::crc32_math>(paths);
}

TEST_CASE("crc64nvme: every path agrees with the tables") {
    std::vector<path<std::uint64_t>> paths{{"dispatch", crc::crc64nvme_update}};
#if CLOUDSTORE_X86_SIMD
    require_feature(crc::cpu().pclmul, "PCLMULQDQ");
    if (crc::cpu().pclmul) paths.push_back({"pclmul", crc::update_pclmul<crc::crc64nvme_math>});
    if (crc::cpu().vpclmul)
        paths.push_back({"vpclmul", crc::update_vpclmul<crc::crc64nvme_math>});
    else
        MESSAGE("this CPU has no VPCLMULQDQ: that path is not compared here");
#endif
    check_paths_agree<crc::crc64nvme_math>(paths);
}

TEST_CASE("long buffers: paths agree across the block sizes of every tier") {
    std::mt19937_64 rng(99);
    std::vector<unsigned char> data(3 * 2048 * 3 + 777);
    for (auto& b : data)
        b = static_cast<unsigned char>(rng());
    for (std::size_t n : {6143u, 6144u, 6145u, 12288u + 768u + 5u, 19200u}) {
        if (n > data.size()) continue;
        const auto reference = crc::crc32c_math::update_tables(~0u, data.data(), n);
        CHECK(crc::crc32c_update(~0u, data.data(), n) == reference);
        CHECK(crc::crc32c_portable(~0u, data.data(), n) == reference);
        CHECK(crc::crc64nvme_update(~0ull, data.data(), n) ==
              crc::crc64nvme_math::update_tables(~0ull, data.data(), n));
    }
}
