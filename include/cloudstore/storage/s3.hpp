// `s3` storage: Amazon S3 and S3-compatible servers (Ceph RGW, MinIO, ...) over the S3 REST
// API, each request signed with SigV4 and sent by the HTTP transport. Every operation is a
// sans-io algorithm of `s3_step`s (one HTTP exchange each); `s3` performs a step
// asynchronously (`async_perform`), and the blocking face runs the same driver on the
// transport's per-thread private context (`run_here`).
//
// Thread safety: an `s3` (and its copies, which share one transport and signer) may be used
// from many threads at once.
#pragma once

#include <cloudstore/auth/sigv4.hpp>
#include <cloudstore/core/algorithms.hpp>
#include <cloudstore/credentials/provider.hpp>
#include <cloudstore/http/transport.hpp>
#include <cloudstore/object.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/cancellation_signal.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cloudstore {

/// Where and how an `s3` storage reaches its bucket.
struct s3_options {
    std::string bucket;
    std::string region = "us-east-1";
    /// Empty: AWS, `https://s3.<region>.amazonaws.com`. Otherwise `http[s]://host[:port]` of an
    /// S3-compatible server (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL).
    std::string endpoint;
    enum class addressing {
        automatic,      ///< virtual-hosted on AWS; path style for a bucket name with dots, an
                        ///< explicit endpoint or an IP address
        path,           ///< https://host/bucket/key
        virtual_hosted, ///< https://bucket.host/key
    };
    addressing style = addressing::automatic;
    aws_credentials credentials;
    /// The host of public URLs (a CDN in front of the bucket, S3_CUSTOM_DOMAIN); empty: the
    /// bucket's own URL.
    std::string custom_domain;
    http::transport_options transport;
    /// Whether a body's SHA-256 is signed (read ahead, a pass over it before sending) or
    /// sent as UNSIGNED-PAYLOAD. A body that cannot be read twice is always unsigned.
    enum class payload_signing {
        unsigned_over_tls, ///< TLS keeps the bytes intact, as the SDKs reason; signed on http
        always_signed,
        never_signed, ///< also over plain HTTP (a trusted network, a benchmark)
    };
    payload_signing payload = payload_signing::unsigned_over_tls;
    /// With the checksums mixin, a body that cannot be read twice (so its checksum cannot go
    /// ahead in a header) sends its checksum after the body, in an aws-chunked trailer
    /// (STREAMING-UNSIGNED-PAYLOAD-TRAILER), when its payload goes unsigned and its length is
    /// known. S3 takes trailers; Ceph RGW 16 refuses them, hence off by default: without it
    /// such a body goes without a checksum (TLS, or on plain HTTP its chunk signatures, keep
    /// it intact).
    bool checksum_trailers = false;

    /// A put of more bytes than this (or a stream of unknown length longer than one part)
    /// goes up as a multipart upload, its parts in flight together.
    std::uint64_t multipart_threshold = 8 * 1024 * 1024;
    /// The part size. For a known size, the largest of this, 5 MiB and size / 10,000 (S3's
    /// limits). For a stream of unknown length, part n is this times 2^((n - 1) / 1000), up
    /// to 5 GiB: from 8 MiB, 10,000 parts reach past S3's 5 TiB object limit.
    std::uint64_t part_size = 8 * 1024 * 1024;
    /// Parts in flight at once. A body read in turn (a stream) holds at most this many parts
    /// in memory (so parts_in_flight x part_size, more once a stream's parts grow past its
    /// first 1,000); a file or memory body is read where it lies, part by part.
    std::size_t parts_in_flight = 4;

    /// The options the environment gives: S3_BUCKET_NAME, AWS_REGION / AWS_DEFAULT_REGION,
    /// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, AWS_ENDPOINT_URL_S3 /
    /// AWS_ENDPOINT_URL, S3_CUSTOM_DOMAIN, S3_ADDRESSING_STYLE (path|virtual), AWS_CA_BUNDLE.
    /// A missing bucket or key sets `ec` to errc::invalid_configuration.
    CLOUDSTORE_DECL static s3_options from_environment(error_code& ec);
};

/// A part of a multipart upload, as ListParts describes it.
struct s3_uploaded_part {
    unsigned number = 0;
    std::uint64_t size = 0;
    std::string etag; ///< quotes removed
};

/// One S3 request and what to do with its reply.
struct s3_step : core::step_base {
    enum class kind : std::uint8_t {
        put,
        get,
        head,
        remove,
        list,
        copy,
        remove_many,
        create_upload,
        upload_part,
        complete_upload,
        abort_upload,
        list_parts,
    };
    kind what = kind::get;
    std::string method = "GET";
    /// The object's key; empty for a request on the bucket itself.
    std::string key;
    /// Query parameters, decoded.
    std::vector<std::pair<std::string, std::string>> query;
    /// Headers sent and signed besides those the signer adds.
    std::vector<std::pair<std::string, std::string>> headers;
    /// An XML body the step owns (DeleteObjects, CompleteMultipartUpload); `body` points at it.
    std::string owned_body;

    /// Filled from a successful reply: put, get, head, copy, complete.
    object_info* info = nullptr;
    /// list: the page.
    list_page* page = nullptr;
    /// remove_many: each key's outcome, in the order of `batch`.
    std::vector<error_code>* results = nullptr;
    std::span<const std::string> batch;
    std::size_t batch_offset = 0;
    /// create_upload: the upload id; upload_part: the part's ETag.
    std::string* upload_id = nullptr;
    std::string* part_etag = nullptr;
    /// list_parts: the page's parts, and where the next page starts (0: the last page).
    std::vector<s3_uploaded_part>* parts = nullptr;
    unsigned* next_part_marker = nullptr;
    /// Reads a successful reply's body into the outputs above (list, list_parts,
    /// remove_many): set by the algorithm that asks, so only the parsers a program uses are
    /// compiled into it.
    void (*read_body)(const std::string& reply, s3_step& s, core::attempt_context& a) = nullptr;
    /// Set when the algorithm was built from a bad argument: the step fails with it unsent.
    error_code refused;
    /// The step followed S3 to the bucket's region once already (never twice).
    bool redirected = false;
    /// How many times the request went out, over all attempts (the transport's own re-send
    /// on a stale connection included): a Complete sent twice may have completed the first.
    unsigned sends = 0;
};

class s3 {
public:
    using step = s3_step;
    static constexpr std::string_view storage_type = "s3";

    /// Async operations run on the process's default io_context, run by a thread of its own
    /// (detail/default_executor.hpp).
    CLOUDSTORE_DECL explicit s3(s3_options options);
    /// Async operations (their exchanges and waits) run on `executor`.
    CLOUDSTORE_DECL s3(s3_options options, boost::asio::any_io_executor executor);

    // -- the operations' algorithms (see storage_policy) ------------------------------------
    using one_step = core::single_step<s3_step>;

    /// A put: one PutObject up to the multipart threshold; above it (or for a stream of
    /// unknown length longer than one part) CreateMultipartUpload, the parts in flight
    /// together (a fan-out of `parts_in_flight` lanes), CompleteMultipartUpload; any failure
    /// aborts the upload. A Complete whose reply was lost and whose retry meets NoSuchUpload
    /// is settled by a HEAD: an object with the upload's "-N" ETag is the upload, completed.
    class put_type {
    public:
        CLOUDSTORE_DECL put_type(const s3_options& config, std::string_view key,
                                 http::body_source* body, const put_options& options,
                                 object_info& out);
        CLOUDSTORE_DECL core::action next(const core::attempt_context* done);
        s3_step& step() noexcept { return step_; }
        CLOUDSTORE_DECL bool launch(std::size_t lane);
        s3_step& step(std::size_t lane) noexcept { return lanes_[lane].step; }
        CLOUDSTORE_DECL bool landed(std::size_t lane, const core::attempt_context& outcome);
        /// Cancelled while parts were in flight: abort the upload rather than leave its parts.
        CLOUDSTORE_DECL bool undo(error_code why);

        /// The part size for an object of `size` bytes (nullopt: unknown) at part `number`
        /// (from 1), with `configured` as s3_options::part_size. 0 when S3 cannot take it.
        CLOUDSTORE_DECL static std::uint64_t part_size(std::optional<std::uint64_t> size,
                                                       unsigned number, std::uint64_t configured);

    private:
        enum class phase : std::uint8_t {
            start,
            single,
            create,
            parts,
            complete,
            describe,
            confirm,
            abort,
        };
        struct lane {
            s3_step step;
            std::unique_ptr<http::body_source> slice;
            std::vector<std::byte> buffer;
            http::memory_source memory{std::string_view()};
            std::string etag;
            unsigned number = 0;
        };
        struct finished_part {
            unsigned number;
            std::string etag;
            std::string checksum;
        };
        bool begin(); // at the start: single PUT or multipart; false: refused (see failure_)
        s3_step object_step(s3_step::kind what, const char* method) const;
        std::uint64_t fill(std::vector<std::byte>& buffer, std::uint64_t want, error_code& ec);
        bool at_end(error_code& ec);
        core::action complete();
        core::action abort(error_code why);
        core::action head(phase then);
        bool completed_etag(std::string_view etag) const;

        std::string key_;
        http::body_source* body_;
        object_info* out_;
        std::vector<std::pair<std::string, std::string>> object_headers_; // put and create
        std::vector<std::pair<std::string, std::string>> condition_headers_;
        std::vector<std::pair<std::string, std::string>> key_headers_; // SSE-C, every part
        std::string content_type_;
        std::string_view checksum_name_; // the checksums mixin's algorithm, from the parts
        std::uint64_t threshold_;
        std::uint64_t configured_part_size_;
        std::size_t width_;
        std::optional<std::uint64_t> size_;
        phase phase_ = phase::start;
        error_code failure_;
        s3_step step_;
        http::memory_source single_body_{std::string_view()};
        std::string upload_id_;
        std::vector<lane> lanes_;
        std::vector<finished_part> parts_;
        unsigned next_part_ = 1;
        std::uint64_t offset_ = 0;
        bool source_done_ = false;
        // A stream read in turn: the first part read ahead (is it the only one?), and what a
        // piece gave beyond the part it filled.
        std::vector<std::byte> first_;
        std::vector<std::byte> carry_;
        std::size_t carry_used_ = 0;
    };
    CLOUDSTORE_DECL put_type put_algorithm(std::string_view key, http::body_source* body,
                                           const put_options& options, object_info& out) const;
    /// A GET; a range that S3 refuses (416) is settled by a HEAD: on an empty object every
    /// range is empty (the API's rule), on any other the refusal stands.
    class get_type {
    public:
        get_type(one_step get, one_step head)
            : get_(std::move(get))
            , head_(std::move(head)) {}
        CLOUDSTORE_DECL core::action next(const core::attempt_context* done);
        s3_step& step() noexcept { return heading_ ? head_.s : get_.s; }

    private:
        one_step get_, head_;
        bool heading_ = false;
        error_code refusal_;
    };
    CLOUDSTORE_DECL get_type get_algorithm(std::string_view key, const get_options& options,
                                           http::body_sink* sink, object_info& out) const;
    CLOUDSTORE_DECL one_step head_algorithm(std::string_view key, object_info& out) const;
    CLOUDSTORE_DECL one_step remove_algorithm(std::string_view key) const;
    CLOUDSTORE_DECL one_step list_algorithm(const list_options& options, list_page& out) const;
    /// CopyObject, then a HEAD of the copy: S3's reply to a copy has only the ETag and date.
    class copy_type {
    public:
        copy_type(one_step copy, one_step head)
            : copy_(std::move(copy))
            , head_(std::move(head)) {}
        CLOUDSTORE_DECL core::action next(const core::attempt_context* done);
        s3_step& step() noexcept { return heading_ ? head_.s : copy_.s; }

    private:
        one_step copy_, head_;
        bool heading_ = false;
    };
    CLOUDSTORE_DECL copy_type copy_algorithm(std::string_view source, std::string_view target,
                                             const put_options* replace, object_info& out) const;

    /// DeleteObjects in batches of up to 1,000 keys, one after another; each key's own
    /// outcome goes in `results`.
    class remove_many_type {
    public:
        CLOUDSTORE_DECL remove_many_type(std::span<const std::string> keys,
                                         std::vector<error_code>& results);
        CLOUDSTORE_DECL core::action next(const core::attempt_context* done);
        s3_step& step() noexcept { return step_; }

    private:
        std::span<const std::string> keys_;
        std::vector<error_code>& results_;
        std::size_t next_ = 0;
        s3_step step_;
        http::memory_source body_{std::string_view()};
    };
    remove_many_type remove_many_algorithm(std::span<const std::string> keys,
                                           std::vector<error_code>& results) const {
        return {keys, results};
    }

    /// PutBucketLifecycleConfiguration with one rule: multipart uploads left incomplete (a
    /// process killed, or an upload cancelled mid-way) are aborted `days` after they began,
    /// and their parts freed. It replaces the bucket's lifecycle configuration.
    class abort_incomplete_uploads_type {
    public:
        CLOUDSTORE_DECL explicit abort_incomplete_uploads_type(unsigned days);
        CLOUDSTORE_DECL core::action next(const core::attempt_context* done);
        s3_step& step() noexcept { return step_; }

    private:
        s3_step step_;
        http::memory_source body_{std::string_view()};
    };
    abort_incomplete_uploads_type abort_incomplete_uploads_algorithm(unsigned days) const {
        return abort_incomplete_uploads_type(days);
    }

    /// ListParts of an upload, every page (uploads that failed are aborted; this serves
    /// callers who track their own, and tests).
    class list_parts_type {
    public:
        CLOUDSTORE_DECL list_parts_type(std::string_view key, std::string_view upload_id,
                                        std::vector<s3_uploaded_part>& out);
        CLOUDSTORE_DECL core::action next(const core::attempt_context* done);
        s3_step& step() noexcept { return step_; }

    private:
        s3_step step_;
        std::string upload_id_;
        unsigned marker_ = 0;
    };
    list_parts_type list_parts_algorithm(std::string_view key, std::string_view upload_id,
                                         std::vector<s3_uploaded_part>& out) const {
        return {key, upload_id, out};
    }

    /// A presigned GET or PUT URL, valid for `expires` (1 s to 7 days).
    CLOUDSTORE_DECL std::string presigned_url(std::string_view key, bool put,
                                              std::chrono::seconds expires, error_code& ec) const;
    /// The object's unsigned URL: on S3_CUSTOM_DOMAIN when set, else the bucket's endpoint.
    CLOUDSTORE_DECL std::string public_url(std::string_view key, error_code& ec) const;

    // -- performing steps ------------------------------------------------------------------
    /// Starts `s` (one signed exchange); `handler()` runs when its outcome is in `a`.
    template <class Handler>
    void async_perform(s3_step& s, core::attempt_context& a, boost::asio::cancellation_slot slot,
                       Handler&& handler) {
        start(s, a, slot,
              boost::asio::any_completion_handler<void()>(std::forward<Handler>(handler)));
    }
    /// The blocking face: see http::transport::run_here.
    template <class Start>
    void run_here(Start&& start) {
        transport().run_here(std::forward<Start>(start));
    }
    CLOUDSTORE_DECL boost::asio::any_io_executor executor() const;
    CLOUDSTORE_DECL http::transport& transport() const;
    CLOUDSTORE_DECL const s3_options& options() const;

    struct state;

private:
    CLOUDSTORE_DECL void start(s3_step& s, core::attempt_context& a,
                               boost::asio::cancellation_slot slot,
                               boost::asio::any_completion_handler<void()> handler);
    std::shared_ptr<state> state_;
};

} // namespace cloudstore

#ifdef CLOUDSTORE_HEADER_ONLY
#include <cloudstore/storage/impl/s3.ipp>
#endif
