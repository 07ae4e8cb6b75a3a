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
    // Where Ceph RGW differs from AWS S3 (which keeps '_' in metadata names, stores keys with
    // NUL, and answers a PUT with If-Match on a missing key with 404 NoSuchKey).
    static constexpr bool keeps_metadata_underscores = false;
    static constexpr bool nul_in_keys = false;
    static constexpr condition if_match_on_missing = condition::precondition_failed;
    static constexpr bool presigned_urls = true;
    static constexpr bool public_urls = true;
    static constexpr std::string_view url_scheme = "http://";
    static s3 make() { return rgw::fresh(); }
};

} // namespace

#define CONFORMANCE_ROWS s3_row
#include "conformance_cases.hpp"

static_assert(storage_policy<s3>);
