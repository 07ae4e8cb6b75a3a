// Errors: the error_code every operation reports, each provider's own codes, the portable
// conditions those codes compare equal to, the failure payload that travels beside a code, and
// the exceptions the throwing overloads raise.
//
// How the pieces fit (DESIGN.md "Errors"):
//
//   - An operation reports a `cloudstore::error_code` (`boost::system::error_code`, the type every
//     Asio completion carries). Its category says who produced it: `s3_errc` (the S3 <Code>),
//     `gcs_errc` (the GCS JSON "reason"), the HTTP status when the reply named no known code,
//     `errc` (cloudstore itself), or a transport / filesystem category (Asio, Beast, errno).
//   - Code that reacts to a failure compares with a portable `condition`:
//         if (ec == cloudstore::condition::not_found) ...
//     which holds for S3's NoSuchKey, GCS's notFound, HTTP 404, a missing file (ENOENT) and
//     `errc::not_found` alike. `condition_of(ec)` gives the one condition a code belongs to.
//   - The provider's own code, message, request id and HTTP status ride beside the code in a
//     `storage_failure`. Its `describe()` is the one-line text for logs; secrets are redacted.
//   - The throwing overloads raise a `storage_error` subclass chosen by condition
//     (`condition_error<condition::not_found>`, named `not_found_error`; `throttled_error`,
//     ...), carrying the code and the failure.
//
// Every category has a fixed 64-bit id, so codes compare equal even when a header-only category
// exists once per shared library. Values of every enum here are stable (they appear in logs as
// "cloudstore.s3:57"): new enumerators are only ever appended.
//
// This header includes neither Asio nor Beast and compiles with -fno-exceptions; only
// `throw_storage_error` throws (through `boost::throw_exception`), and builds without exceptions
// never call it.
//
// A classic include guard rather than #pragma once: impl/error.ipp includes this header back,
// and the guard also holds when this file is the main file (a syntax check of the header).
#ifndef CLOUDSTORE_ERROR_HPP
#define CLOUDSTORE_ERROR_HPP

#include <cloudstore/detail/config.hpp>

#include <boost/system/error_category.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/error_condition.hpp>
#include <boost/system/system_error.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace cloudstore {

/// The error type of every cloudstore operation: what every Asio completion carries.
using error_code = boost::system::error_code;

/// A portable condition; build one with `make_error_condition(condition::...)`, or compare a
/// code directly with a `condition` value.
using error_condition = boost::system::error_condition;

// ---------------------------------------------------------------------------------------------
// Portable conditions
// ---------------------------------------------------------------------------------------------

/// What went wrong, independent of the store: every provider code, HTTP status, cloudstore
/// `errc` and the common transport and filesystem errors compare equal to one of these
/// (`ec == condition::not_found`). Category "cloudstore.condition".
///
/// Besides cloudstore's own categories, these foreign codes compare equal:
///   - generic and system (errno) codes, so transport and filesystem errors match:
///     ECANCELED: cancelled; ETIMEDOUT: timeout; ECONNRESET, ECONNREFUSED, ECONNABORTED, EPIPE,
///     ENETUNREACH, EHOSTUNREACH, ENOTCONN, ENETDOWN, EHOSTDOWN, EADDRNOTAVAIL: network_error;
///     ENOENT: not_found; EEXIST: already_exists; EACCES, EPERM: permission_denied;
///     EINVAL: invalid_argument; ENOSPC, EDQUOT: quota_exceeded; EFBIG: too_large;
///     ENOTSUP, EOPNOTSUPP, ENOSYS: not_supported. Asio's basic errors are such codes
///     (`asio::error::operation_aborted` is ECANCELED, `timed_out` is ETIMEDOUT, ...). A
///     `std::error_code` converted to `error_code` matches too when its category is
///     `std::generic_category()` (libstdc++'s std::filesystem errors); Boost.System's interop
///     does not forward `std::system_category()` codes, so convert those with
///     `error_code(ec.value(), boost::system::system_category())`.
///   - Asio's and Beast's own categories, recognised by their documented names (this header
///     includes neither library): "asio.misc" eof and every "asio.netdb" (DNS) error:
///     network_error; "asio.ssl" (certificate refused, handshake failure): tls_error;
///     "asio.ssl.stream" stream_truncated: network_error, its other values: tls_error;
///     "boost.beast" timeout: timeout; "beast.http" end_of_stream and partial_message (the
///     server closed the connection before or during its reply): network_error.
enum class condition {
    not_found = 1,         ///< The object, bucket, upload or file does not exist (404).
    already_exists,        ///< A create-only write found the object or bucket already there.
    not_modified,          ///< An If-None-Match / If-Modified-Since read: unchanged (304).
    precondition_failed,   ///< An If-Match / generation / create-only condition failed (412).
    range_not_satisfiable, ///< The requested byte range lies outside the object (416).
    unauthenticated,       ///< Missing, expired or invalid credentials or token (401).
    permission_denied,     ///< Credentials are valid but the request is refused (403).
    quota_exceeded,        ///< A storage or account quota is exhausted (not a rate limit).
    conflict,              ///< A concurrent operation or the resource's state conflicts (409).
    throttled,             ///< Slow down: rate limited (429, S3 SlowDown / 503).
    server_error,          ///< The service failed (5xx) or replied with something unparseable.
    network_error,         ///< The connection failed, was refused, reset or closed early.
    tls_error,             ///< TLS failed: certificate refused, handshake error.
    timeout,               ///< A deadline or timeout expired.
    cancelled,             ///< The operation was cancelled.
    not_supported,         ///< The store or this build does not support the operation.
    invalid_argument,      ///< The request was malformed or an argument is invalid (400).
    invalid_configuration, ///< The configuration is unusable: endpoint, region, key file, ...
    checksum_mismatch,     ///< Data does not match its checksum or digest.
    too_large,             ///< The object, part or request exceeds a size limit.
    // Appending one: give it a row in condition_entries() and make it last_condition in
    // impl/error.ipp (static_asserts hold the exception table to it), and name its
    // condition_error below.
};

/// The "cloudstore.condition" category. Its `equivalent` recognises the foreign codes listed
/// at `condition`. Thread-safe; the object lives for the program's lifetime.
CLOUDSTORE_DECL const boost::system::error_category& condition_category() noexcept;

/// `c` as an error_condition of `condition_category()`.
CLOUDSTORE_DECL error_condition make_error_condition(condition c) noexcept;

/// The one portable condition `ec` compares equal to, or nullopt (success, or a code with no
/// portable meaning such as `s3_errc::unknown` or HTTP 302). A code never equals two conditions.
CLOUDSTORE_DECL std::optional<condition> condition_of(const error_code& ec) noexcept;

// ---------------------------------------------------------------------------------------------
// cloudstore's own errors
// ---------------------------------------------------------------------------------------------

/// Errors cloudstore itself detects, category "cloudstore". The condition each maps to is
/// given beside it.
enum class errc {
    invalid_argument = 1, ///< An argument is invalid. -> invalid_argument
    /// A key (PEM, DER, JSON key file, HMAC secret) cannot be parsed or has the wrong type.
    /// Keys come from configuration, hence -> invalid_configuration.
    invalid_key,
    invalid_encoding, ///< Malformed hex or base64 input. -> invalid_argument
    /// OpenSSL failed internally (no algorithm provider, a FIPS policy refusing an algorithm,
    /// an allocation failure). Retrying does not help and the usual cause is the OpenSSL
    /// installation or its configuration, hence -> invalid_configuration.
    crypto_failure,
    checksum_mismatch,     ///< Received data does not match its checksum. -> checksum_mismatch
    not_supported,         ///< Not supported by this store or build. -> not_supported
    invalid_configuration, ///< The configuration is unusable. -> invalid_configuration
    too_large,             ///< A size limit is exceeded. -> too_large
    timeout,               ///< A cloudstore deadline expired. -> timeout
    cancelled,             ///< The operation was cancelled. -> cancelled
    /// A server reply (XML, JSON, header) cannot be parsed. Treated like a 5xx, since the
    /// fault is on the server's side and a retry may get a well-formed reply. -> server_error
    malformed_response,
    no_credentials, ///< No credential provider found credentials. -> unauthenticated
    // The outcomes of the stores that have no provider codes (local, memory):
    not_found,             ///< -> not_found
    already_exists,        ///< -> already_exists
    precondition_failed,   ///< -> precondition_failed
    not_modified,          ///< -> not_modified
    range_not_satisfiable, ///< -> range_not_satisfiable
};

/// The "cloudstore" category. Thread-safe; lives for the program's lifetime.
CLOUDSTORE_DECL const boost::system::error_category& errc_category() noexcept;

/// `e` as an error_code of `errc_category()`.
CLOUDSTORE_DECL error_code make_error_code(errc e) noexcept;

// ---------------------------------------------------------------------------------------------
// Amazon S3 error codes
// ---------------------------------------------------------------------------------------------

/// The <Code> of an S3 error reply (the "List of error codes" of the Amazon S3 API reference),
/// category "cloudstore.s3". The wire code and the portable condition are given beside each.
///
/// Why the authorisation failures are permission_denied and not unauthenticated: S3 answers
/// them with 403, and none is cured by refreshing a token. SignatureDoesNotMatch and
/// InvalidAccessKeyId mean the key pair itself is wrong; AccountProblem and AllAccessDisabled
/// are account states; RequestTimeTooSkewed means the host clock is more than 15 minutes off,
/// and a newly signed request fails again until the clock is fixed. unauthenticated is kept for
/// the token codes (ExpiredToken, InvalidToken, TokenRefreshRequired), which fresh credentials
/// do cure.
enum class s3_errc {
    unknown = 1,                           ///< A code not in this list. -> (none)
    access_denied,                         ///< AccessDenied -> permission_denied
    access_control_list_not_supported,     ///< AccessControlListNotSupported -> not_supported
    account_problem,                       ///< AccountProblem -> permission_denied
    all_access_disabled,                   ///< AllAccessDisabled -> permission_denied
    ambiguous_grant_by_email_address,      ///< AmbiguousGrantByEmailAddress -> invalid_argument
    authorization_header_malformed,        ///< AuthorizationHeaderMalformed -> invalid_argument
    authorization_query_parameters_error,  ///< AuthorizationQueryParametersError
                                           ///< -> invalid_argument
    bad_digest,                            ///< BadDigest -> checksum_mismatch
    bucket_already_exists,                 ///< BucketAlreadyExists -> already_exists
    bucket_already_owned_by_you,           ///< BucketAlreadyOwnedByYou -> already_exists
    bucket_not_empty,                      ///< BucketNotEmpty -> conflict
    conditional_request_conflict,          ///< ConditionalRequestConflict -> conflict
    credentials_not_supported,             ///< CredentialsNotSupported -> not_supported
    cross_location_logging_prohibited,     ///< CrossLocationLoggingProhibited -> permission_denied
    entity_too_large,                      ///< EntityTooLarge -> too_large
    entity_too_small,                      ///< EntityTooSmall (a part under 5 MiB)
                                           ///< -> invalid_argument
    expired_token,                         ///< ExpiredToken -> unauthenticated
    illegal_location_constraint_exception, ///< IllegalLocationConstraintException
                                           ///< -> invalid_argument
    illegal_versioning_configuration_exception, ///< IllegalVersioningConfigurationException
                                                ///< -> invalid_argument
    incomplete_body,                            ///< IncompleteBody -> invalid_argument
    incorrect_number_of_files_in_post_request,  ///< IncorrectNumberOfFilesInPostRequest
                                                ///< -> invalid_argument
    inline_data_too_large,                      ///< InlineDataTooLarge -> too_large
    internal_error,                             ///< InternalError -> server_error
    invalid_access_key_id,                      ///< InvalidAccessKeyId -> permission_denied
    invalid_argument,                           ///< InvalidArgument -> invalid_argument
    invalid_bucket_name,                        ///< InvalidBucketName -> invalid_argument
    invalid_bucket_state,                       ///< InvalidBucketState -> conflict
    invalid_digest,                             ///< InvalidDigest -> checksum_mismatch
    invalid_encryption_algorithm_error,         ///< InvalidEncryptionAlgorithmError
                                                ///< -> invalid_argument
    invalid_location_constraint,                ///< InvalidLocationConstraint -> invalid_argument
    /// InvalidObjectState: the object's state forbids the operation (archived in Glacier and
    /// not restored). The object exists and the caller may access it, hence -> conflict.
    invalid_object_state,
    invalid_part,                    ///< InvalidPart -> invalid_argument
    invalid_part_order,              ///< InvalidPartOrder -> invalid_argument
    invalid_payer,                   ///< InvalidPayer -> permission_denied
    invalid_policy_document,         ///< InvalidPolicyDocument -> invalid_argument
    invalid_range,                   ///< InvalidRange -> range_not_satisfiable
    invalid_request,                 ///< InvalidRequest -> invalid_argument
    invalid_security,                ///< InvalidSecurity -> permission_denied
    invalid_storage_class,           ///< InvalidStorageClass -> invalid_argument
    invalid_token,                   ///< InvalidToken -> unauthenticated
    invalid_uri,                     ///< InvalidURI -> invalid_argument
    key_too_long_error,              ///< KeyTooLongError -> invalid_argument
    malformed_acl_error,             ///< MalformedACLError -> invalid_argument
    malformed_post_request,          ///< MalformedPOSTRequest -> invalid_argument
    malformed_xml,                   ///< MalformedXML -> invalid_argument
    max_message_length_exceeded,     ///< MaxMessageLengthExceeded -> too_large
    metadata_too_large,              ///< MetadataTooLarge -> too_large
    method_not_allowed,              ///< MethodNotAllowed -> not_supported
    missing_content_length,          ///< MissingContentLength -> invalid_argument
    missing_request_body_error,      ///< MissingRequestBodyError -> invalid_argument
    missing_security_header,         ///< MissingSecurityHeader -> invalid_argument
    no_such_bucket,                  ///< NoSuchBucket -> not_found
    no_such_bucket_policy,           ///< NoSuchBucketPolicy -> not_found
    no_such_key,                     ///< NoSuchKey -> not_found
    no_such_lifecycle_configuration, ///< NoSuchLifecycleConfiguration -> not_found
    no_such_upload,                  ///< NoSuchUpload -> not_found
    no_such_version,                 ///< NoSuchVersion -> not_found
    not_implemented,                 ///< NotImplemented -> not_supported
    not_modified,                    ///< NotModified -> not_modified
    not_signed_up,                   ///< NotSignedUp -> permission_denied
    /// ObjectNotInActiveTierError: like InvalidObjectState, -> conflict.
    object_not_in_active_tier_error,
    operation_aborted, ///< OperationAborted -> conflict
    /// PermanentRedirect: the bucket lives in another region or behind another endpoint; the
    /// configured endpoint or region is wrong. -> invalid_configuration
    permanent_redirect,
    precondition_failed,         ///< PreconditionFailed -> precondition_failed
    request_timeout,             ///< RequestTimeout (the upload stalled) -> timeout
    request_time_too_skewed,     ///< RequestTimeTooSkewed -> permission_denied (see above)
    restore_already_in_progress, ///< RestoreAlreadyInProgress -> conflict
    service_unavailable,         ///< ServiceUnavailable (reduce the request rate) -> throttled
    signature_does_not_match,    ///< SignatureDoesNotMatch -> permission_denied
    slow_down,                   ///< SlowDown -> throttled
    /// TemporaryRedirect: S3 is still propagating the bucket's DNS name; the request was not
    /// served and succeeds later, so it is classed with the retryable failures. -> server_error
    temporary_redirect,
    token_refresh_required,              ///< TokenRefreshRequired -> unauthenticated
    too_many_buckets,                    ///< TooManyBuckets -> quota_exceeded
    unexpected_content,                  ///< UnexpectedContent -> invalid_argument
    unresolvable_grant_by_email_address, ///< UnresolvableGrantByEmailAddress -> invalid_argument
    user_key_must_be_specified,          ///< UserKeyMustBeSpecified -> invalid_argument
    x_amz_content_sha256_mismatch,       ///< XAmzContentSHA256Mismatch -> checksum_mismatch
};

/// The "cloudstore.s3" category. Thread-safe; lives for the program's lifetime.
CLOUDSTORE_DECL const boost::system::error_category& s3_category() noexcept;

/// `e` as an error_code of `s3_category()`.
CLOUDSTORE_DECL error_code make_error_code(s3_errc e) noexcept;

/// The enumerator for an S3 <Code> (exact, case-sensitive match), or `s3_errc::unknown`.
CLOUDSTORE_DECL s3_errc s3_errc_from_string(std::string_view code) noexcept;

/// The wire code of `e` ("NoSuchKey"); empty for `unknown` and for values outside the enum.
/// The view refers to static storage.
CLOUDSTORE_DECL std::string_view to_string(s3_errc e) noexcept;

/// The code an S3 storage reports for an error reply: the S3 code when `code` (the <Code>,
/// possibly empty, as for HEAD replies that have no body) is known; otherwise, for a status in
/// 300..599, `make_http_status_error(http_status)`, so an unknown code still compares equal to
/// the condition of its status; otherwise `s3_errc::unknown` (an error body in a 200 reply, as
/// CompleteMultipartUpload and CopyObject can send). The wire code itself belongs in
/// `storage_failure::provider_code`.
CLOUDSTORE_DECL error_code make_s3_error(std::string_view code, int http_status) noexcept;

// ---------------------------------------------------------------------------------------------
// Google Cloud Storage error reasons
// ---------------------------------------------------------------------------------------------

/// The "reason" of a GCS JSON API error reply ("HTTP status and error codes for JSON" in the
/// Cloud Storage docs), category "cloudstore.gcs". Wire reason and condition beside each.
enum class gcs_errc {
    unknown = 1, ///< A reason not in this list. -> (none)
    // 304
    not_modified, ///< notModified -> not_modified
    // 400
    bad_request,                               ///< badRequest -> invalid_argument
    bad_request_exception,                     ///< badRequestException -> invalid_argument
    cloud_kms_bad_key,                         ///< cloudKmsBadKey -> invalid_configuration
    cloud_kms_cannot_change_key_name,          ///< cloudKmsCannotChangeKeyName -> invalid_argument
    cloud_kms_decryption_key_not_found,        ///< cloudKmsDecryptionKeyNotFound
                                               ///< -> invalid_configuration
    cloud_kms_disabled_key,                    ///< cloudKmsDisabledKey -> invalid_configuration
    cloud_kms_encryption_key_not_found,        ///< cloudKmsEncryptionKeyNotFound
                                               ///< -> invalid_configuration
    cloud_kms_key_location_not_allowed,        ///< cloudKmsKeyLocationNotAllowed
                                               ///< -> invalid_configuration
    customer_encryption_algorithm_is_invalid,  ///< customerEncryptionAlgorithmIsInvalid
                                               ///< -> invalid_argument
    customer_encryption_key_format_is_invalid, ///< customerEncryptionKeyFormatIsInvalid
                                               ///< -> invalid_argument
    customer_encryption_key_is_incorrect,      ///< customerEncryptionKeyIsIncorrect
                                               ///< -> invalid_argument
    customer_encryption_key_sha256_is_invalid, ///< customerEncryptionKeySha256IsInvalid
                                               ///< -> invalid_argument
    invalid,                                   ///< invalid -> invalid_argument
    invalid_alt_value,                         ///< invalidAltValue -> invalid_argument
    invalid_argument,                          ///< invalidArgument -> invalid_argument
    invalid_parameter,                         ///< invalidParameter -> invalid_argument
    not_download,                              ///< notDownload -> invalid_argument
    not_upload,                                ///< notUpload -> invalid_argument
    parse_error,                               ///< parseError -> invalid_argument
    /// required: a required parameter is missing -> invalid_argument. GCS also answers a
    /// request without credentials with 401 and this reason ("Login Required");
    /// `make_gcs_error` reports that case as HTTP 401 (unauthenticated).
    required,
    /// resourceIsEncryptedWithCustomerEncryptionKey -> invalid_argument
    resource_is_encrypted_with_customer_encryption_key,
    /// resourceNotEncryptedWithCustomerEncryptionKey -> invalid_argument
    resource_not_encrypted_with_customer_encryption_key,
    turned_down,               ///< turnedDown -> not_supported
    user_project_inconsistent, ///< userProjectInconsistent -> invalid_argument
    user_project_invalid,      ///< userProjectInvalid -> invalid_argument
    user_project_missing,      ///< userProjectMissing (Requester Pays) -> invalid_argument
    wrong_url_for_upload,      ///< wrongUrlForUpload -> invalid_argument
    // 401
    authentication_required_requester_pays, ///< AuthenticationRequiredRequesterPays
                                            ///< -> unauthenticated
    auth_error,                             ///< authError -> unauthenticated
    locked_domain_expired,                  ///< lockedDomainExpired -> unauthenticated
    unauthorized,                           ///< unauthorized -> unauthenticated
    // 403
    access_not_configured,        ///< accessNotConfigured (API disabled for the project)
                                  ///< -> invalid_configuration
    account_disabled,             ///< accountDisabled -> permission_denied
    country_blocked,              ///< countryBlocked -> permission_denied
    forbidden,                    ///< forbidden -> permission_denied
    insufficient_permissions,     ///< insufficientPermissions -> permission_denied
    object_under_active_hold,     ///< objectUnderActiveHold -> permission_denied
    org_policy_constraint_failed, ///< orgPolicyConstraintFailed -> permission_denied
    quota_exceeded,               ///< quotaExceeded -> quota_exceeded
    retention_policy_not_met,     ///< retentionPolicyNotMet -> permission_denied
    ssl_required,                 ///< sslRequired -> invalid_configuration
    user_project_access_denied,   ///< userProjectAccessDenied -> permission_denied
    user_project_account_problem, ///< userProjectAccountProblem -> permission_denied
    user_rate_limit_exceeded,     ///< userRateLimitExceeded -> throttled
    // 404, 405, 408, 409, 410, 412, 413, 416, 429
    not_found,                       ///< notFound -> not_found
    method_not_allowed,              ///< methodNotAllowed -> not_supported
    upload_broken_connection,        ///< uploadBrokenConnection -> network_error
    conflict,                        ///< conflict -> conflict
    gone,                            ///< gone (an expired resumable upload session) -> not_found
    condition_not_met,               ///< conditionNotMet -> precondition_failed
    upload_too_large,                ///< uploadTooLarge -> too_large
    requested_range_not_satisfiable, ///< requestedRangeNotSatisfiable -> range_not_satisfiable
    rate_limit_exceeded,             ///< rateLimitExceeded -> throttled
    // 5xx
    internal_error,  ///< internalError -> server_error
    backend_error,   ///< backendError -> server_error
    gateway_timeout, ///< gatewayTimeout -> server_error
};

/// The "cloudstore.gcs" category. Thread-safe; lives for the program's lifetime.
CLOUDSTORE_DECL const boost::system::error_category& gcs_category() noexcept;

/// `e` as an error_code of `gcs_category()`.
CLOUDSTORE_DECL error_code make_error_code(gcs_errc e) noexcept;

/// The enumerator for a GCS reason (exact, case-sensitive match), or `gcs_errc::unknown`.
CLOUDSTORE_DECL gcs_errc gcs_errc_from_string(std::string_view reason) noexcept;

/// The wire reason of `e` ("notFound"); empty for `unknown` and for values outside the enum.
/// The view refers to static storage.
CLOUDSTORE_DECL std::string_view to_string(gcs_errc e) noexcept;

/// The code a GCS storage reports for an error reply: the GCS code when `reason` (the first
/// error's "reason", possibly empty) is known; otherwise, for a status in 300..599,
/// `make_http_status_error(http_status)`; otherwise `gcs_errc::unknown`. One exception:
/// "required" with status 401 (a request without credentials) is reported as HTTP 401, since
/// the reason alone would read as a missing parameter.
CLOUDSTORE_DECL error_code make_gcs_error(std::string_view reason, int http_status) noexcept;

// ---------------------------------------------------------------------------------------------
// HTTP statuses
// ---------------------------------------------------------------------------------------------

/// The "cloudstore.http" category: the value of a code is an HTTP status, used when a reply
/// carries no provider code cloudstore knows. Its message reads "HTTP 404 Not Found". The
/// conditions: 304 not_modified, 400 invalid_argument, 401 unauthenticated, 403
/// permission_denied, 404 and 410 not_found, 405 and 501 not_supported, 408 timeout, 409
/// conflict, 412 precondition_failed, 413 too_large, 416 range_not_satisfiable, 429 throttled,
/// every other 5xx server_error; other statuses (302, 418, ...) have none.
/// Thread-safe; lives for the program's lifetime.
CLOUDSTORE_DECL const boost::system::error_category& http_status_category() noexcept;

/// A code of `http_status_category()` whose value is `status` (an HTTP status, 100..599; a 2xx
/// status yields a code that still counts as a failure, since it is non-zero).
CLOUDSTORE_DECL error_code make_http_status_error(int status) noexcept;

} // namespace cloudstore

namespace boost::system {
template <>
struct is_error_condition_enum<cloudstore::condition> {
    static constexpr bool value = true;
};
template <>
struct is_error_code_enum<cloudstore::errc> {
    static constexpr bool value = true;
};
template <>
struct is_error_code_enum<cloudstore::s3_errc> {
    static constexpr bool value = true;
};
template <>
struct is_error_code_enum<cloudstore::gcs_errc> {
    static constexpr bool value = true;
};
} // namespace boost::system

namespace cloudstore {

// ---------------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------------

/// `text` with every secret value replaced by "[redacted]"; everything else is kept, so the
/// result still reads. `storage_failure::describe()`, and so every exception's `what()`, run
/// the provider's text through it; so must anything that logs or labels a metric with text that
/// may hold a request, a URL or a credentials document.
///
/// Redacted, with names matched as whole words and normalised (case-insensitive, `-` and `_`
/// ignored: access_token, accessToken, AccessToken and access-token are one name):
///   - the value after `name=`, `name:` (spaces allowed around), `"name": "..."` (JSON, also
///     with escaped quotes), `'name': '...'` and `<name>...</name>` (XML, also with a namespace
///     prefix: `<ns:name>`) for the names X-Amz-Signature, X-Goog-Signature, Signature, sig,
///     SignatureProvided, access_token, refresh_token, id_token, token, private_key,
///     assertion, client_assertion, CanonicalRequest, CanonicalRequestBytes and
///     StringToSignBytes (S3's SignatureDoesNotMatch reply; its StringToSign holds no secret
///     and is kept), and for every name ending in secret (client_secret, GCS's HMAC "secret"),
///     secret_key, secret_access_key, password, session_token, security_token,
///     customer-key (X-Amz-[Copy-Source-]Server-Side-Encryption-Customer-Key), encryption-key
///     (X-Goog-[Copy-Source-]Encryption-Key) or api-key; an unquoted value ends at whitespace,
///     at one of & , ; " ' < > ( ) [ ] { } | and backslash;
///   - in a URL nested in another's query, `%3D` reads as `=` and `%26` as `&` (`%253D` and
///     `%2526` when encoded twice): `...%3FX-Amz-Signature%3D[redacted]%26...`; a `%26` in a
///     value whose `=` is plain is part of the value;
///   - `key` only as a query parameter (`?key=`, `&key=`: a Google API key), since `<Key>` and
///     `"key"` elsewhere name objects;
///   - the password of a URL's userinfo (`https://user:[redacted]@host/`);
///   - the whole value of an `Authorization:` or `Proxy-Authorization:` header (to the end of
///     the line, or of the quoted string);
///   - the token after `Bearer `;
///   - a JSON Web Token anywhere (three base64url parts, the first starting with "eyJ");
///   - everything between `-----BEGIN ...-----` and `-----END ...-----` (the markers are kept;
///     with no END marker, everything to the end of the text).
/// Not secret, hence kept: access key ids (X-Amz-Credential, AccessKeyId, access_key), client
/// emails, key ids, user names in URLs, bucket and object names. A straightforward single scan
/// (no regular expressions); O(size of text).
CLOUDSTORE_DECL std::string redact_secrets(std::string_view text);

// ---------------------------------------------------------------------------------------------
// The failure payload
// ---------------------------------------------------------------------------------------------

/// What a failed operation knows, travelling beside its code: in exceptions, in the
/// `error_code&` overloads' optional detail out-parameter and in async completions.
/// A plain value; the provider fields are empty when the failure did not come from a reply.
struct storage_failure {
    error_code code;           ///< The failure; compare it with a `condition`.
    int http_status = 0;       ///< The reply's HTTP status, 0 without a reply.
    std::string provider_code; ///< S3 <Code> or GCS reason, as sent ("NoSuchKey").
    std::string message;       ///< The provider's message, as sent: may hold secrets.
    std::string request_id;    ///< x-amz-request-id / x-guploader-uploadid, for support.

    /// One line for logs and exception messages, from what is present: the code's message and
    /// "[category:value]", the provider code, the provider message (through `redact_secrets`,
    /// control characters turned into spaces), "HTTP <status>", "request id <id>", separated
    /// by "; ". Example:
    ///   "The object does not exist. [cloudstore.s3:55]; NoSuchKey: The specified key does not
    ///    exist.; HTTP 404; request id 4442587FB7D0A2F9"
    CLOUDSTORE_DECL std::string describe() const;
};

// ---------------------------------------------------------------------------------------------
// Exceptions
// ---------------------------------------------------------------------------------------------

/// The base of every exception a throwing cloudstore overload raises.
///
/// It derives from `boost::system::system_error` (itself a `std::runtime_error`) so that one
/// `catch (const boost::system::system_error& e)` handles cloudstore's failures beside Asio's
/// and Beast's, and `e.code() == condition::not_found` reads the same for all of them.
/// `what()` is `failure().describe()`: one line, secrets redacted. Copies share the failure
/// (copying never throws); the object is immutable, so it may be read from any thread.
/// There is no move: moving copies, so the source stays a valid exception with the same
/// `what()` and `failure()`.
class storage_error : public boost::system::system_error {
public:
    /// Takes the failure; `failure.code` should be a failure (non-zero).
    CLOUDSTORE_DECL explicit storage_error(storage_failure failure);
    /// A failure that carries only a code.
    CLOUDSTORE_DECL explicit storage_error(error_code ec);

    // Declared so that no move constructor or move assignment is: a move would leave the
    // source without its state, and an exception must stay readable whatever is done to it.
    storage_error(const storage_error&) = default;
    storage_error& operator=(const storage_error&) = default;

    /// The failure; `code()` (inherited) is `failure().code`.
    CLOUDSTORE_DECL const storage_failure& failure() const noexcept;

    /// `failure().describe()`.
    CLOUDSTORE_DECL const char* what() const noexcept override;

private:
    struct state;
    std::shared_ptr<const state> state_;
};

/// The exception for condition `C`: `throw_storage_error` raises the `condition_error` whose
/// condition the code compares equal to, and `storage_error` itself for a code with no
/// condition. It adds nothing but its type; catch it through the aliases below.
template <condition C>
class condition_error : public storage_error {
public:
    using storage_error::storage_error;
};

// One name per condition. condition::server_error's is `service_error` (not
// "server_error_error"); network_error and tls_error keep their names.
using not_found_error = condition_error<condition::not_found>;
using already_exists_error = condition_error<condition::already_exists>;
using not_modified_error = condition_error<condition::not_modified>;
using precondition_failed_error = condition_error<condition::precondition_failed>;
using range_not_satisfiable_error = condition_error<condition::range_not_satisfiable>;
using unauthenticated_error = condition_error<condition::unauthenticated>;
using permission_denied_error = condition_error<condition::permission_denied>;
using quota_exceeded_error = condition_error<condition::quota_exceeded>;
using conflict_error = condition_error<condition::conflict>;
using throttled_error = condition_error<condition::throttled>;
using service_error = condition_error<condition::server_error>;
using network_error = condition_error<condition::network_error>;
using tls_error = condition_error<condition::tls_error>;
using timeout_error = condition_error<condition::timeout>;
using cancelled_error = condition_error<condition::cancelled>;
using not_supported_error = condition_error<condition::not_supported>;
using invalid_argument_error = condition_error<condition::invalid_argument>;
using invalid_configuration_error = condition_error<condition::invalid_configuration>;
using checksum_mismatch_error = condition_error<condition::checksum_mismatch>;
using too_large_error = condition_error<condition::too_large>;

/// Throws, through `boost::throw_exception`, the `condition_error` for
/// `condition_of(failure.code)` (`storage_error` itself when there is none), carrying a copy of
/// `failure`. Not for builds without exceptions (there `boost::throw_exception` is the user's).
[[noreturn]] CLOUDSTORE_DECL void throw_storage_error(const storage_failure& failure);

/// `throw_storage_error(storage_failure{ec})`.
[[noreturn]] CLOUDSTORE_DECL void throw_storage_error(error_code ec);

} // namespace cloudstore

#ifdef CLOUDSTORE_HEADER_ONLY
#include <cloudstore/impl/error.ipp>
#endif

#endif // CLOUDSTORE_ERROR_HPP
