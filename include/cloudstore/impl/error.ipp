// Non-template bodies of <cloudstore/error.hpp>: the categories, the code tables, secret
// redaction and the exceptions.
#pragma once

#include <cloudstore/error.hpp>

#include <boost/throw_exception.hpp>

#include <array>
#include <cerrno>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace cloudstore {
// Everything here is internal to this file; the nested namespace keeps its short helper names
// (is_alpha, iequals, ...) from meeting other headers' cloudstore::detail helpers.
namespace detail::error_impl {

// "No portable condition": the value 0, which no enumerator has.
inline constexpr condition no_condition{};

// ---- tables ----------------------------------------------------------------------------------
// Row i describes the enumerator with value i + 1; `error_table_in_order` checks it at compile
// time.

template <class Enum>
struct error_entry {
    Enum code;
    std::string_view wire; // the provider's spelling; empty for cloudstore's own codes
    condition cond;
    const char* message;
};

template <class Enum, std::size_t N>
constexpr bool error_table_in_order(const error_entry<Enum> (&table)[N]) {
    for (std::size_t i = 0; i < N; ++i)
        if (static_cast<std::size_t>(table[i].code) != i + 1) return false;
    return true;
}

template <class Enum>
constexpr const error_entry<Enum>* find_entry(std::span<const error_entry<Enum>> table,
                                              int ev) noexcept {
    if (ev < 1 || static_cast<std::size_t>(ev) > table.size()) return nullptr;
    return &table[static_cast<std::size_t>(ev) - 1];
}

// The last enumerator of `condition`: the rows below and the exception table of
// throw_storage_error are held to it.
inline constexpr condition last_condition = condition::too_large;

inline std::span<const error_entry<condition>> condition_entries() noexcept {
    using enum condition;
    static constexpr error_entry<condition> table[] = {
        {not_found, {}, not_found, "The object, bucket or upload does not exist."},
        {already_exists, {}, already_exists, "The object or bucket already exists."},
        {not_modified, {}, not_modified, "The object has not been modified."},
        {precondition_failed,
         {},
         precondition_failed,
         "A precondition of the request does not hold."},
        {range_not_satisfiable,
         {},
         range_not_satisfiable,
         "The requested range cannot be satisfied."},
        {unauthenticated, {}, unauthenticated, "The credentials are missing, expired or invalid."},
        {permission_denied, {}, permission_denied, "Permission for the operation is denied."},
        {quota_exceeded, {}, quota_exceeded, "A quota is exhausted."},
        {conflict,
         {},
         conflict,
         "The request conflicts with a concurrent operation or with the resource's state."},
        {throttled, {}, throttled, "The service asks to reduce the request rate."},
        {server_error, {}, server_error, "The service failed to handle the request."},
        {network_error, {}, network_error, "The network connection failed."},
        {tls_error, {}, tls_error, "The TLS connection failed."},
        {timeout, {}, timeout, "The operation timed out."},
        {cancelled, {}, cancelled, "The operation was cancelled."},
        {not_supported, {}, not_supported, "The operation is not supported."},
        {invalid_argument, {}, invalid_argument, "The request or one of its arguments is invalid."},
        {invalid_configuration, {}, invalid_configuration, "The configuration is invalid."},
        {checksum_mismatch, {}, checksum_mismatch, "The data does not match its checksum."},
        {too_large, {}, too_large, "A size limit is exceeded."},
    };
    static_assert(error_table_in_order(table));
    static_assert(std::size(table) == static_cast<std::size_t>(last_condition));
    return table;
}

inline std::span<const error_entry<errc>> errc_entries() noexcept {
    using enum condition;
    static constexpr error_entry<errc> table[] = {
        {errc::invalid_argument, {}, invalid_argument, "An argument is invalid."},
        {errc::invalid_key,
         {},
         invalid_configuration,
         "A key could not be parsed or has the wrong type."},
        {errc::invalid_encoding, {}, invalid_argument, "The input is not valid hex or base64."},
        {errc::crypto_failure,
         {},
         invalid_configuration,
         "OpenSSL failed to perform a cryptographic operation."},
        {errc::checksum_mismatch, {}, checksum_mismatch, "The data does not match its checksum."},
        {errc::not_supported,
         {},
         not_supported,
         "The operation is not supported by this store or build."},
        {errc::invalid_configuration,
         {},
         invalid_configuration,
         "The configuration is invalid or incomplete."},
        {errc::too_large, {}, too_large, "A size limit is exceeded."},
        {errc::timeout, {}, timeout, "The operation timed out."},
        {errc::cancelled, {}, cancelled, "The operation was cancelled."},
        {errc::malformed_response, {}, server_error, "The server's reply could not be parsed."},
        {errc::no_credentials, {}, unauthenticated, "No credentials were found."},
        {errc::not_found, {}, not_found, "The object does not exist."},
        {errc::already_exists, {}, already_exists, "The object already exists."},
        {errc::precondition_failed,
         {},
         precondition_failed,
         "A precondition of the request does not hold."},
        {errc::not_modified, {}, not_modified, "The object has not been modified."},
        {errc::range_not_satisfiable,
         {},
         range_not_satisfiable,
         "The requested range lies outside the object."},
    };
    static_assert(error_table_in_order(table));
    return table;
}

inline std::span<const error_entry<s3_errc>> s3_entries() noexcept {
    using enum condition;
    using e = s3_errc;
    static constexpr error_entry<s3_errc> table[] = {
        {e::unknown, {}, no_condition, "S3 returned an error code that cloudstore does not know."},
        {e::access_denied, "AccessDenied", permission_denied, "Access to the resource was denied."},
        {e::access_control_list_not_supported, "AccessControlListNotSupported", not_supported,
         "The bucket does not allow ACLs."},
        {e::account_problem, "AccountProblem", permission_denied,
         "A problem with the AWS account prevents the operation."},
        {e::all_access_disabled, "AllAccessDisabled", permission_denied,
         "Access to this S3 resource has been disabled for every caller."},
        {e::ambiguous_grant_by_email_address, "AmbiguousGrantByEmailAddress", invalid_argument,
         "The e-mail address of a grant belongs to more than one account."},
        {e::authorization_header_malformed, "AuthorizationHeaderMalformed", invalid_argument,
         "The authorization header is malformed (often a wrong region in the credential scope)."},
        {e::authorization_query_parameters_error, "AuthorizationQueryParametersError",
         invalid_argument, "The query parameters of the presigned URL are malformed."},
        {e::bad_digest, "BadDigest", checksum_mismatch,
         "The Content-MD5 or checksum sent does not match the data S3 received."},
        {e::bucket_already_exists, "BucketAlreadyExists", already_exists,
         "The bucket name is already taken by another account."},
        {e::bucket_already_owned_by_you, "BucketAlreadyOwnedByYou", already_exists,
         "The bucket already exists and belongs to this account."},
        {e::bucket_not_empty, "BucketNotEmpty", conflict, "The bucket is not empty."},
        {e::conditional_request_conflict, "ConditionalRequestConflict", conflict,
         "A concurrent conditional request on the object conflicted with this one."},
        {e::credentials_not_supported, "CredentialsNotSupported", not_supported,
         "This request does not support credentials."},
        {e::cross_location_logging_prohibited, "CrossLocationLoggingProhibited", permission_denied,
         "Logging to a bucket in another region is not allowed."},
        {e::entity_too_large, "EntityTooLarge", too_large,
         "The upload exceeds the maximum allowed object or part size."},
        {e::entity_too_small, "EntityTooSmall", invalid_argument,
         "The upload is smaller than the minimum allowed size (every multipart part but the last "
         "must be at least 5 MiB)."},
        {e::expired_token, "ExpiredToken", unauthenticated, "The security token has expired."},
        {e::illegal_location_constraint_exception, "IllegalLocationConstraintException",
         invalid_argument, "The location constraint does not match the region of the request."},
        {e::illegal_versioning_configuration_exception, "IllegalVersioningConfigurationException",
         invalid_argument, "The versioning configuration is not valid."},
        {e::incomplete_body, "IncompleteBody", invalid_argument,
         "The request body is shorter than its Content-Length."},
        {e::incorrect_number_of_files_in_post_request, "IncorrectNumberOfFilesInPostRequest",
         invalid_argument, "A POST upload must contain exactly one file."},
        {e::inline_data_too_large, "InlineDataTooLarge", too_large,
         "The inline data exceeds the maximum allowed size."},
        {e::internal_error, "InternalError", server_error, "S3 encountered an internal error."},
        {e::invalid_access_key_id, "InvalidAccessKeyId", permission_denied,
         "The access key id does not exist."},
        {e::invalid_argument, "InvalidArgument", invalid_argument,
         "An argument of the request is not valid."},
        {e::invalid_bucket_name, "InvalidBucketName", invalid_argument,
         "The bucket name is not valid."},
        {e::invalid_bucket_state, "InvalidBucketState", conflict,
         "The operation is not valid in the bucket's current state."},
        {e::invalid_digest, "InvalidDigest", checksum_mismatch,
         "The Content-MD5 or checksum header is not valid."},
        {e::invalid_encryption_algorithm_error, "InvalidEncryptionAlgorithmError", invalid_argument,
         "The server-side encryption algorithm is not valid."},
        {e::invalid_location_constraint, "InvalidLocationConstraint", invalid_argument,
         "The location constraint is not valid."},
        {e::invalid_object_state, "InvalidObjectState", conflict,
         "The operation is not valid in the object's current state (it may be archived)."},
        {e::invalid_part, "InvalidPart", invalid_argument,
         "A part of the multipart upload was not found or its ETag does not match."},
        {e::invalid_part_order, "InvalidPartOrder", invalid_argument,
         "The parts of the multipart upload are not in ascending order."},
        {e::invalid_payer, "InvalidPayer", permission_denied,
         "Access to this object has been disabled."},
        {e::invalid_policy_document, "InvalidPolicyDocument", invalid_argument,
         "The policy document is not valid."},
        {e::invalid_range, "InvalidRange", range_not_satisfiable,
         "The requested range cannot be satisfied."},
        {e::invalid_request, "InvalidRequest", invalid_argument, "The request is not valid."},
        {e::invalid_security, "InvalidSecurity", permission_denied,
         "The security credentials provided are not valid."},
        {e::invalid_storage_class, "InvalidStorageClass", invalid_argument,
         "The storage class is not valid."},
        {e::invalid_token, "InvalidToken", unauthenticated,
         "The security token is malformed or otherwise not valid."},
        {e::invalid_uri, "InvalidURI", invalid_argument, "The URI could not be parsed."},
        {e::key_too_long_error, "KeyTooLongError", invalid_argument, "The object key is too long."},
        {e::malformed_acl_error, "MalformedACLError", invalid_argument,
         "The ACL is malformed or does not match the schema."},
        {e::malformed_post_request, "MalformedPOSTRequest", invalid_argument,
         "The body of the POST request is not well-formed multipart/form-data."},
        {e::malformed_xml, "MalformedXML", invalid_argument,
         "The XML of the request is not well-formed or does not match the schema."},
        {e::max_message_length_exceeded, "MaxMessageLengthExceeded", too_large,
         "The request is too long."},
        {e::metadata_too_large, "MetadataTooLarge", too_large,
         "The metadata headers exceed the maximum allowed size."},
        {e::method_not_allowed, "MethodNotAllowed", not_supported,
         "The HTTP method is not allowed on this resource."},
        {e::missing_content_length, "MissingContentLength", invalid_argument,
         "The Content-Length header is missing."},
        {e::missing_request_body_error, "MissingRequestBodyError", invalid_argument,
         "The request body is missing."},
        {e::missing_security_header, "MissingSecurityHeader", invalid_argument,
         "A required security header is missing."},
        {e::no_such_bucket, "NoSuchBucket", not_found, "The bucket does not exist."},
        {e::no_such_bucket_policy, "NoSuchBucketPolicy", not_found, "The bucket has no policy."},
        {e::no_such_key, "NoSuchKey", not_found, "The object does not exist."},
        {e::no_such_lifecycle_configuration, "NoSuchLifecycleConfiguration", not_found,
         "The bucket has no lifecycle configuration."},
        {e::no_such_upload, "NoSuchUpload", not_found,
         "The multipart upload does not exist (it may have been completed or aborted)."},
        {e::no_such_version, "NoSuchVersion", not_found, "The object version does not exist."},
        {e::not_implemented, "NotImplemented", not_supported,
         "S3 does not implement a feature the request uses."},
        {e::not_modified, "NotModified", not_modified, "The object has not been modified."},
        {e::not_signed_up, "NotSignedUp", permission_denied,
         "The account is not signed up for S3."},
        {e::object_not_in_active_tier_error, "ObjectNotInActiveTierError", conflict,
         "The object is not in the active tier (it may be archived)."},
        {e::operation_aborted, "OperationAborted", conflict,
         "A conflicting operation is in progress on this resource."},
        {e::permanent_redirect, "PermanentRedirect", invalid_configuration,
         "The bucket must be addressed through another endpoint or region."},
        {e::precondition_failed, "PreconditionFailed", precondition_failed,
         "A precondition of the request does not hold."},
        {e::request_timeout, "RequestTimeout", timeout,
         "The request body was not sent within the server's timeout."},
        {e::request_time_too_skewed, "RequestTimeTooSkewed", permission_denied,
         "The request time differs too much from the server's time; check the host clock."},
        {e::restore_already_in_progress, "RestoreAlreadyInProgress", conflict,
         "A restore of the object is already in progress."},
        {e::service_unavailable, "ServiceUnavailable", throttled,
         "S3 is unavailable; reduce the request rate."},
        {e::signature_does_not_match, "SignatureDoesNotMatch", permission_denied,
         "The request signature does not match; check the secret access key and the signing "
         "method."},
        {e::slow_down, "SlowDown", throttled, "S3 asks to reduce the request rate."},
        {e::temporary_redirect, "TemporaryRedirect", server_error,
         "S3 is temporarily redirecting requests for the bucket while its DNS name propagates."},
        {e::token_refresh_required, "TokenRefreshRequired", unauthenticated,
         "The security token must be refreshed."},
        {e::too_many_buckets, "TooManyBuckets", quota_exceeded,
         "The account has reached its bucket limit."},
        {e::unexpected_content, "UnexpectedContent", invalid_argument,
         "The request has a body this operation does not accept."},
        {e::unresolvable_grant_by_email_address, "UnresolvableGrantByEmailAddress",
         invalid_argument, "The e-mail address of a grant does not belong to any account."},
        {e::user_key_must_be_specified, "UserKeyMustBeSpecified", invalid_argument,
         "A required form field is missing from the POST upload."},
        {e::x_amz_content_sha256_mismatch, "XAmzContentSHA256Mismatch", checksum_mismatch,
         "The x-amz-content-sha256 header does not match the payload S3 received."},
    };
    static_assert(error_table_in_order(table));
    return table;
}

inline std::span<const error_entry<gcs_errc>> gcs_entries() noexcept {
    using enum condition;
    using e = gcs_errc;
    static constexpr error_entry<gcs_errc> table[] = {
        {e::unknown,
         {},
         no_condition,
         "Cloud Storage returned an error reason that cloudstore does not know."},
        {e::not_modified, "notModified", not_modified, "The object has not been modified."},
        {e::bad_request, "badRequest", invalid_argument, "The request is not valid."},
        {e::bad_request_exception, "badRequestException", invalid_argument,
         "The request was rejected as not valid."},
        {e::cloud_kms_bad_key, "cloudKmsBadKey", invalid_configuration,
         "The Cloud KMS key is not valid or cannot be used."},
        {e::cloud_kms_cannot_change_key_name, "cloudKmsCannotChangeKeyName", invalid_argument,
         "The Cloud KMS key of the object cannot be changed this way."},
        {e::cloud_kms_decryption_key_not_found, "cloudKmsDecryptionKeyNotFound",
         invalid_configuration, "The Cloud KMS key that encrypted the object was not found."},
        {e::cloud_kms_disabled_key, "cloudKmsDisabledKey", invalid_configuration,
         "The Cloud KMS key is disabled."},
        {e::cloud_kms_encryption_key_not_found, "cloudKmsEncryptionKeyNotFound",
         invalid_configuration, "The Cloud KMS encryption key was not found."},
        {e::cloud_kms_key_location_not_allowed, "cloudKmsKeyLocationNotAllowed",
         invalid_configuration, "The location of the Cloud KMS key is not allowed."},
        {e::customer_encryption_algorithm_is_invalid, "customerEncryptionAlgorithmIsInvalid",
         invalid_argument, "The customer-supplied encryption algorithm is not valid."},
        {e::customer_encryption_key_format_is_invalid, "customerEncryptionKeyFormatIsInvalid",
         invalid_argument, "The customer-supplied encryption key is not in a valid format."},
        {e::customer_encryption_key_is_incorrect, "customerEncryptionKeyIsIncorrect",
         invalid_argument, "The customer-supplied encryption key is not the object's key."},
        {e::customer_encryption_key_sha256_is_invalid, "customerEncryptionKeySha256IsInvalid",
         invalid_argument, "The SHA-256 of the customer-supplied encryption key is not valid."},
        {e::invalid, "invalid", invalid_argument, "A value in the request is not valid."},
        {e::invalid_alt_value, "invalidAltValue", invalid_argument,
         "The alt parameter is not valid."},
        {e::invalid_argument, "invalidArgument", invalid_argument,
         "An argument of the request is not valid."},
        {e::invalid_parameter, "invalidParameter", invalid_argument,
         "A parameter of the request is not valid."},
        {e::not_download, "notDownload", invalid_argument, "The request is not a download."},
        {e::not_upload, "notUpload", invalid_argument, "The request is not an upload."},
        {e::parse_error, "parseError", invalid_argument, "The request body could not be parsed."},
        {e::required, "required", invalid_argument, "A required parameter is missing."},
        {e::resource_is_encrypted_with_customer_encryption_key,
         "resourceIsEncryptedWithCustomerEncryptionKey", invalid_argument,
         "The object is encrypted with a customer-supplied key the request does not provide."},
        {e::resource_not_encrypted_with_customer_encryption_key,
         "resourceNotEncryptedWithCustomerEncryptionKey", invalid_argument,
         "The object is not encrypted with the customer-supplied key the request provides."},
        {e::turned_down, "turnedDown", not_supported, "The feature has been turned down."},
        {e::user_project_inconsistent, "userProjectInconsistent", invalid_argument,
         "The user project does not match the project of the request."},
        {e::user_project_invalid, "userProjectInvalid", invalid_argument,
         "The user project is not valid."},
        {e::user_project_missing, "userProjectMissing", invalid_argument,
         "The bucket is Requester Pays and the request names no user project."},
        {e::wrong_url_for_upload, "wrongUrlForUpload", invalid_argument,
         "The upload was sent to the wrong URL."},
        {e::authentication_required_requester_pays, "AuthenticationRequiredRequesterPays",
         unauthenticated, "The Requester Pays bucket requires authentication."},
        {e::auth_error, "authError", unauthenticated, "The credentials are not valid."},
        {e::locked_domain_expired, "lockedDomainExpired", unauthenticated,
         "The session of the locked domain has expired."},
        {e::unauthorized, "unauthorized", unauthenticated,
         "The request is not authorized; credentials are missing or not valid."},
        {e::access_not_configured, "accessNotConfigured", invalid_configuration,
         "The Cloud Storage API is not enabled for the project."},
        {e::account_disabled, "accountDisabled", permission_denied, "The account is disabled."},
        {e::country_blocked, "countryBlocked", permission_denied,
         "Access from this country is blocked."},
        {e::forbidden, "forbidden", permission_denied, "Access to the resource was denied."},
        {e::insufficient_permissions, "insufficientPermissions", permission_denied,
         "The caller lacks a permission the operation needs."},
        {e::object_under_active_hold, "objectUnderActiveHold", permission_denied,
         "The object is under a hold and cannot be changed or deleted."},
        {e::org_policy_constraint_failed, "orgPolicyConstraintFailed", permission_denied,
         "An organization policy refuses the request."},
        {e::quota_exceeded, "quotaExceeded", quota_exceeded,
         "A quota of the project is exhausted."},
        {e::retention_policy_not_met, "retentionPolicyNotMet", permission_denied,
         "The object is under a retention policy and cannot be changed or deleted yet."},
        {e::ssl_required, "sslRequired", invalid_configuration, "The request must use HTTPS."},
        {e::user_project_access_denied, "userProjectAccessDenied", permission_denied,
         "The caller may not bill the user project."},
        {e::user_project_account_problem, "userProjectAccountProblem", permission_denied,
         "A problem with the billing account of the user project prevents the operation."},
        {e::user_rate_limit_exceeded, "userRateLimitExceeded", throttled,
         "The per-user request rate limit was exceeded."},
        {e::not_found, "notFound", not_found, "The object or bucket does not exist."},
        {e::method_not_allowed, "methodNotAllowed", not_supported,
         "The HTTP method is not allowed on this resource."},
        {e::upload_broken_connection, "uploadBrokenConnection", network_error,
         "The upload connection broke before all data was received."},
        {e::conflict, "conflict", conflict,
         "The request conflicts with a concurrent request or with the resource's state."},
        {e::gone, "gone", not_found, "The resumable upload session no longer exists."},
        {e::condition_not_met, "conditionNotMet", precondition_failed,
         "A precondition of the request (such as a generation match) does not hold."},
        {e::upload_too_large, "uploadTooLarge", too_large,
         "The upload exceeds the maximum allowed object size."},
        {e::requested_range_not_satisfiable, "requestedRangeNotSatisfiable", range_not_satisfiable,
         "The requested range cannot be satisfied."},
        {e::rate_limit_exceeded, "rateLimitExceeded", throttled,
         "The request rate limit was exceeded."},
        {e::internal_error, "internalError", server_error,
         "Cloud Storage encountered an internal error."},
        {e::backend_error, "backendError", server_error, "The Cloud Storage backend failed."},
        {e::gateway_timeout, "gatewayTimeout", server_error, "A Cloud Storage gateway timed out."},
    };
    static_assert(error_table_in_order(table));
    return table;
}

template <class Enum>
constexpr Enum entry_from_string(std::span<const error_entry<Enum>> table, std::string_view wire,
                                 Enum unknown) noexcept {
    if (wire.empty()) return unknown;
    for (const auto& entry : table)
        if (entry.wire == wire) return entry.code;
    return unknown;
}

template <class Enum>
constexpr std::string_view entry_wire(std::span<const error_entry<Enum>> table, Enum e) noexcept {
    const auto* entry = find_entry(table, static_cast<int>(e));
    return entry ? entry->wire : std::string_view{};
}

// ---- HTTP statuses ---------------------------------------------------------------------------

constexpr std::string_view http_reason(int status) noexcept {
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 300:
        return "Multiple Choices";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 402:
        return "Payment Required";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 407:
        return "Proxy Authentication Required";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Range Not Satisfiable";
    case 417:
        return "Expectation Failed";
    case 421:
        return "Misdirected Request";
    case 422:
        return "Unprocessable Content";
    case 425:
        return "Too Early";
    case 426:
        return "Upgrade Required";
    case 428:
        return "Precondition Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 451:
        return "Unavailable For Legal Reasons";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    case 507:
        return "Insufficient Storage";
    case 508:
        return "Loop Detected";
    case 511:
        return "Network Authentication Required";
    default:
        return {};
    }
}

constexpr condition http_condition(int status) noexcept {
    using enum condition;
    switch (status) {
    case 304:
        return not_modified;
    case 400:
        return invalid_argument;
    case 401:
        return unauthenticated;
    case 403:
        return permission_denied;
    case 404:
    case 410:
        return not_found;
    case 405:
    case 501:
        return not_supported;
    case 408:
        return timeout;
    case 409:
        return conflict;
    case 412:
        return precondition_failed;
    case 413:
        return too_large;
    case 416:
        return range_not_satisfiable;
    case 429:
        return throttled;
    default:
        return status >= 500 && status <= 599 ? server_error : no_condition;
    }
}

// ---- foreign codes ---------------------------------------------------------------------------

constexpr condition errno_condition(int ev) noexcept {
    using enum condition;
    switch (ev) {
    case ECANCELED:
        return cancelled;
    case ETIMEDOUT:
        return timeout;
    case ECONNRESET:
    case ECONNREFUSED:
    case ECONNABORTED:
    case EPIPE:
    case ENETUNREACH:
    case EHOSTUNREACH:
    case ENOTCONN:
    case ENETDOWN:
#ifdef EHOSTDOWN
    case EHOSTDOWN:
#endif
    case EADDRNOTAVAIL:
        return network_error;
    case ENOENT:
        return not_found;
    case EEXIST:
        return already_exists;
    case EACCES:
    case EPERM:
        return permission_denied;
    case EINVAL:
        return invalid_argument;
    case ENOSPC:
#ifdef EDQUOT
    case EDQUOT:
#endif
        return quota_exceeded;
    case EFBIG:
        return too_large;
    case ENOTSUP:
#if defined(EOPNOTSUPP) && EOPNOTSUPP != ENOTSUP
    case EOPNOTSUPP:
#endif
    case ENOSYS:
        return not_supported;
    default:
        return no_condition;
    }
}

// Asio's and Beast's categories, by their documented names (see `condition`).
inline condition named_category_condition(std::string_view name, int ev) noexcept {
    using enum condition;
    if (name == "asio.misc") return ev == 2 ? network_error : no_condition; // eof
    if (name == "asio.netdb") return network_error;
    if (name == "asio.ssl") return tls_error;
    if (name == "asio.ssl.stream") return ev == 1 ? network_error : tls_error; // stream_truncated
    if (name == "boost.beast") return ev == 1 ? timeout : no_condition;        // error::timeout
    if (name == "beast.http") // end_of_stream, partial_message
        return ev == 1 || ev == 2 ? network_error : no_condition;
    return no_condition;
}

// ---- categories ------------------------------------------------------------------------------

class condition_category_impl final : public boost::system::error_category {
public:
    constexpr condition_category_impl() noexcept
        : boost::system::error_category(0x2d4637adc98df085ULL) {}

    using boost::system::error_category::equivalent;
    using boost::system::error_category::message;

    const char* name() const noexcept override { return "cloudstore.condition"; }

    std::string message(int ev) const override {
        const auto* entry = find_entry(condition_entries(), ev);
        return entry ? entry->message : "Unrecognized cloudstore condition.";
    }

    bool equivalent(const error_code& code, int cond) const noexcept override {
        if (!code) return false;
        if (code.category() == *this) return code.value() == cond;
        const error_condition dc = code.default_error_condition();
        if (dc.category() == boost::system::generic_category())
            return static_cast<int>(errno_condition(dc.value())) == cond;
        return static_cast<int>(named_category_condition(code.category().name(), code.value())) ==
               cond;
    }
};

// The category of an enum whose values are described by a table.
template <class Enum>
class table_category final : public boost::system::error_category {
public:
    using table_fn = std::span<const error_entry<Enum>> (*)() noexcept;

    constexpr table_category(unsigned long long id, const char* name, table_fn table,
                             const char* unrecognized) noexcept
        : boost::system::error_category(id)
        , name_(name)
        , table_(table)
        , unrecognized_(unrecognized) {}

    using boost::system::error_category::message;

    const char* name() const noexcept override { return name_; }

    std::string message(int ev) const override {
        const auto* entry = find_entry(table_(), ev);
        return entry ? entry->message : unrecognized_;
    }

    error_condition default_error_condition(int ev) const noexcept override {
        const auto* entry = find_entry(table_(), ev);
        if (!entry || entry->cond == no_condition) return error_condition(ev, *this);
        return make_error_condition(entry->cond);
    }

private:
    const char* name_;
    table_fn table_;
    const char* unrecognized_;
};

class http_status_category_impl final : public boost::system::error_category {
public:
    constexpr http_status_category_impl() noexcept
        : boost::system::error_category(0x9df4872f86ecc613ULL) {}

    using boost::system::error_category::message;

    const char* name() const noexcept override { return "cloudstore.http"; }

    std::string message(int ev) const override {
        std::string text = "HTTP " + std::to_string(ev);
        if (const auto reason = http_reason(ev); !reason.empty()) {
            text += ' ';
            text += reason;
        }
        return text;
    }

    error_condition default_error_condition(int ev) const noexcept override {
        const condition c = http_condition(ev);
        if (c == no_condition) return error_condition(ev, *this);
        return make_error_condition(c);
    }
};

// ---- redaction -------------------------------------------------------------------------------

constexpr bool is_alpha(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
constexpr bool is_alnum(char c) noexcept {
    return is_alpha(c) || (c >= '0' && c <= '9');
}
constexpr bool is_word(char c) noexcept {
    return is_alnum(c) || c == '_';
}
constexpr bool is_name(char c) noexcept {
    return is_word(c) || c == '-';
}
constexpr bool is_base64url(char c) noexcept {
    return is_alnum(c) || c == '-' || c == '_';
}
constexpr bool is_blank(char c) noexcept {
    return c == ' ' || c == '\t';
}
constexpr char to_lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c;
}

constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (to_lower(a[i]) != to_lower(b[i])) return false;
    return true;
}

// Where an unquoted secret value ends.
constexpr bool ends_value(char c) noexcept {
    switch (c) {
    case ' ':
    case '\t':
    case '\r':
    case '\n':
    case '&':
    case ',':
    case ';':
    case '"':
    case '\'':
    case '<':
    case '>':
    case '(':
    case ')':
    case '[':
    case ']':
    case '{':
    case '}':
    case '|':
    case '\\':
        return true;
    default:
        return static_cast<unsigned char>(c) < 0x20;
    }
}

// Where an unquoted header value (Authorization) ends: the end of the line, or of the string
// that holds it.
constexpr bool ends_line(char c) noexcept {
    return c == '\r' || c == '\n' || c == '"' || c == '\\';
}

constexpr bool is_hex(char c) noexcept {
    return (c >= '0' && c <= '9') || (to_lower(c) >= 'a' && to_lower(c) <= 'f');
}

// The length of the character with hex code `hi` `lo` written percent-encoded at `k`: 3 for
// "%3D" or "%3d", 5 for "%253D" (encoded twice: a URL in a URL in a URL), 0 when it is not
// there. `lo` is given in uppercase.
constexpr std::size_t encoded_at(std::string_view text, std::size_t k, char hi, char lo) noexcept {
    const auto code_at = [&](std::size_t d) {
        return d + 1 < text.size() && text[d] == hi && to_lower(text[d + 1]) == to_lower(lo);
    };
    if (k >= text.size() || text[k] != '%') return 0;
    if (code_at(k + 1)) return 3;
    if (text.substr(k + 1, 2) == "25" && code_at(k + 3)) return 5;
    return 0;
}

// Whether the character with hex code `hi` `lo` ends just before `i`, as `c` itself or
// percent-encoded (once or twice).
constexpr bool after_char(std::string_view text, std::size_t i, char c, char hi, char lo) noexcept {
    if (i >= 1 && text[i - 1] == c) return true;
    if (i < 3 || text[i - 2] != hi || to_lower(text[i - 1]) != to_lower(lo)) return false;
    return text[i - 3] == '%' || (i >= 5 && text.substr(i - 5, 3) == "%25");
}

// Whether a percent-escape ("%3F", or "%253F") ends just before `i`: a name may start there
// although the character before it (the 'F') is a letter.
constexpr bool after_escape(std::string_view text, std::size_t i) noexcept {
    if (i < 3 || !is_hex(text[i - 2]) || !is_hex(text[i - 1])) return false;
    return text[i - 3] == '%' || (i >= 5 && text.substr(i - 5, 3) == "%25");
}

// Names are compared normalised: lowercase, without '-' and '_', so that one entry stands
// for access_token, accessToken, AccessToken and access-token. `normal` is written so.
constexpr bool name_is(std::string_view name, std::string_view normal) noexcept {
    std::size_t k = 0;
    for (const char c : name) {
        if (c == '-' || c == '_') continue;
        if (k == normal.size() || to_lower(c) != normal[k]) return false;
        ++k;
    }
    return k == normal.size();
}

constexpr bool name_ends_with(std::string_view name, std::string_view normal) noexcept {
    std::size_t k = normal.size();
    for (std::size_t i = name.size(); i > 0 && k > 0; --i) {
        const char c = name[i - 1];
        if (c == '-' || c == '_') continue;
        if (to_lower(c) != normal[--k]) return false;
    }
    return k == 0;
}

// value: the value after the name (name=, name:, JSON, XML) is secret. line: the whole header
// line is. query: only as a query parameter (?name= or &name=), the value is.
enum class secret_name { none, value, line, query };

constexpr secret_name classify_name(std::string_view name) noexcept {
    // Normalised (see name_is).
    constexpr std::string_view value_names[] = {
        "xamzsignature",
        "xgoogsignature",
        "signature",
        "sig",
        "signatureprovided",
        "accesstoken",
        "refreshtoken",
        "idtoken",
        "token",
        "privatekey",
        "assertion",
        "clientassertion",
        // SignatureDoesNotMatch replies: the canonical request holds the x-amz-security-token
        // line, and the hex forms hold every byte of it; the plain StringToSign holds no secret
        // and is kept.
        "canonicalrequest",
        "canonicalrequestbytes",
        "stringtosignbytes",
    };
    // Any name ending so (normalised): secret (GCS HMAC key resource, client_secret),
    // secret_key (RGW admin, AWSSecretKey), [aws_]secret_access_key, [db_]password,
    // [aws_]session_token, x-amz-security-token; x-amz-server-side-encryption-customer-key, its
    // copy-source form and SSECustomerKey; x-goog-encryption-key and its copy-source form;
    // x-goog-api-key. Their -MD5 / -sha256 companions end otherwise and are kept.
    constexpr std::string_view value_suffixes[] = {
        "secret",        "secretkey",   "secretaccesskey", "password", "sessiontoken",
        "securitytoken", "customerkey", "encryptionkey",   "apikey",
    };
    for (const auto candidate : value_names)
        if (name_is(name, candidate)) return secret_name::value;
    for (const auto suffix : value_suffixes)
        if (name_ends_with(name, suffix)) return secret_name::value;
    if (name_is(name, "authorization") || name_is(name, "proxyauthorization"))
        return secret_name::line;
    // A Google API key. Only in a query: <Key> and "key" elsewhere name objects.
    if (name_is(name, "key")) return secret_name::query;
    return secret_name::none;
}

inline constexpr std::string_view redacted = "[redacted]";

// A PEM block starting at `i` ("-----BEGIN"): keeps both marker lines, redacts what is between
// (to the end of the text without an END marker). Returns where scanning resumes.
inline std::size_t redact_pem(std::string_view text, std::size_t i, std::string& out) {
    // A marker is "-----BEGIN <label>-----"; the label is short and on one line.
    const auto marker_end = [&](std::size_t from) -> std::size_t {
        const auto close = text.find("-----", from);
        if (close == std::string_view::npos || close - from > 64) return std::string_view::npos;
        for (std::size_t k = from; k < close; ++k)
            if (text[k] == '\n' || text[k] == '\r') return std::string_view::npos;
        return close + 5;
    };
    std::size_t body = i + 10; // past "-----BEGIN"
    if (const auto end = marker_end(body); end != std::string_view::npos) body = end;
    out.append(text.substr(i, body - i));
    out.append(redacted);
    const auto footer = text.find("-----END", body);
    if (footer == std::string_view::npos) return text.size();
    auto resume = marker_end(footer + 8);
    if (resume == std::string_view::npos) resume = footer + 8;
    out.append(text.substr(footer, resume - footer));
    return resume;
}

// Whether the name starting at `name_begin` is an element's: "<Name" or "<prefix:Name".
constexpr bool opens_element(std::string_view text, std::size_t name_begin) noexcept {
    if (name_begin == 0) return false;
    std::size_t k = name_begin - 1;
    if (text[k] == '<') return true;
    if (text[k] != ':') return false;
    while (k > 0 && is_name(text[k - 1])) // the namespace prefix
        --k;
    return k > 0 && k < name_begin - 1 && text[k - 1] == '<';
}

// Where an unquoted value ends: at one of ends_value, or, in a query nested in a URL's query
// (`nested` 1: its '=' was "%3D"; 2: "%253D"), at the '&' of that level ("%26"; "%26" or
// "%2526"). A "%26" in a plain value is part of the value.
constexpr std::size_t unquoted_end(std::string_view text, std::size_t k,
                                   std::size_t nested) noexcept {
    for (; k < text.size() && !ends_value(text[k]); ++k) {
        const auto amp = encoded_at(text, k, '2', '6');
        if ((amp == 3 && nested >= 1) || (amp == 5 && nested >= 2)) break;
    }
    return k;
}

// A secret value after a name that ends at `j`; `name_begin` is where the name starts.
// Appends the name, the separator and "[redacted]" and returns where scanning resumes, or
// returns npos when no value follows (the caller then keeps the name as it is).
inline std::size_t redact_value(std::string_view text, std::size_t name_begin, std::size_t j,
                                secret_name kind, std::string& out) {
    constexpr auto npos = std::string_view::npos;
    const std::size_t n = text.size();
    const auto emit = [&](std::size_t value_begin, std::size_t value_end) {
        if (value_end == value_begin) return npos;
        out.append(text.substr(name_begin, value_begin - name_begin));
        out.append(redacted);
        return value_end;
    };
    // A percent-encoded '=' (a query nested in a URL's query) stands for '='.
    const auto encoded_equals = [&](std::size_t k) { return encoded_at(text, k, '3', 'D'); };

    // A query parameter: ?name=value or &name=value, the separators plain or percent-encoded
    // (or '&' escaped for XML: &amp;name=value).
    if (kind == secret_name::query) {
        if (!after_char(text, name_begin, '?', '3', 'F') &&
            !after_char(text, name_begin, '&', '2', '6') &&
            !(name_begin >= 5 && text.substr(name_begin - 5, 5) == "&amp;"))
            return npos;
        if (j < n && text[j] == '=') return emit(j + 1, unquoted_end(text, j + 1, 0));
        if (const auto len = encoded_equals(j); len != 0)
            return emit(j + len, unquoted_end(text, j + len, len / 2));
        return npos;
    }

    // XML element: <Name>value</Name>, also with a namespace prefix (<ns:Name>).
    if (j < n && text[j] == '>' && opens_element(text, name_begin)) {
        const auto close = text.find('<', j + 1);
        return emit(j + 1, close == npos ? n : close);
    }

    // The closing quote of a quoted name ("name", 'name', \"name\"), then `=` or `:`.
    std::size_t k = j;
    if (k < n && text[k] == '\\') ++k;
    if (k < n && (text[k] == '"' || text[k] == '\'')) ++k;
    while (k < n && is_blank(text[k]))
        ++k;
    std::size_t nested = 0; // 1 after "%3D", 2 after "%253D"
    if (k < n && (text[k] == '=' || text[k] == ':')) {
        ++k;
    } else if (const auto len = encoded_equals(k); len != 0) {
        k += len;
        nested = len / 2;
    } else {
        return npos;
    }
    while (k < n && is_blank(text[k]))
        ++k;
    if (k >= n) return npos;

    if (text[k] == '\\' && k + 1 < n && text[k + 1] == '"') { // \"value\" (JSON in a string)
        const auto close = text.find("\\\"", k + 2);
        return emit(k + 2, close == npos ? n : close);
    }
    if (text[k] == '"' || text[k] == '\'') {
        const char quote = text[k];
        std::size_t e = k + 1;
        while (e < n && text[e] != quote)
            e += text[e] == '\\' && e + 1 < n ? 2 : 1;
        return emit(k + 1, e < n ? e : n);
    }
    std::size_t e = k;
    if (kind == secret_name::line)
        while (e < n && !ends_line(text[e]))
            ++e;
    else
        e = unquoted_end(text, k, nested);
    while (e > k && is_blank(text[e - 1])) // a header value's trailing blanks are not secret
        --e;
    return emit(k, e);
}

// Where a URL's authority ends: at the path, query or fragment, or where the text around the
// URL resumes. Userinfo may hold the sub-delimiters (! $ & ' ( ) * + , ; =), which end no
// authority here.
constexpr bool ends_authority(char c) noexcept {
    switch (c) {
    case '/':
    case '?':
    case '#':
    case '"':
    case '<':
    case '>':
    case '\\':
    case '{':
    case '}':
    case '|':
    case '^':
    case '`':
        return true;
    default:
        return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f;
    }
}

// The password of a URL's userinfo (scheme://user:password@host), the scheme spanning
// [scheme_begin, j) and "://" following it. Appends the scheme, the user name (redacted as any
// text is: it may itself be a token), ':' and "[redacted]", and returns the position of the
// '@'; returns npos when the authority holds no password (the caller then goes on as usual).
inline std::size_t redact_userinfo(std::string_view text, std::size_t scheme_begin, std::size_t j,
                                   std::string& out) {
    constexpr auto npos = std::string_view::npos;
    const std::size_t begin = j + 3;
    std::size_t end = begin;
    while (end < text.size() && !ends_authority(text[end]))
        ++end;
    const auto authority = text.substr(begin, end - begin);
    const auto at = authority.rfind('@'); // the last '@', as URL parsers take it
    if (at == npos) return npos;
    const auto colon = authority.substr(0, at).find(':');
    if (colon == npos || colon + 1 == at) return npos;
    out.append(text.substr(scheme_begin, begin - scheme_begin));
    out.append(redact_secrets(authority.substr(0, colon))); // holds no "://": no recursion
    out += ':';
    out.append(redacted);
    return begin + at;
}

} // namespace detail::error_impl

// ---- conditions ------------------------------------------------------------------------------

CLOUDSTORE_DECL const boost::system::error_category& condition_category() noexcept {
    static const detail::error_impl::condition_category_impl category;
    return category;
}

CLOUDSTORE_DECL error_condition make_error_condition(condition c) noexcept {
    return error_condition(static_cast<int>(c), condition_category());
}

CLOUDSTORE_DECL std::optional<condition> condition_of(const error_code& ec) noexcept {
    if (!ec) return std::nullopt;
    for (const auto& entry : detail::error_impl::condition_entries())
        if (ec == entry.code) return entry.code;
    return std::nullopt;
}

// ---- errc ------------------------------------------------------------------------------------

CLOUDSTORE_DECL const boost::system::error_category& errc_category() noexcept {
    static const detail::error_impl::table_category<errc> category(
        0x9547224c78d1da47ULL, "cloudstore", &detail::error_impl::errc_entries,
        "Unrecognized cloudstore error.");
    return category;
}

CLOUDSTORE_DECL error_code make_error_code(errc e) noexcept {
    return error_code(static_cast<int>(e), errc_category());
}

// ---- S3 --------------------------------------------------------------------------------------

CLOUDSTORE_DECL const boost::system::error_category& s3_category() noexcept {
    static const detail::error_impl::table_category<s3_errc> category(
        0x8d9988d35e547e37ULL, "cloudstore.s3", &detail::error_impl::s3_entries,
        "Unrecognized cloudstore.s3 error value.");
    return category;
}

CLOUDSTORE_DECL error_code make_error_code(s3_errc e) noexcept {
    return error_code(static_cast<int>(e), s3_category());
}

CLOUDSTORE_DECL s3_errc s3_errc_from_string(std::string_view code) noexcept {
    return detail::error_impl::entry_from_string(detail::error_impl::s3_entries(), code,
                                                 s3_errc::unknown);
}

CLOUDSTORE_DECL std::string_view to_string(s3_errc e) noexcept {
    return detail::error_impl::entry_wire(detail::error_impl::s3_entries(), e);
}

CLOUDSTORE_DECL error_code make_s3_error(std::string_view code, int http_status) noexcept {
    const s3_errc e = s3_errc_from_string(code);
    if (e != s3_errc::unknown) return e;
    if (http_status >= 300 && http_status <= 599) return make_http_status_error(http_status);
    return s3_errc::unknown;
}

// ---- GCS -------------------------------------------------------------------------------------

CLOUDSTORE_DECL const boost::system::error_category& gcs_category() noexcept {
    static const detail::error_impl::table_category<gcs_errc> category(
        0xee278b7968675644ULL, "cloudstore.gcs", &detail::error_impl::gcs_entries,
        "Unrecognized cloudstore.gcs error value.");
    return category;
}

CLOUDSTORE_DECL error_code make_error_code(gcs_errc e) noexcept {
    return error_code(static_cast<int>(e), gcs_category());
}

CLOUDSTORE_DECL gcs_errc gcs_errc_from_string(std::string_view reason) noexcept {
    return detail::error_impl::entry_from_string(detail::error_impl::gcs_entries(), reason,
                                                 gcs_errc::unknown);
}

CLOUDSTORE_DECL std::string_view to_string(gcs_errc e) noexcept {
    return detail::error_impl::entry_wire(detail::error_impl::gcs_entries(), e);
}

CLOUDSTORE_DECL error_code make_gcs_error(std::string_view reason, int http_status) noexcept {
    const gcs_errc e = gcs_errc_from_string(reason);
    if (e == gcs_errc::required && http_status == 401) return make_http_status_error(401);
    if (e != gcs_errc::unknown) return e;
    if (http_status >= 300 && http_status <= 599) return make_http_status_error(http_status);
    return gcs_errc::unknown;
}

// ---- HTTP ------------------------------------------------------------------------------------

CLOUDSTORE_DECL const boost::system::error_category& http_status_category() noexcept {
    static const detail::error_impl::http_status_category_impl category;
    return category;
}

CLOUDSTORE_DECL error_code make_http_status_error(int status) noexcept {
    return error_code(status, http_status_category());
}

// ---- secrets ---------------------------------------------------------------------------------

CLOUDSTORE_DECL std::string redact_secrets(std::string_view text) {
    using namespace detail::error_impl;
    constexpr auto npos = std::string_view::npos;
    std::string out;
    out.reserve(text.size());
    const std::size_t n = text.size();
    std::size_t i = 0;
    while (i < n) {
        const char c = text[i];
        if (c == '-' && text.substr(i, 10) == "-----BEGIN") {
            i = redact_pem(text, i, out);
            continue;
        }
        // Names start at a word boundary, also just after a percent-escape (a query nested
        // in a URL: "%26X-Amz-Signature%3D...").
        if (!is_alpha(c) || (i > 0 && is_word(text[i - 1]) && !after_escape(text, i))) {
            out += c;
            ++i;
            continue;
        }
        // A JSON Web Token: three base64url parts, the first an encoded JSON object ("eyJ").
        if (text.substr(i, 3) == "eyJ") {
            std::size_t j = i;
            int dots = 0;
            while (j < n && (is_base64url(text[j]) || text[j] == '.'))
                dots += text[j++] == '.';
            if (dots >= 2 && j - i >= 16 && text[j - 1] != '.') {
                out.append(redacted);
                i = j;
                continue;
            }
        }
        std::size_t j = i;
        while (j < n && is_name(text[j]))
            ++j;
        const std::string_view name = text.substr(i, j - i);
        if (text.substr(j, 3) == "://") {
            if (const auto resume = redact_userinfo(text, i, j, out); resume != npos) {
                i = resume;
                continue;
            }
        }
        if (iequals(name, "bearer") && j < n && is_blank(text[j])) {
            std::size_t k = j;
            while (k < n && is_blank(text[k]))
                ++k;
            std::size_t e = k;
            while (e < n && !ends_value(text[e]))
                ++e;
            if (e > k) {
                out.append(text.substr(i, k - i));
                out.append(redacted);
                i = e;
                continue;
            }
        }
        if (const auto kind = classify_name(name); kind != secret_name::none) {
            if (const auto resume = redact_value(text, i, j, kind, out); resume != npos) {
                i = resume;
                continue;
            }
        }
        out.append(name);
        i = j;
    }
    return out;
}

// ---- the failure payload ---------------------------------------------------------------------

CLOUDSTORE_DECL std::string storage_failure::describe() const {
    std::string out = code.message();
    out += " [";
    out += code.category().name();
    out += ':';
    out += std::to_string(code.value());
    out += ']';
    // Provider text on one line: control characters become spaces, outer blanks go.
    const auto append_line = [&out](std::string_view text) {
        while (!text.empty() && static_cast<unsigned char>(text.front()) <= ' ')
            text.remove_prefix(1);
        while (!text.empty() && static_cast<unsigned char>(text.back()) <= ' ')
            text.remove_suffix(1);
        for (const char c : text)
            out += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c;
    };
    if (!provider_code.empty() || !message.empty()) {
        out += "; ";
        append_line(redact_secrets(provider_code));
        if (!provider_code.empty() && !message.empty()) out += ": ";
        append_line(redact_secrets(message));
    }
    if (http_status != 0) {
        out += "; HTTP ";
        out += std::to_string(http_status);
    }
    if (!request_id.empty()) {
        out += "; request id ";
        append_line(redact_secrets(request_id));
    }
    return out;
}

// ---- exceptions ------------------------------------------------------------------------------

struct storage_error::state {
    storage_failure failure;
    std::string what;
};

CLOUDSTORE_DECL storage_error::storage_error(storage_failure failure)
    : boost::system::system_error(failure.code) {
    auto s = std::make_shared<state>();
    s->what = failure.describe();
    s->failure = std::move(failure);
    state_ = std::move(s);
}

CLOUDSTORE_DECL storage_error::storage_error(error_code ec)
    : storage_error(storage_failure{ec, 0, {}, {}, {}}) {}

CLOUDSTORE_DECL const storage_failure& storage_error::failure() const noexcept {
    return state_->failure;
}

CLOUDSTORE_DECL const char* storage_error::what() const noexcept {
    return state_->what.c_str();
}

namespace detail::error_impl {

template <class Exception>
[[noreturn]] void throw_as(const storage_failure& failure) {
    boost::throw_exception(Exception(failure));
}

using thrower = void (*)(const storage_failure&);

// Entry 0 throws storage_error (no condition), entry c throws condition_error<c>: one entry
// per value up to last_condition, generated, so none can be missed.
template <std::size_t... I>
constexpr std::array<thrower, sizeof...(I) + 1> make_throwers(std::index_sequence<I...>) noexcept {
    return {&throw_as<storage_error>, &throw_as<condition_error<static_cast<condition>(I + 1)>>...};
}

inline constexpr auto throwers =
    make_throwers(std::make_index_sequence<static_cast<std::size_t>(last_condition)>{});
static_assert(throwers.size() == static_cast<std::size_t>(last_condition) + 1);

} // namespace detail::error_impl

[[noreturn]] CLOUDSTORE_DECL void throw_storage_error(const storage_failure& failure) {
    using namespace detail::error_impl;
    const auto c = condition_of(failure.code);
    const auto index = c ? static_cast<std::size_t>(*c) : 0;
    throwers[index < throwers.size() ? index : 0](failure);
    throw_as<storage_error>(failure); // not reached: every entry throws
}

[[noreturn]] CLOUDSTORE_DECL void throw_storage_error(error_code ec) {
    throw_storage_error(storage_failure{ec, 0, {}, {}, {}});
}

} // namespace cloudstore
