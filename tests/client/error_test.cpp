// <cloudstore/error.hpp>: every provider code compares equal to its portable condition, wire
// codes round-trip, HTTP statuses and errno / Asio / Beast codes map as documented, categories
// carry their fixed ids, throw_storage_error raises the right class with the failure attached,
// and no secret survives into a message.
#include <cloudstore/error.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include <doctest/doctest.h>

#include <cerrno>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

using cloudstore::condition;
using cloudstore::error_code;
using cloudstore::gcs_errc;
using cloudstore::s3_errc;
using opt_condition = std::optional<condition>;

constexpr condition all_conditions[] = {
    condition::not_found,
    condition::already_exists,
    condition::not_modified,
    condition::precondition_failed,
    condition::range_not_satisfiable,
    condition::unauthenticated,
    condition::permission_denied,
    condition::quota_exceeded,
    condition::conflict,
    condition::throttled,
    condition::server_error,
    condition::network_error,
    condition::tls_error,
    condition::timeout,
    condition::cancelled,
    condition::not_supported,
    condition::invalid_argument,
    condition::invalid_configuration,
    condition::checksum_mismatch,
    condition::too_large,
};

std::string name_of(opt_condition c) {
    return c ? cloudstore::make_error_condition(*c).message() : std::string("(no condition)");
}

// `ec` equals `expected` and no other condition; condition_of agrees.
void check_condition(const error_code& ec, opt_condition expected) {
    INFO("code ", ec.to_string(), " (", ec.message(), "), expected ", name_of(expected));
    for (const condition c : all_conditions) {
        if (expected && c == *expected)
            CHECK(ec == c);
        else
            CHECK(ec != c);
    }
    CHECK(cloudstore::condition_of(ec) == expected);
}

template <class Enum>
struct wire_row {
    Enum code;
    std::string_view wire;
    opt_condition cond;
};

// The rows are written here, independently of the implementation's tables: the mapping is the
// documented one. They must list every enumerator, in order (checked below).
std::vector<wire_row<s3_errc>> s3_rows() {
    using enum condition;
    using e = s3_errc;
    return {
        {e::unknown, "", std::nullopt},
        {e::access_denied, "AccessDenied", permission_denied},
        {e::access_control_list_not_supported, "AccessControlListNotSupported", not_supported},
        {e::account_problem, "AccountProblem", permission_denied},
        {e::all_access_disabled, "AllAccessDisabled", permission_denied},
        {e::ambiguous_grant_by_email_address, "AmbiguousGrantByEmailAddress", invalid_argument},
        {e::authorization_header_malformed, "AuthorizationHeaderMalformed", invalid_argument},
        {e::authorization_query_parameters_error, "AuthorizationQueryParametersError",
         invalid_argument},
        {e::bad_digest, "BadDigest", checksum_mismatch},
        {e::bucket_already_exists, "BucketAlreadyExists", already_exists},
        {e::bucket_already_owned_by_you, "BucketAlreadyOwnedByYou", already_exists},
        {e::bucket_not_empty, "BucketNotEmpty", conflict},
        {e::conditional_request_conflict, "ConditionalRequestConflict", conflict},
        {e::credentials_not_supported, "CredentialsNotSupported", not_supported},
        {e::cross_location_logging_prohibited, "CrossLocationLoggingProhibited", permission_denied},
        {e::entity_too_large, "EntityTooLarge", too_large},
        {e::entity_too_small, "EntityTooSmall", invalid_argument},
        {e::expired_token, "ExpiredToken", unauthenticated},
        {e::illegal_location_constraint_exception, "IllegalLocationConstraintException",
         invalid_argument},
        {e::illegal_versioning_configuration_exception, "IllegalVersioningConfigurationException",
         invalid_argument},
        {e::incomplete_body, "IncompleteBody", invalid_argument},
        {e::incorrect_number_of_files_in_post_request, "IncorrectNumberOfFilesInPostRequest",
         invalid_argument},
        {e::inline_data_too_large, "InlineDataTooLarge", too_large},
        {e::internal_error, "InternalError", server_error},
        {e::invalid_access_key_id, "InvalidAccessKeyId", permission_denied},
        {e::invalid_argument, "InvalidArgument", invalid_argument},
        {e::invalid_bucket_name, "InvalidBucketName", invalid_argument},
        {e::invalid_bucket_state, "InvalidBucketState", conflict},
        {e::invalid_digest, "InvalidDigest", checksum_mismatch},
        {e::invalid_encryption_algorithm_error, "InvalidEncryptionAlgorithmError",
         invalid_argument},
        {e::invalid_location_constraint, "InvalidLocationConstraint", invalid_argument},
        {e::invalid_object_state, "InvalidObjectState", conflict},
        {e::invalid_part, "InvalidPart", invalid_argument},
        {e::invalid_part_order, "InvalidPartOrder", invalid_argument},
        {e::invalid_payer, "InvalidPayer", permission_denied},
        {e::invalid_policy_document, "InvalidPolicyDocument", invalid_argument},
        {e::invalid_range, "InvalidRange", range_not_satisfiable},
        {e::invalid_request, "InvalidRequest", invalid_argument},
        {e::invalid_security, "InvalidSecurity", permission_denied},
        {e::invalid_storage_class, "InvalidStorageClass", invalid_argument},
        {e::invalid_token, "InvalidToken", unauthenticated},
        {e::invalid_uri, "InvalidURI", invalid_argument},
        {e::key_too_long_error, "KeyTooLongError", invalid_argument},
        {e::malformed_acl_error, "MalformedACLError", invalid_argument},
        {e::malformed_post_request, "MalformedPOSTRequest", invalid_argument},
        {e::malformed_xml, "MalformedXML", invalid_argument},
        {e::max_message_length_exceeded, "MaxMessageLengthExceeded", too_large},
        {e::metadata_too_large, "MetadataTooLarge", too_large},
        {e::method_not_allowed, "MethodNotAllowed", not_supported},
        {e::missing_content_length, "MissingContentLength", invalid_argument},
        {e::missing_request_body_error, "MissingRequestBodyError", invalid_argument},
        {e::missing_security_header, "MissingSecurityHeader", invalid_argument},
        {e::no_such_bucket, "NoSuchBucket", not_found},
        {e::no_such_bucket_policy, "NoSuchBucketPolicy", not_found},
        {e::no_such_key, "NoSuchKey", not_found},
        {e::no_such_lifecycle_configuration, "NoSuchLifecycleConfiguration", not_found},
        {e::no_such_upload, "NoSuchUpload", not_found},
        {e::no_such_version, "NoSuchVersion", not_found},
        {e::not_implemented, "NotImplemented", not_supported},
        {e::not_modified, "NotModified", not_modified},
        {e::not_signed_up, "NotSignedUp", permission_denied},
        {e::object_not_in_active_tier_error, "ObjectNotInActiveTierError", conflict},
        {e::operation_aborted, "OperationAborted", conflict},
        {e::permanent_redirect, "PermanentRedirect", invalid_configuration},
        {e::precondition_failed, "PreconditionFailed", precondition_failed},
        {e::request_timeout, "RequestTimeout", timeout},
        {e::request_time_too_skewed, "RequestTimeTooSkewed", permission_denied},
        {e::restore_already_in_progress, "RestoreAlreadyInProgress", conflict},
        {e::service_unavailable, "ServiceUnavailable", throttled},
        {e::signature_does_not_match, "SignatureDoesNotMatch", permission_denied},
        {e::slow_down, "SlowDown", throttled},
        {e::temporary_redirect, "TemporaryRedirect", server_error},
        {e::token_refresh_required, "TokenRefreshRequired", unauthenticated},
        {e::too_many_buckets, "TooManyBuckets", quota_exceeded},
        {e::unexpected_content, "UnexpectedContent", invalid_argument},
        {e::unresolvable_grant_by_email_address, "UnresolvableGrantByEmailAddress",
         invalid_argument},
        {e::user_key_must_be_specified, "UserKeyMustBeSpecified", invalid_argument},
        {e::x_amz_content_sha256_mismatch, "XAmzContentSHA256Mismatch", checksum_mismatch},
    };
}

std::vector<wire_row<gcs_errc>> gcs_rows() {
    using enum condition;
    using e = gcs_errc;
    return {
        {e::unknown, "", std::nullopt},
        {e::not_modified, "notModified", not_modified},
        {e::bad_request, "badRequest", invalid_argument},
        {e::bad_request_exception, "badRequestException", invalid_argument},
        {e::cloud_kms_bad_key, "cloudKmsBadKey", invalid_configuration},
        {e::cloud_kms_cannot_change_key_name, "cloudKmsCannotChangeKeyName", invalid_argument},
        {e::cloud_kms_decryption_key_not_found, "cloudKmsDecryptionKeyNotFound",
         invalid_configuration},
        {e::cloud_kms_disabled_key, "cloudKmsDisabledKey", invalid_configuration},
        {e::cloud_kms_encryption_key_not_found, "cloudKmsEncryptionKeyNotFound",
         invalid_configuration},
        {e::cloud_kms_key_location_not_allowed, "cloudKmsKeyLocationNotAllowed",
         invalid_configuration},
        {e::customer_encryption_algorithm_is_invalid, "customerEncryptionAlgorithmIsInvalid",
         invalid_argument},
        {e::customer_encryption_key_format_is_invalid, "customerEncryptionKeyFormatIsInvalid",
         invalid_argument},
        {e::customer_encryption_key_is_incorrect, "customerEncryptionKeyIsIncorrect",
         invalid_argument},
        {e::customer_encryption_key_sha256_is_invalid, "customerEncryptionKeySha256IsInvalid",
         invalid_argument},
        {e::invalid, "invalid", invalid_argument},
        {e::invalid_alt_value, "invalidAltValue", invalid_argument},
        {e::invalid_argument, "invalidArgument", invalid_argument},
        {e::invalid_parameter, "invalidParameter", invalid_argument},
        {e::not_download, "notDownload", invalid_argument},
        {e::not_upload, "notUpload", invalid_argument},
        {e::parse_error, "parseError", invalid_argument},
        {e::required, "required", invalid_argument},
        {e::resource_is_encrypted_with_customer_encryption_key,
         "resourceIsEncryptedWithCustomerEncryptionKey", invalid_argument},
        {e::resource_not_encrypted_with_customer_encryption_key,
         "resourceNotEncryptedWithCustomerEncryptionKey", invalid_argument},
        {e::turned_down, "turnedDown", not_supported},
        {e::user_project_inconsistent, "userProjectInconsistent", invalid_argument},
        {e::user_project_invalid, "userProjectInvalid", invalid_argument},
        {e::user_project_missing, "userProjectMissing", invalid_argument},
        {e::wrong_url_for_upload, "wrongUrlForUpload", invalid_argument},
        {e::authentication_required_requester_pays, "AuthenticationRequiredRequesterPays",
         unauthenticated},
        {e::auth_error, "authError", unauthenticated},
        {e::locked_domain_expired, "lockedDomainExpired", unauthenticated},
        {e::unauthorized, "unauthorized", unauthenticated},
        {e::access_not_configured, "accessNotConfigured", invalid_configuration},
        {e::account_disabled, "accountDisabled", permission_denied},
        {e::country_blocked, "countryBlocked", permission_denied},
        {e::forbidden, "forbidden", permission_denied},
        {e::insufficient_permissions, "insufficientPermissions", permission_denied},
        {e::object_under_active_hold, "objectUnderActiveHold", permission_denied},
        {e::org_policy_constraint_failed, "orgPolicyConstraintFailed", permission_denied},
        {e::quota_exceeded, "quotaExceeded", quota_exceeded},
        {e::retention_policy_not_met, "retentionPolicyNotMet", permission_denied},
        {e::ssl_required, "sslRequired", invalid_configuration},
        {e::user_project_access_denied, "userProjectAccessDenied", permission_denied},
        {e::user_project_account_problem, "userProjectAccountProblem", permission_denied},
        {e::user_rate_limit_exceeded, "userRateLimitExceeded", throttled},
        {e::not_found, "notFound", not_found},
        {e::method_not_allowed, "methodNotAllowed", not_supported},
        {e::upload_broken_connection, "uploadBrokenConnection", network_error},
        {e::conflict, "conflict", conflict},
        {e::gone, "gone", not_found},
        {e::condition_not_met, "conditionNotMet", precondition_failed},
        {e::upload_too_large, "uploadTooLarge", too_large},
        {e::requested_range_not_satisfiable, "requestedRangeNotSatisfiable", range_not_satisfiable},
        {e::rate_limit_exceeded, "rateLimitExceeded", throttled},
        {e::internal_error, "internalError", server_error},
        {e::backend_error, "backendError", server_error},
        {e::gateway_timeout, "gatewayTimeout", server_error},
    };
}

std::vector<wire_row<cloudstore::errc>> errc_rows() {
    using enum condition;
    using e = cloudstore::errc;
    return {
        {e::invalid_argument, {}, invalid_argument},
        {e::invalid_key, {}, invalid_configuration},
        {e::invalid_encoding, {}, invalid_argument},
        {e::crypto_failure, {}, invalid_configuration},
        {e::checksum_mismatch, {}, checksum_mismatch},
        {e::not_supported, {}, not_supported},
        {e::invalid_configuration, {}, invalid_configuration},
        {e::too_large, {}, too_large},
        {e::timeout, {}, timeout},
        {e::cancelled, {}, cancelled},
        {e::malformed_response, {}, server_error},
        {e::no_credentials, {}, unauthenticated},
        {e::not_found, {}, not_found},
        {e::already_exists, {}, already_exists},
        {e::precondition_failed, {}, precondition_failed},
        {e::not_modified, {}, not_modified},
        {e::range_not_satisfiable, {}, range_not_satisfiable},
    };
}

// The rows are the enumerators 1..N in order, and N + 1 is past the end of the enum.
template <class Enum>
void check_rows_cover_enum(const std::vector<wire_row<Enum>>& rows,
                           const boost::system::error_category& category) {
    for (std::size_t i = 0; i < rows.size(); ++i)
        CHECK(static_cast<std::size_t>(rows[i].code) == i + 1);
    const int past_end = static_cast<int>(rows.size()) + 1;
    const error_code beyond(past_end, category);
    INFO("an enumerator was added without a row here: ", beyond.message());
    CHECK(beyond.message().find("Unrecognized") != std::string::npos);
    CHECK(cloudstore::condition_of(beyond) == std::nullopt);
}

// Every message a code of `category` can print, for the secret check.
std::vector<std::string> messages_of(const boost::system::error_category& category, int first,
                                     int last) {
    std::vector<std::string> out;
    for (int v = first; v <= last; ++v)
        out.push_back(category.message(v));
    return out;
}

// A message reads as an English sentence.
void check_sentence(const std::string& message) {
    INFO("message: ", message);
    REQUIRE(!message.empty());
    CHECK(message.front() >= 'A');
    CHECK(message.front() <= 'Z');
    CHECK(message.back() == '.');
}

// A category with a given id: stands for a second copy of a header-only category (another
// shared library's).
class fixed_id_category final : public boost::system::error_category {
public:
    explicit constexpr fixed_id_category(unsigned long long id) noexcept
        : error_category(id) {}
    const char* name() const noexcept override { return "copy"; }
    std::string message(int) const override { return "copy"; }
};

} // namespace

TEST_CASE("every s3_errc compares equal to its condition and round-trips its wire code") {
    const auto rows = s3_rows();
    check_rows_cover_enum(rows, cloudstore::s3_category());
    for (const auto& row : rows) {
        const error_code ec = row.code;
        CHECK(ec.category() == cloudstore::s3_category());
        CHECK(ec == row.code);
        check_condition(ec, row.cond);
        CHECK(cloudstore::to_string(row.code) == row.wire);
        CHECK(cloudstore::s3_errc_from_string(cloudstore::to_string(row.code)) == row.code);
        check_sentence(ec.message());
    }
}

TEST_CASE("unknown S3 codes give s3_errc::unknown") {
    for (const std::string_view code : {"", "nosuchkey", "NOSUCHKEY", "NoSuchKey ", " NoSuchKey",
                                        "NoSuchKeyX", "Bogus", "notFound", "unknown"})
        CHECK(cloudstore::s3_errc_from_string(code) == s3_errc::unknown);
    CHECK(cloudstore::to_string(static_cast<s3_errc>(0)).empty());
    CHECK(cloudstore::to_string(static_cast<s3_errc>(100000)).empty());
}

TEST_CASE("every gcs_errc compares equal to its condition and round-trips its reason") {
    const auto rows = gcs_rows();
    check_rows_cover_enum(rows, cloudstore::gcs_category());
    for (const auto& row : rows) {
        const error_code ec = row.code;
        CHECK(ec.category() == cloudstore::gcs_category());
        check_condition(ec, row.cond);
        CHECK(cloudstore::to_string(row.code) == row.wire);
        CHECK(cloudstore::gcs_errc_from_string(cloudstore::to_string(row.code)) == row.code);
        check_sentence(ec.message());
    }
}

TEST_CASE("unknown GCS reasons give gcs_errc::unknown") {
    for (const std::string_view reason :
         {"", "NotFound", "notfound", "notFound ", "NoSuchKey", "push.channelIdInvalid"})
        CHECK(cloudstore::gcs_errc_from_string(reason) == gcs_errc::unknown);
    CHECK(cloudstore::to_string(static_cast<gcs_errc>(100000)).empty());
}

TEST_CASE("every errc compares equal to its condition") {
    const auto rows = errc_rows();
    check_rows_cover_enum(rows, cloudstore::errc_category());
    for (const auto& row : rows) {
        const error_code ec = row.code;
        CHECK(ec.category() == cloudstore::errc_category());
        check_condition(ec, row.cond);
        check_sentence(ec.message());
    }
    // The form the crypto/ and checksum/ code uses: assignment from the enum.
    error_code ec;
    ec = cloudstore::errc::invalid_encoding;
    CHECK(ec == cloudstore::errc::invalid_encoding);
    CHECK(ec == condition::invalid_argument);
}

TEST_CASE("every condition has a sentence and compares equal to itself") {
    for (const condition c : all_conditions) {
        const auto cond = cloudstore::make_error_condition(c);
        CHECK(cond.category() == cloudstore::condition_category());
        CHECK(cond == c);
        check_sentence(cond.message());
        // A code of the condition category itself equals exactly its own condition.
        check_condition(error_code(static_cast<int>(c), cloudstore::condition_category()), c);
    }
    CHECK(cloudstore::condition_of(error_code{}) == std::nullopt);
}

TEST_CASE("HTTP statuses: value, message and condition") {
    struct row {
        int status;
        std::string_view message;
        opt_condition cond;
    };
    using enum condition;
    const row rows[] = {
        {200, "HTTP 200 OK", std::nullopt},
        {301, "HTTP 301 Moved Permanently", std::nullopt},
        {302, "HTTP 302 Found", std::nullopt},
        {304, "HTTP 304 Not Modified", not_modified},
        {307, "HTTP 307 Temporary Redirect", std::nullopt},
        {400, "HTTP 400 Bad Request", invalid_argument},
        {401, "HTTP 401 Unauthorized", unauthenticated},
        {403, "HTTP 403 Forbidden", permission_denied},
        {404, "HTTP 404 Not Found", not_found},
        {405, "HTTP 405 Method Not Allowed", not_supported},
        {408, "HTTP 408 Request Timeout", timeout},
        {409, "HTTP 409 Conflict", conflict},
        {410, "HTTP 410 Gone", not_found},
        {411, "HTTP 411 Length Required", std::nullopt},
        {412, "HTTP 412 Precondition Failed", precondition_failed},
        {413, "HTTP 413 Content Too Large", too_large},
        {416, "HTTP 416 Range Not Satisfiable", range_not_satisfiable},
        {418, "HTTP 418", std::nullopt},
        {429, "HTTP 429 Too Many Requests", throttled},
        {500, "HTTP 500 Internal Server Error", server_error},
        {501, "HTTP 501 Not Implemented", not_supported},
        {502, "HTTP 502 Bad Gateway", server_error},
        {503, "HTTP 503 Service Unavailable", server_error},
        {504, "HTTP 504 Gateway Timeout", server_error},
        {507, "HTTP 507 Insufficient Storage", server_error},
        {599, "HTTP 599", server_error},
    };
    for (const auto& r : rows) {
        const error_code ec = cloudstore::make_http_status_error(r.status);
        CHECK(ec.value() == r.status);
        CHECK(ec.category() == cloudstore::http_status_category());
        CHECK(ec.message() == r.message);
        CHECK(static_cast<bool>(ec));
        check_condition(ec, r.cond);
    }
}

TEST_CASE("make_s3_error and make_gcs_error fall back to the HTTP status") {
    CHECK(cloudstore::make_s3_error("NoSuchKey", 404) == s3_errc::no_such_key);
    CHECK(cloudstore::make_s3_error("SlowDown", 503) == s3_errc::slow_down);
    // HEAD replies have no body, hence no code: the status decides.
    CHECK(cloudstore::make_s3_error("", 404) == cloudstore::make_http_status_error(404));
    CHECK(cloudstore::make_s3_error("", 404) == condition::not_found);
    CHECK(cloudstore::make_s3_error("SomeNewCode", 503) == condition::server_error);
    CHECK(cloudstore::make_s3_error("SomeNewCode", 503).category() ==
          cloudstore::http_status_category());
    // An error body in a 200 reply (CompleteMultipartUpload): known code, or unknown.
    CHECK(cloudstore::make_s3_error("InternalError", 200) == s3_errc::internal_error);
    CHECK(cloudstore::make_s3_error("SomeNewCode", 200) == s3_errc::unknown);
    CHECK(cloudstore::make_s3_error("", 0) == s3_errc::unknown);

    CHECK(cloudstore::make_gcs_error("notFound", 404) == gcs_errc::not_found);
    CHECK(cloudstore::make_gcs_error("rateLimitExceeded", 429) == condition::throttled);
    CHECK(cloudstore::make_gcs_error("", 412) == condition::precondition_failed);
    CHECK(cloudstore::make_gcs_error("newReason", 401) == condition::unauthenticated);
    CHECK(cloudstore::make_gcs_error("newReason", 200) == gcs_errc::unknown);
    // "required" is a missing parameter at 400 and a missing login at 401.
    CHECK(cloudstore::make_gcs_error("required", 400) == gcs_errc::required);
    CHECK(cloudstore::make_gcs_error("required", 400) == condition::invalid_argument);
    CHECK(cloudstore::make_gcs_error("required", 401) == condition::unauthenticated);
}

TEST_CASE("errno codes compare equal to their conditions, generic and system category") {
    struct row {
        int ev;
        opt_condition cond;
    };
    using enum condition;
    const row rows[] = {
        {ECANCELED, cancelled},
        {ETIMEDOUT, timeout},
        {ECONNRESET, network_error},
        {ECONNREFUSED, network_error},
        {ECONNABORTED, network_error},
        {EPIPE, network_error},
        {ENETUNREACH, network_error},
        {EHOSTUNREACH, network_error},
        {ENOTCONN, network_error},
        {ENETDOWN, network_error},
#ifdef EHOSTDOWN
        {EHOSTDOWN, network_error},
#endif
        {EADDRNOTAVAIL, network_error},
        {ENOENT, not_found},
        {EEXIST, already_exists},
        {EACCES, permission_denied},
        {EPERM, permission_denied},
        {EINVAL, invalid_argument},
        {ENOSPC, quota_exceeded},
#ifdef EDQUOT
        {EDQUOT, quota_exceeded},
#endif
        {EFBIG, too_large},
        {ENOTSUP, not_supported},
        {EOPNOTSUPP, not_supported},
        {ENOSYS, not_supported},
        {EIO, std::nullopt},
        {EAGAIN, std::nullopt},
        {EBADF, std::nullopt},
    };
    for (const auto& r : rows) {
        check_condition(error_code(r.ev, boost::system::generic_category()), r.cond);
        check_condition(error_code(r.ev, boost::system::system_category()), r.cond);
    }
    // A success code equals no condition, whatever its category.
    check_condition(error_code(0, boost::system::generic_category()), std::nullopt);
}

TEST_CASE("std::error_code values of the generic category (std::filesystem) compare equal") {
    const error_code from_generic = std::make_error_code(std::errc::no_such_file_or_directory);
    check_condition(from_generic, condition::not_found);
    std::error_code fs_ec;
    (void)std::filesystem::file_size("/nonexistent-cloudstore-test-dir/file", fs_ec);
    REQUIRE(fs_ec);
    check_condition(error_code(fs_ec), condition::not_found);
}

TEST_CASE("Asio and Beast transport codes compare equal to their conditions") {
    namespace asio_error = boost::asio::error;
    namespace beast = boost::beast;
    using enum condition;
    check_condition(asio_error::operation_aborted, cancelled);
    check_condition(asio_error::timed_out, timeout);
    check_condition(asio_error::connection_reset, network_error);
    check_condition(asio_error::connection_refused, network_error);
    check_condition(asio_error::connection_aborted, network_error);
    check_condition(asio_error::broken_pipe, network_error);
    check_condition(asio_error::network_unreachable, network_error);
    check_condition(asio_error::host_unreachable, network_error);
    check_condition(asio_error::network_down, network_error);
    check_condition(asio_error::not_connected, network_error);
    check_condition(asio_error::access_denied, permission_denied);
    check_condition(asio_error::operation_not_supported, not_supported);
    check_condition(asio_error::would_block, std::nullopt);
    check_condition(asio_error::eof, network_error);
    check_condition(asio_error::not_found, std::nullopt); // asio.misc "element not found"
    check_condition(asio_error::host_not_found, network_error);
    check_condition(asio_error::host_not_found_try_again, network_error);
    check_condition(boost::asio::ssl::error::stream_truncated, network_error);
    check_condition(error_code(0x0A000086, boost::asio::error::get_ssl_category()), tls_error);
    check_condition(beast::error::timeout, timeout);
    check_condition(beast::http::error::end_of_stream, network_error);
    check_condition(beast::http::error::partial_message, network_error);
    check_condition(beast::http::error::bad_target, std::nullopt);
}

TEST_CASE("categories have their names and fixed ids, and compare equal by id") {
    struct row {
        const boost::system::error_category& category;
        std::string_view name;
        unsigned long long id;
    };
    const row rows[] = {
        {cloudstore::errc_category(), "cloudstore", 0x9547224c78d1da47ULL},
        {cloudstore::condition_category(), "cloudstore.condition", 0x2d4637adc98df085ULL},
        {cloudstore::s3_category(), "cloudstore.s3", 0x8d9988d35e547e37ULL},
        {cloudstore::gcs_category(), "cloudstore.gcs", 0xee278b7968675644ULL},
        {cloudstore::http_status_category(), "cloudstore.http", 0x9df4872f86ecc613ULL},
    };
    for (const auto& r : rows) {
        CHECK(std::string_view(r.category.name()) == r.name);
        // A second object with the same id (a copy of the category in another shared
        // library) is the same category: codes compare equal across the copies.
        const fixed_id_category copy(r.id);
        CHECK(copy == r.category);
        CHECK(r.category == copy);
        CHECK(error_code(7, copy) == error_code(7, r.category));
        for (const auto& other : rows)
            if (&other != &r) CHECK(other.category != r.category);
    }
    const fixed_id_category stranger(0x0123456789abcdefULL);
    CHECK(stranger != cloudstore::s3_category());
    // A code built by hand in the copy equals the enum value.
    CHECK(error_code(static_cast<int>(s3_errc::no_such_key),
                     fixed_id_category(0x8d9988d35e547e37ULL)) == s3_errc::no_such_key);
}

namespace {

// The number of condition_error classes `e` is an instance of: 1 for a code with a condition,
// 0 for one without.
template <std::size_t... I>
int condition_classes_of(const cloudstore::storage_error& e, std::index_sequence<I...>) {
    return (0 + ... +
            static_cast<int>(dynamic_cast<const cloudstore::condition_error<all_conditions[I]>*>(
                                 &e) != nullptr));
}

int condition_classes_of(const cloudstore::storage_error& e) {
    return condition_classes_of(e, std::make_index_sequence<std::size(all_conditions)>{});
}

template <class Exception>
void check_throws_as(const error_code& ec) {
    INFO("code ", ec.to_string());
    const cloudstore::storage_failure failure{ec, 418, "SomeCode", "Some message.", "req-42"};
    bool caught = false;
    try {
        cloudstore::throw_storage_error(failure);
    } catch (const Exception& e) {
        caught = true;
        CHECK(e.code() == ec);
        CHECK(e.failure().code == ec);
        CHECK(e.failure().http_status == 418);
        CHECK(e.failure().provider_code == "SomeCode");
        CHECK(e.failure().message == "Some message.");
        CHECK(e.failure().request_id == "req-42");
        CHECK(std::string(e.what()) == failure.describe());
        CHECK(condition_classes_of(e) == 1);
    } catch (const std::exception& e) {
        FAIL("wrong exception type, what(): ", e.what());
    }
    CHECK(caught);
    CHECK_THROWS_AS(cloudstore::throw_storage_error(ec), Exception);
}

// The class each condition raises, by its public name, in the order of all_conditions.
using condition_classes =
    std::tuple<cloudstore::not_found_error, cloudstore::already_exists_error,
               cloudstore::not_modified_error, cloudstore::precondition_failed_error,
               cloudstore::range_not_satisfiable_error, cloudstore::unauthenticated_error,
               cloudstore::permission_denied_error, cloudstore::quota_exceeded_error,
               cloudstore::conflict_error, cloudstore::throttled_error, cloudstore::service_error,
               cloudstore::network_error, cloudstore::tls_error, cloudstore::timeout_error,
               cloudstore::cancelled_error, cloudstore::not_supported_error,
               cloudstore::invalid_argument_error, cloudstore::invalid_configuration_error,
               cloudstore::checksum_mismatch_error, cloudstore::too_large_error>;

// Codes of each condition from every kind of source, in the order of all_conditions.
std::vector<std::vector<error_code>> codes_by_condition() {
    namespace asio_error = boost::asio::error;
    using cloudstore::errc;
    using cloudstore::make_http_status_error;
    const auto generic = [](int ev) { return error_code(ev, boost::system::generic_category()); };
    return {
        {s3_errc::no_such_key, gcs_errc::not_found, make_http_status_error(404), errc::not_found,
         generic(ENOENT)},
        {s3_errc::bucket_already_owned_by_you, errc::already_exists, generic(EEXIST)},
        {make_http_status_error(304), s3_errc::not_modified, gcs_errc::not_modified},
        {gcs_errc::condition_not_met, s3_errc::precondition_failed, make_http_status_error(412)},
        {s3_errc::invalid_range, make_http_status_error(416)},
        {s3_errc::expired_token, make_http_status_error(401), errc::no_credentials},
        {s3_errc::signature_does_not_match, gcs_errc::forbidden, generic(EACCES)},
        {gcs_errc::quota_exceeded, s3_errc::too_many_buckets, generic(ENOSPC)},
        {s3_errc::operation_aborted, make_http_status_error(409)},
        {s3_errc::slow_down, make_http_status_error(429)},
        {s3_errc::internal_error, make_http_status_error(503), errc::malformed_response},
        {asio_error::connection_reset, asio_error::eof, boost::beast::http::error::end_of_stream},
        {error_code(0x0A000086, asio_error::get_ssl_category())},
        {asio_error::timed_out, boost::beast::error::timeout, errc::timeout},
        {asio_error::operation_aborted, errc::cancelled},
        {s3_errc::not_implemented, errc::not_supported},
        {errc::invalid_encoding, make_http_status_error(400)},
        {errc::invalid_key, s3_errc::permanent_redirect},
        {s3_errc::bad_digest, errc::checksum_mismatch},
        {s3_errc::entity_too_large, make_http_status_error(413)},
    };
}

template <std::size_t I>
void check_condition_class(const std::vector<error_code>& codes) {
    constexpr condition c = all_conditions[I];
    using named = std::tuple_element_t<I, condition_classes>;
    static_assert(static_cast<std::size_t>(c) == I + 1);
    static_assert(std::is_same_v<named, cloudstore::condition_error<c>>);
    INFO("condition ", name_of(c));
    CHECK(!codes.empty());
    // The condition's own code, then the provider, HTTP, errno and transport codes.
    check_throws_as<named>(error_code(static_cast<int>(c), cloudstore::condition_category()));
    for (const auto& ec : codes)
        check_throws_as<named>(ec);
}

} // namespace

TEST_CASE("throw_storage_error raises the condition_error of the code's condition") {
    // all_conditions lists the enum, and condition_classes names a class for each entry.
    static_assert(std::size(all_conditions) == static_cast<std::size_t>(condition::too_large));
    static_assert(std::tuple_size_v<condition_classes> == std::size(all_conditions));
    static_assert(std::is_same_v<cloudstore::service_error,
                                 cloudstore::condition_error<condition::server_error>>);
    const auto codes = codes_by_condition();
    REQUIRE(codes.size() == std::size(all_conditions));
    [&codes]<std::size_t... I>(std::index_sequence<I...>) {
        (check_condition_class<I>(codes[I]), ...);
    }
    (std::make_index_sequence<std::size(all_conditions)>{});
}

TEST_CASE("a code with no condition throws storage_error itself") {
    using namespace cloudstore;
    bool caught = false;
    try {
        throw_storage_error(storage_failure{s3_errc::unknown, 400, "NewCode", "New.", "r"});
    } catch (const storage_error& e) {
        caught = true;
        CHECK(e.code() == s3_errc::unknown);
        CHECK(dynamic_cast<const not_found_error*>(&e) == nullptr);
        CHECK(dynamic_cast<const invalid_argument_error*>(&e) == nullptr);
        CHECK(dynamic_cast<const service_error*>(&e) == nullptr);
        CHECK(condition_classes_of(e) == 0);
    }
    CHECK(caught);
}

TEST_CASE("a moved-from storage_error keeps its failure and its what()") {
    using namespace cloudstore;
    static_assert(std::is_nothrow_copy_constructible_v<storage_error>);
    static_assert(std::is_nothrow_copy_constructible_v<not_found_error>);
    const storage_failure failure{s3_errc::no_such_key, 404, "NoSuchKey", "Gone.", "r-1"};
    const std::string line = failure.describe();

    storage_error source(failure);
    const storage_error constructed(std::move(source));
    CHECK(std::string(source.what()) == line);
    CHECK(source.failure().request_id == "r-1");
    CHECK(source.code() == s3_errc::no_such_key);
    CHECK(std::string(constructed.what()) == line);
    CHECK(constructed.failure().http_status == 404);

    storage_error assigned(errc::timeout);
    storage_error assign_source(failure);
    assigned = std::move(assign_source);
    CHECK(std::string(assign_source.what()) == line);
    CHECK(assign_source.failure().code == s3_errc::no_such_key);
    CHECK(std::string(assigned.what()) == line);

    not_found_error sub(failure);
    const not_found_error sub_moved(std::move(sub));
    CHECK(std::string(sub.what()) == line);
    CHECK(sub.failure().provider_code == "NoSuchKey");
    CHECK(sub_moved.failure().provider_code == "NoSuchKey");
}

TEST_CASE("storage_error is a system_error, and copies share the failure") {
    using namespace cloudstore;
    CHECK_THROWS_AS(throw_storage_error(s3_errc::no_such_key), boost::system::system_error);
    CHECK_THROWS_AS(throw_storage_error(s3_errc::no_such_key), std::runtime_error);
    try {
        throw_storage_error(storage_failure{s3_errc::no_such_key, 404, "NoSuchKey", "Gone.", "r"});
    } catch (const boost::system::system_error& e) {
        CHECK(e.code() == condition::not_found);
        const auto* se = dynamic_cast<const storage_error*>(&e);
        REQUIRE(se != nullptr);
        const storage_error copy = *se;
        CHECK(&copy.failure() == &se->failure());
        CHECK(copy.what() == se->what());
    }
    const not_found_error direct(s3_errc::no_such_key);
    CHECK(direct.failure().code == s3_errc::no_such_key);
    CHECK(direct.failure().http_status == 0);
    CHECK(std::string(direct.what()) == "The object does not exist. [cloudstore.s3:55]");
}

TEST_CASE("describe() is one line with whatever is present") {
    using namespace cloudstore;
    CHECK(storage_failure{s3_errc::no_such_key, 404, "NoSuchKey",
                          "The specified key does not exist.", "4442587FB7D0A2F9"}
              .describe() == "The object does not exist. [cloudstore.s3:55]; NoSuchKey: The "
                             "specified key does not exist.; HTTP 404; request id "
                             "4442587FB7D0A2F9");
    CHECK(storage_failure{errc::timeout, 0, {}, {}, {}}.describe() ==
          "The operation timed out. [cloudstore:9]");
    CHECK(storage_failure{make_http_status_error(503), 503, {}, {}, "abc"}.describe() ==
          "HTTP 503 Service Unavailable [cloudstore.http:503]; HTTP 503; request id abc");
    CHECK(storage_failure{gcs_errc::backend_error, 0, {}, "  first\nsecond\r\n\tthird \n", {}}
              .describe() == "The Cloud Storage backend failed. [cloudstore.gcs:57]; first "
                             "second   third");
    CHECK(storage_failure{gcs_errc::forbidden, 0, "forbidden", {}, {}}.describe() ==
          "Access to the resource was denied. [cloudstore.gcs:37]; forbidden");
}

// ---- secrets ---------------------------------------------------------------------------------

TEST_CASE("redact_secrets replaces secret values and keeps the text around them") {
    struct row {
        std::string_view in;
        std::string_view out;
    };
    const row rows[] = {
        {"a?X-Amz-Signature=0a1b2c&b=1", "a?X-Amz-Signature=[redacted]&b=1"},
        {"a?x-amz-signature=0a1b2c", "a?x-amz-signature=[redacted]"},
        {"x-amz-security-token: FQoGZXIvYXdz\r\nHost: h",
         "x-amz-security-token: [redacted]\r\nHost: h"},
        {"X-Amz-Credential=AKIDEXAMPLE/20240101/us-east-1/s3/aws4_request&X-Amz-Expires=60",
         "X-Amz-Credential=AKIDEXAMPLE/20240101/us-east-1/s3/aws4_request&X-Amz-Expires=60"},
        {"Authorization: AWS4-HMAC-SHA256 Credential=AKID/x, SignedHeaders=host, "
         "Signature=5d67\nHost: b",
         "Authorization: [redacted]\nHost: b"},
        {"Signature=5d672d79, next", "Signature=[redacted], next"},
        {"Proxy-Authorization: Basic dXNlcjpwYXNz\n", "Proxy-Authorization: [redacted]\n"},
        {R"({"Authorization": "Bearer ya29.abc", "n": 1})",
         R"({"Authorization": "[redacted]", "n": 1})"},
        {"call with Bearer abc.def-ghi please", "call with Bearer [redacted] please"},
        {R"({"access_token": "ya29.abc", "expires_in": 3599, "token_type": "Bearer"})",
         R"({"access_token": "[redacted]", "expires_in": 3599, "token_type": "Bearer"})"},
        {R"({\"refresh_token\":\"1//0abc\",\"x\":1})",
         R"({\"refresh_token\":\"[redacted]\",\"x\":1})"},
        {R"({"id_token":"a.b.c"})", R"({"id_token":"[redacted]"})"},
        {R"({"client_secret":"GOCSPX-abc","client_id":"123.apps"})",
         R"({"client_secret":"[redacted]","client_id":"123.apps"})"},
        {R"({"private_key_id":"k1","private_key":"-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n","client_email":"a@b"})",
         R"({"private_key_id":"k1","private_key":"[redacted]","client_email":"a@b"})"},
        {"aws_secret_access_key = wJalrXUtnFEMI/K7MDENG\naws_access_key_id = AKID",
         "aws_secret_access_key = [redacted]\naws_access_key_id = AKID"},
        {"AWS_SECRET_ACCESS_KEY=abc AWS_REGION=eu-west-1",
         "AWS_SECRET_ACCESS_KEY=[redacted] AWS_REGION=eu-west-1"},
        {"AWS_SESSION_TOKEN=IQoJ AWS_PROFILE=p", "AWS_SESSION_TOKEN=[redacted] AWS_PROFILE=p"},
        {"<Code>SignatureDoesNotMatch</Code><SignatureProvided>abc123</SignatureProvided>",
         "<Code>SignatureDoesNotMatch</Code><SignatureProvided>[redacted]</SignatureProvided>"},
        {"<AccessKeyId>ASIA1</AccessKeyId><SecretAccessKey>wJal</SecretAccessKey>"
         "<SessionToken>FQo</SessionToken>",
         "<AccessKeyId>ASIA1</AccessKeyId><SecretAccessKey>[redacted]</SecretAccessKey>"
         "<SessionToken>[redacted]</SessionToken>"},
        {R"({"AccessKeyId":"ASIA1","SecretAccessKey":"wJal","Token":"IQo"})",
         R"({"AccessKeyId":"ASIA1","SecretAccessKey":"[redacted]","Token":"[redacted]"})"},
        {"u?GoogleAccessId=a@b&Expires=1&Signature=abc%2Bdef",
         "u?GoogleAccessId=a@b&Expires=1&Signature=[redacted]"},
        {"u?X-Goog-Credential=a%40b&X-Goog-Signature=0a1b&x=1",
         "u?X-Goog-Credential=a%40b&X-Goog-Signature=[redacted]&x=1"},
        {"sv=2020&SIG=abc&se=1", "sv=2020&SIG=[redacted]&se=1"},
        {"grant_type=jwt-bearer&assertion=eyJhbGciOi",
         "grant_type=jwt-bearer&assertion=[redacted]"},
        {"jwt eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl end", "jwt [redacted] end"},
        {"'password': 'hunter2'", "'password': '[redacted]'"},
        {"x-amz-server-side-encryption-customer-key: c2VjcmV0\n"
         "x-amz-server-side-encryption-customer-key-MD5: bWQ1\n",
         "x-amz-server-side-encryption-customer-key: [redacted]\n"
         "x-amz-server-side-encryption-customer-key-MD5: bWQ1\n"},
        {"x-goog-encryption-key: c2VjcmV0", "x-goog-encryption-key: [redacted]"},
        {"a -----BEGIN RSA PRIVATE KEY-----\nMIIEpA\n-----END RSA PRIVATE KEY----- b",
         "a -----BEGIN RSA PRIVATE KEY-----[redacted]-----END RSA PRIVATE KEY----- b"},
        {"key -----BEGIN PRIVATE KEY-----\nMIIEvQ and no end",
         "key -----BEGIN PRIVATE KEY-----[redacted]"},
        {"access_token=", "access_token="},
        {"", ""},
    };
    for (const auto& r : rows) {
        INFO("input: ", std::string(r.in));
        CHECK(cloudstore::redact_secrets(r.in) == r.out);
    }
}

namespace {

struct redaction_row {
    std::string_view in;
    std::string_view out;
};

void check_redactions(std::span<const redaction_row> rows) {
    for (const auto& r : rows) {
        INFO("input: ", std::string(r.in));
        CHECK(cloudstore::redact_secrets(r.in) == r.out);
    }
}

} // namespace

TEST_CASE("redact_secrets: a SignatureDoesNotMatch reply loses its canonical request") {
    // S3's reply: StringToSign (no secret) is kept; the canonical request holds the
    // x-amz-security-token line, and the hex forms hold every byte of both.
    constexpr std::string_view reply =
        "<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated "
        "does not match the signature you provided. Check your key and signing method."
        "</Message><AWSAccessKeyId>ASIAEXAMPLE</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256\n"
        "20240101T000000Z\n20240101/eu-west-1/s3/aws4_request\n"
        "9e0e90d9c76ab8a6d0a2e4f1</StringToSign><SignatureProvided>fe5f80f77d5f"
        "</SignatureProvided><StringToSignBytes>41 57 53 34 2d 48 4d 41 43</StringToSignBytes>"
        "<CanonicalRequest>GET\n/clips/a.wav\n\nhost:audio.s3.amazonaws.com\n"
        "x-amz-date:20240101T000000Z\nx-amz-security-token:IQoJSECRETTOKEN\n\n"
        "host;x-amz-date;x-amz-security-token\nUNSIGNED-PAYLOAD</CanonicalRequest>"
        "<CanonicalRequestBytes>47 45 54 0a 2f 63 6c 69 70 73 0a 78 2d 61 6d 7a 2d 73 65 63 75 "
        "72 69 74 79 2d 74 6f 6b 65 6e 3a 49 51 6f 4a</CanonicalRequestBytes>"
        "<RequestId>4442587FB7D0A2F9</RequestId></Error>";
    CHECK(cloudstore::redact_secrets(reply) ==
          "<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated "
          "does not match the signature you provided. Check your key and signing method."
          "</Message><AWSAccessKeyId>ASIAEXAMPLE</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256\n"
          "20240101T000000Z\n20240101/eu-west-1/s3/aws4_request\n"
          "9e0e90d9c76ab8a6d0a2e4f1</StringToSign><SignatureProvided>[redacted]"
          "</SignatureProvided><StringToSignBytes>[redacted]</StringToSignBytes>"
          "<CanonicalRequest>[redacted]</CanonicalRequest>"
          "<CanonicalRequestBytes>[redacted]</CanonicalRequestBytes>"
          "<RequestId>4442587FB7D0A2F9</RequestId></Error>");
}

TEST_CASE("redact_secrets: percent-encoded = and & of a URL nested in a query") {
    const redaction_row rows[] = {
        {"u?next=https%3A%2F%2Fb.s3.amazonaws.com%2Fk%3FX-Amz-Credential%3DAKID%252F20240101"
         "%26X-Amz-Signature%3Dfe5f80f7%26X-Amz-Expires%3D60",
         "u?next=https%3A%2F%2Fb.s3.amazonaws.com%2Fk%3FX-Amz-Credential%3DAKID%252F20240101"
         "%26X-Amz-Signature%3D[redacted]%26X-Amz-Expires%3D60"},
        {"X-Amz-Signature%3Dabc123", "X-Amz-Signature%3D[redacted]"},
        {"r=%2Fk%3fx-amz-security-token%3dIQoJ%26x%3d1",
         "r=%2Fk%3fx-amz-security-token%3d[redacted]%26x%3d1"},
        // Encoded twice.
        {"a%253FX-Goog-Signature%253D0a1b%2526y%253D2",
         "a%253FX-Goog-Signature%253D[redacted]%2526y%253D2"},
        {"n=u%3Fkey%3DAIzaSyA0%26alt%3Djson", "n=u%3Fkey%3D[redacted]%26alt%3Djson"},
        // Encoded '&' inside a value: the nested level's own '&' is "%2526", and a "%26"
        // after a plain '=' is part of the value.
        {"u%3FX-Amz-Security-Token%3DIQo%2526SECRET%26a%3D1",
         "u%3FX-Amz-Security-Token%3D[redacted]%26a%3D1"},
        {"password=ab%26SECRET&user=u", "password=[redacted]&user=u"},
    };
    check_redactions(rows);
}

TEST_CASE("redact_secrets: names in every spelling, suffixes, prefixes and userinfo") {
    const redaction_row rows[] = {
        // GCS HMAC key resource; RGW admin user info.
        {R"({"accessId": "GOOG1EXAMPLE", "secret": "bGoa+V7g/yqDXvKRqq+JTFn4uQ"})",
         R"({"accessId": "GOOG1EXAMPLE", "secret": "[redacted]"})"},
        {R"({"user":"u","access_key":"AKRGW","secret_key":"SKRGW"})",
         R"({"user":"u","access_key":"AKRGW","secret_key":"[redacted]"})"},
        // Any name ending in customer-key; the MD5 beside it is kept.
        {"x-amz-copy-source-server-side-encryption-customer-key: c2VjcmV0\n"
         "x-amz-copy-source-server-side-encryption-customer-key-MD5: bWQ1\n",
         "x-amz-copy-source-server-side-encryption-customer-key: [redacted]\n"
         "x-amz-copy-source-server-side-encryption-customer-key-MD5: bWQ1\n"},
        {"SSECustomerKey=c2VjcmV0&SSECustomerKeyMD5=bWQ1",
         "SSECustomerKey=[redacted]&SSECustomerKeyMD5=bWQ1"},
        {"x-goog-copy-source-encryption-key: c2Vj\nx-goog-encryption-key-sha256: aGFzaA",
         "x-goog-copy-source-encryption-key: [redacted]\nx-goog-encryption-key-sha256: aGFzaA"},
        {"x-goog-api-key: AIzaSyA0", "x-goog-api-key: [redacted]"},
        // camelCase, PascalCase, kebab-case: one normalised entry each.
        {R"({"privateKey":"MIIE","accessToken":"ya29.a","refreshToken":"1//0r",)"
         R"("clientSecret":"GOCSPX-c","secretAccessKey":"wJal","sessionToken":"IQoJ",)"
         R"("clientId":"123.apps","privateKeyId":"k1"})",
         R"({"privateKey":"[redacted]","accessToken":"[redacted]","refreshToken":"[redacted]",)"
         R"("clientSecret":"[redacted]","secretAccessKey":"[redacted]","sessionToken":"[redacted]",)"
         R"("clientId":"123.apps","privateKeyId":"k1"})"},
        {"AccessToken=abc access-token: def ACCESS_TOKEN=ghi",
         "AccessToken=[redacted] access-token: [redacted] ACCESS_TOKEN=[redacted]"},
        // XML with a namespace prefix.
        {"<ns:AccessKeyId>ASIA1</ns:AccessKeyId><ns:SecretAccessKey>wJal</ns:SecretAccessKey>"
         "<sts:SessionToken>IQo</sts:SessionToken>",
         "<ns:AccessKeyId>ASIA1</ns:AccessKeyId><ns:SecretAccessKey>[redacted]</ns:SecretAccessKey>"
         "<sts:SessionToken>[redacted]</sts:SessionToken>"},
        // The password of a URL's userinfo; the user name and the host are kept.
        {"via https://alice:s3cr3t@proxy.example.com:3128/ ok",
         "via https://alice:[redacted]@proxy.example.com:3128/ ok"},
        {"HTTPS_PROXY=http://bob:p@ss;w0rd@proxy:3128",
         "HTTPS_PROXY=http://bob:[redacted]@proxy:3128"},
        {"redis://:hunter2@cache:6379/0", "redis://:[redacted]@cache:6379/0"},
        {"https://eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln:x-oauth@h/",
         "https://[redacted]:[redacted]@h/"},
        // A Google API key in a query.
        {"https://storage.googleapis.com/storage/v1/b/bkt/o?key=AIzaSyA0&alt=json",
         "https://storage.googleapis.com/storage/v1/b/bkt/o?key=[redacted]&alt=json"},
        {"o?alt=json&key=AIzaSyA0", "o?alt=json&key=[redacted]"},
        {"<Url>https://h/o?alt=json&amp;key=AIzaSyA0</Url>",
         "<Url>https://h/o?alt=json&amp;key=[redacted]</Url>"},
        // The names ending in secret, secret key, password, session or security token.
        {"AWSSecretKey=abc webhook_secret=def db_password=ghi proxyPassword: jkl",
         "AWSSecretKey=[redacted] webhook_secret=[redacted] db_password=[redacted] "
         "proxyPassword: [redacted]"},
        {"<AmzSecurityToken>IQo</AmzSecurityToken> AWS_SESSION_TOKEN=IQp",
         "<AmzSecurityToken>[redacted]</AmzSecurityToken> AWS_SESSION_TOKEN=[redacted]"},
    };
    check_redactions(rows);
}

TEST_CASE("redact_secrets leaves ordinary provider messages alone") {
    for (const std::string_view text : {
             "The request signature we calculated does not match the signature you provided. "
             "Check your key and signing method.",
             "The authorization header is malformed; the region 'us-east-1' is wrong; expecting "
             "'eu-west-1'",
             R"({"error": {"errors": [{"domain": "global", "reason": "required", "message": )"
             R"("Login Required", "locationType": "header", "location": "Authorization"}]}})",
             "The provided token has expired.",
             "The provided token must be refreshed.",
             "Access Denied",
             "No such object: bucket/audio/2024/01/clip.wav",
             "Token=",
             "signatures, tokens and authorization headers are all words",
             // Object names: "key" is a secret only as a query parameter.
             "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>"
             "<Key>audio/clip.wav</Key><BucketName>audio</BucketName></Error>",
             R"({"bucket": "audio", "key": "audio/clip.wav"})",
             "key=audio/clip.wav",
             "o?key-marker=audio/a.wav&prefix=audio",
             "The secret access key is wrong.",
             "secret=",
             // Access key ids, emails, and URLs without a password.
             "x-amz-server-side-encryption-customer-key-MD5: bWQ1",
             "<AWSAccessKeyId>AKIAEXAMPLE</AWSAccessKeyId><StringToSign>AWS4</StringToSign>",
             R"({"client_email": "uploader@project.iam.gserviceaccount.com", "accessId": "GOOG1"})",
             "https://alice@host.example.com/a",
             "https://host.example.com:443/a@b?c=d@e",
             "mailto:someone@example.com",
         })
        CHECK(cloudstore::redact_secrets(text) == text);
}

namespace {

// A provider message full of secrets, and the secret values it holds.
constexpr std::string_view leaky_message =
    "Request failed: GET "
    "https://audio.s3.eu-west-1.amazonaws.com/clips/a.wav?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20240101%2Feu-west-1%2Fs3%2Faws4_request"
    "&X-Amz-Date=20240101T000000Z&X-Amz-Expires=900"
    "&X-Amz-Security-Token=IQoJb3JpZ2luX2VjSECRETSESSIONTOKEN%2Fxyz%3D"
    "&X-Amz-SignedHeaders=host"
    "&X-Amz-Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024\n"
    "Authorization: AWS4-HMAC-SHA256 "
    "Credential=AKIAIOSFODNN7EXAMPLE/20240101/eu-west-1/s3/aws4_request, "
    "SignedHeaders=host;x-amz-date, "
    "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7\n"
    "key file: {\"type\": \"service_account\", \"client_email\": "
    "\"uploader@project.iam.gserviceaccount.com\", \"private_key_id\": \"3f1dkeyid\", "
    "\"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANSECRETJSONKEYBODY\\n"
    "-----END PRIVATE KEY-----\\n\"}\n"
    "token reply: {\"access_token\":\"ya29.a0SECRETACCESSTOKEN\",\"expires_in\":3599,"
    "\"token_type\":\"Bearer\"}\n"
    "pem: -----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEASECRETPEMBODY\n"
    "-----END RSA PRIVATE KEY-----\n"
    "end of report.";

constexpr std::string_view leaked_secrets[] = {
    "IQoJb3JpZ2luX2VjSECRETSESSIONTOKEN",
    "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
    "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
    "MIIEvQIBADANSECRETJSONKEYBODY",
    "ya29.a0SECRETACCESSTOKEN",
    "MIIEpAIBAAKCAQEASECRETPEMBODY",
    "SECRET",
};

constexpr std::string_view kept_text[] = {
    "Request failed: GET https://audio.s3.eu-west-1.amazonaws.com/clips/a.wav?",
    "X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20240101",
    "X-Amz-Expires=900",
    "X-Amz-Security-Token=[redacted]",
    "X-Amz-Signature=[redacted]",
    "Authorization: [redacted]",
    "\"client_email\": \"uploader@project.iam.gserviceaccount.com\"",
    "\"private_key_id\": \"3f1dkeyid\"",
    "\"private_key\": \"[redacted]\"",
    "\"access_token\":\"[redacted]\"",
    "\"expires_in\":3599",
    "-----BEGIN RSA PRIVATE KEY-----[redacted]-----END RSA PRIVATE KEY-----",
    "end of report.",
};

void check_no_secret(std::string_view text) {
    INFO("text: ", std::string(text));
    for (const auto secret : leaked_secrets)
        CHECK(text.find(secret) == std::string_view::npos);
    for (const auto kept : kept_text)
        CHECK(text.find(kept) != std::string_view::npos);
}

} // namespace

TEST_CASE("no secret reaches describe() or what()") {
    using namespace cloudstore;
    const storage_failure failure{s3_errc::access_denied, 403, "AccessDenied",
                                  std::string(leaky_message), "REQ-7F3A"};
    const std::string line = failure.describe();
    check_no_secret(line);
    CHECK(line.find('\n') == std::string::npos);
    CHECK(line.find("AccessDenied") != std::string::npos);
    CHECK(line.find("HTTP 403") != std::string::npos);
    CHECK(line.find("request id REQ-7F3A") != std::string::npos);
    check_no_secret(redact_secrets(leaky_message));

    bool caught = false;
    try {
        throw_storage_error(failure);
    } catch (const permission_denied_error& e) {
        caught = true;
        check_no_secret(e.what());
        // The raw payload is kept as sent, for code that needs it; only text is redacted.
        CHECK(e.failure().message == leaky_message);
    }
    CHECK(caught);

    // The same for a code of every category and for each exception class's what().
    for (const error_code ec : {error_code(s3_errc::unknown), error_code(gcs_errc::forbidden),
                                make_http_status_error(401), error_code(errc::malformed_response),
                                error_code(boost::asio::error::connection_reset)}) {
        const storage_failure f{ec, 0, "Code", std::string(leaky_message), {}};
        check_no_secret(f.describe());
        check_no_secret(storage_error(f).what());
    }
}

TEST_CASE("no code's message looks like a secret") {
    std::vector<std::string> messages;
    const auto add = [&](const boost::system::error_category& category, int first, int last) {
        const auto m = messages_of(category, first, last);
        messages.insert(messages.end(), m.begin(), m.end());
    };
    add(cloudstore::s3_category(), 0, static_cast<int>(s3_rows().size()) + 1);
    add(cloudstore::gcs_category(), 0, static_cast<int>(gcs_rows().size()) + 1);
    add(cloudstore::errc_category(), 0, static_cast<int>(errc_rows().size()) + 1);
    add(cloudstore::condition_category(), 0, 21);
    add(cloudstore::http_status_category(), 100, 599);
    CHECK(messages.size() > 600);
    for (const auto& message : messages) {
        INFO("message: ", message);
        CHECK(cloudstore::redact_secrets(message) == message);
        CHECK(message.find("-----BEGIN") == std::string::npos);
        CHECK(message.find("Bearer") == std::string::npos);
        CHECK(message.find("eyJ") == std::string::npos);
    }
}
