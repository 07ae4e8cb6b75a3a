// Internal: the incremental CRC shared by crc32c, crc32 and crc64nvme.
#pragma once

#include <cloudstore/checksum/detail/crc_math.hpp>
#include <cloudstore/crypto/bytes.hpp>

#include <array>
#include <string_view>

namespace cloudstore::detail {

/// Traits: `math` (a crc::reflected), `name`, and `update(register, bytes, n)`.
template <class Traits>
class basic_crc {
    using math = typename Traits::math;

public:
    /// The CRC as a number (after the final inversion), e.g. 0xe3069283 for crc32c("123456789").
    using value_type = typename math::value_type;
    /// The CRC's big-endian bytes: what the wire carries, base64-encoded.
    using digest_type = std::array<std::byte, sizeof(value_type)>;
    /// The algorithm's name as S3 and GCS spell it (`x-amz-checksum-<name>`, `x-goog-hash`).
    static constexpr std::string_view name = Traits::name;

    /// Feeds bytes; any length, any number of calls, any split: the result is the same.
    void update(crypto::byte_view data) noexcept {
        reg_ =
            Traits::update(reg_, reinterpret_cast<const unsigned char*>(data.data()), data.size());
    }
    /// The CRC of everything fed so far; feeding may continue.
    value_type value() const noexcept { return static_cast<value_type>(~reg_); }
    /// The CRC's big-endian bytes of everything fed so far; then starts again.
    digest_type finish() noexcept {
        const digest_type d = to_digest(value());
        reset();
        return d;
    }
    void reset() noexcept { reg_ = static_cast<value_type>(~value_type{0}); }

    /// The CRC of `data` in one call.
    static value_type compute(crypto::byte_view data) noexcept {
        basic_crc c;
        c.update(data);
        return c.value();
    }
    /// The CRC of A followed by B, from A's CRC, B's CRC and B's length: how the parts of a
    /// parallel multipart upload give the whole object's CRC. O(log length_b).
    static constexpr value_type combine(value_type crc_a, value_type crc_b,
                                        std::uint64_t length_b) noexcept {
        return math::combine(crc_a, crc_b, length_b);
    }
    /// A CRC value as its big-endian bytes.
    static constexpr digest_type to_digest(value_type v) noexcept {
        digest_type d{};
        for (std::size_t i = 0; i < d.size(); ++i)
            d[i] = static_cast<std::byte>(v >> (8 * (d.size() - 1 - i)));
        return d;
    }

private:
    value_type reg_ = static_cast<value_type>(~value_type{0});
};

} // namespace cloudstore::detail
