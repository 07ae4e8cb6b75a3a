#ifdef CLOUDSTORE_FORBID_MIXINS
#error "<cloudstore/mixins/checksums.hpp>: this build forbids mixins (CLOUDSTORE_FORBID_MIXINS)"
#endif
// The checksums mixin: `checksums<crc32c>` (or crc32, crc64nvme, sha256, md5) protects every
// upload with a checksum the store checks, and verifies every whole-object download against
// the store's full-object checksum when it has one. Ranges and composite (multipart)
// checksums are not verified: a range has no stored checksum, and a composite one is a
// checksum of part checksums, not of the bytes.
//
// Uploads: where the step accepts a checksum after the body (a trailer, or a store that
// records it as the bytes arrive: memory, local), or the body cannot rewind, the storage feeds
// a running checksum as it sends, in the one pass. Otherwise the body (memory, a file range,
// a buffered part) is read once before sending and its value goes in a header. A mismatch, on
// either side, compares equal to condition::checksum_mismatch.
#pragma once

#include <cloudstore/checksum/checksum_algorithm.hpp>
#include <cloudstore/core/operation.hpp>

#include <array>
#include <memory>
#include <string>

namespace cloudstore {

namespace checksums_detail {

template <checksum_algorithm A>
class running final : public core::running_checksum {
public:
    void update(std::span<const std::byte> bytes) noexcept override { c_.update(bytes); }
    std::string finish() override { return to_base64(c_.finish()); }

private:
    A c_;
};

} // namespace checksums_detail

template <checksum_algorithm A>
struct checksums {
    void attempt_begin(core::attempt_context& a, error_code& ec) {
        auto& slot = a.step.checksum;
        slot.name = A::name;
        if (a.step.body != nullptr) {
            // The storage feeds `running` what it sends: the trailer's value, or its own check
            // of the header's value (memory and local check it as S3 does).
            slot.running.emplace<checksums_detail::running<A>>();
            if (!slot.value.empty() || slot.in_trailer) return; // an earlier attempt decided
            if (a.step.accepts_trailer || !a.step.body->rewindable())
                slot.in_trailer = true;
            else
                slot.value = pass_over(*a.step.body, ec);
        } else if (a.step.sink != nullptr) {
            slot.verify = true;
            slot.running.emplace<checksums_detail::running<A>>(); // fresh per attempt
        }
    }

private:
    // One pass over a rewindable body, then back to its start.
    static std::string pass_over(http::body_source& body, error_code& ec) {
        A c;
        std::array<std::byte, 16 * 1024> scratch;
        while (true) {
            const auto piece = body.next(scratch, ec);
            if (ec) return {};
            if (piece.empty()) break;
            c.update(piece);
        }
        body.rewind(ec);
        return to_base64(c.finish());
    }
};

} // namespace cloudstore
