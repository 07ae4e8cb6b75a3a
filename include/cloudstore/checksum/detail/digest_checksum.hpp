// Internal: an OpenSSL digest context presented as a checksum_algorithm (sha256, md5).
#pragma once

#include <cloudstore/crypto/digest.hpp>

#include <string_view>

namespace cloudstore::detail {

/// Context: a crypto::fixed_digest_context; Traits: `name`.
template <class Context, class Traits>
class digest_checksum {
public:
    using digest_type = typename Context::digest_type;
    static constexpr std::string_view name = Traits::name;

    void update(crypto::byte_view data) noexcept { ctx_.update(data); }
    /// The digest of everything fed since the last finish() or reset(); then starts again.
    digest_type finish() noexcept { return ctx_.finish(); }
    void reset() noexcept { ctx_.reset(); }

private:
    Context ctx_;
};

} // namespace cloudstore::detail
