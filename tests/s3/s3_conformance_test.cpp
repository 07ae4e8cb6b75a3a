// The storage conformance suite (tests/support/conformance_cases.hpp) over S3 against the
// Ceph RGW of this test run, signatures enforced: each case gets a bucket of its own.
#include "rgw_env.hpp"

#include <cloudstore/client.hpp>
#include <cloudstore/storage/s3.hpp>

namespace {

using namespace cloudstore;

struct s3_row {
    using storage = s3;
    static constexpr std::string_view name = "s3";
    static constexpr bool presigned_urls = true;
    static constexpr bool public_urls = true;
    static constexpr std::string_view url_scheme = "http://";
    static s3 make() { return rgw::fresh(); }
};

} // namespace

#define CONFORMANCE_ROWS s3_row
#include "conformance_cases.hpp"

static_assert(storage_policy<s3>);
