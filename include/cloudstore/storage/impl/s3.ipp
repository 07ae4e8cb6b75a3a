// s3: request building, signing, the exchange and reading S3's replies (XML through pugixml).
#pragma once

#include <cloudstore/auth/aws_chunked.hpp>
#include <cloudstore/auth/detail/ascii.hpp>
#include <cloudstore/crypto/base64.hpp>
#include <cloudstore/crypto/digest.hpp>
#include <cloudstore/crypto/hex.hpp>
#include <cloudstore/detail/default_executor.hpp>
#include <cloudstore/http/http_date.hpp>
#include <cloudstore/storage/detail/object_step.hpp>
#include <cloudstore/storage/detail/verify_download.hpp>
#include <cloudstore/storage/s3.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/beast/http/field.hpp>

#include <pugixml.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace cloudstore {

namespace s3_detail {

// Appends a header or query parameter. One function for every name: an emplace_back of each
// literal would be compiled once per literal's length.
inline void add_field(std::vector<std::pair<std::string, std::string>>& to, std::string_view name,
                      std::string value) {
    to.emplace_back(std::string(name), std::move(value));
}

inline std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr ? std::string(v) : std::string();
}

inline bool is_ip_address(std::string_view host) {
    if (!host.empty() && host.front() == '[') return true;
    if (host.empty()) return false;
    for (char c : host)
        if ((c < '0' || c > '9') && c != '.') return false;
    return true;
}

using auth::detail::iequals;

inline std::string_view header(const boost::beast::http::fields& f, std::string_view name) {
    auto it = f.find(name);
    return it == f.end() ? std::string_view() : std::string_view(it->value());
}

inline std::uint64_t to_u64(std::string_view s) noexcept {
    std::uint64_t v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
}

// The object's description from a GET or HEAD reply's headers.
inline void read_object_headers(const boost::beast::http::fields& f, unsigned status,
                                std::string_view key, object_info& info) {
    info.key = std::string(key);
    info.etag = std::string(storage::detail::unquote_etag(header(f, "ETag")));
    info.content_type = std::string(header(f, "Content-Type"));
    info.cache_control = std::string(header(f, "Cache-Control"));
    info.content_disposition = std::string(header(f, "Content-Disposition"));
    // "aws-chunked" is how an upload was framed, never the object's encoding: S3 drops it,
    // Ceph RGW (16) keeps it ("aws-chunked,gzip").
    std::string_view encoding = header(f, "Content-Encoding");
    if (encoding.size() >= 11 && iequals(encoding.substr(0, 11), "aws-chunked")) {
        encoding.remove_prefix(11);
        while (!encoding.empty() && (encoding.front() == ',' || encoding.front() == ' '))
            encoding.remove_prefix(1);
    }
    info.content_encoding = std::string(encoding);
    if (auto t = http::parse_http_date(header(f, "Last-Modified"))) info.last_modified = *t;
    info.size = to_u64(header(f, "Content-Length"));
    if (status == 206) {
        // Content-Range: bytes a-b/total
        const auto range = header(f, "Content-Range");
        const auto slash = range.rfind('/');
        if (slash != std::string_view::npos && range.substr(slash + 1) != "*")
            info.size = to_u64(range.substr(slash + 1));
    }
    info.metadata.clear();
    for (const auto& field : f) {
        const std::string_view name = field.name_string();
        if (name.size() > 11 && iequals(name.substr(0, 11), "x-amz-meta-")) {
            std::string lower(name.substr(11));
            for (auto& c : lower)
                c = auth::detail::lower(c);
            info.metadata[lower] = std::string(field.value());
        }
    }
    static constexpr std::array<std::string_view, 5> algorithms = {"crc32c", "crc32", "crc64nvme",
                                                                   "sha256", "sha1"};
    info.checksum_algorithm.clear();
    info.checksum.clear();
    if (!iequals(header(f, "x-amz-checksum-type"), "COMPOSITE")) {
        for (auto a : algorithms) {
            const auto v = header(f, "x-amz-checksum-" + std::string(a));
            // A composite value ends with "-N" (the part count): not the object's checksum.
            if (!v.empty() && v.find('-') == std::string_view::npos) {
                info.checksum_algorithm = std::string(a);
                info.checksum = std::string(v);
                break;
            }
        }
    }
}

inline std::string child_text(const pugi::xml_node& n, const char* name) {
    return n.child(name).text().as_string();
}

// S3 percent-encodes keys in listings when asked (encoding-type=url): '+' is not a space here
// (S3 encodes a space as %20 or '+': both are decoded).
inline std::string url_decode(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '%' && i + 2 < in.size()) {
            unsigned v = 0;
            auto [p, ec] = std::from_chars(in.data() + i + 1, in.data() + i + 3, v, 16);
            if (ec == std::errc{} && p == in.data() + i + 3) {
                out.push_back(char(v));
                i += 2;
                continue;
            }
        }
        out.push_back(in[i] == '+' ? ' ' : in[i]);
    }
    return out;
}

inline bool parse_list(std::string_view xml, list_page& page) {
    pugi::xml_document doc;
    if (!doc.load_buffer(xml.data(), xml.size())) return false;
    const auto root = doc.child("ListBucketResult");
    if (!root) return false;
    const bool url = std::string_view(root.child("EncodingType").text().as_string()) == "url";
    const auto decode = [&](std::string v) { return url ? url_decode(v) : v; };
    for (auto c = root.child("Contents"); c; c = c.next_sibling("Contents")) {
        object_info o;
        o.key = decode(child_text(c, "Key"));
        o.size = to_u64(c.child("Size").text().as_string());
        o.etag = std::string(storage::detail::unquote_etag(c.child("ETag").text().as_string()));
        if (auto t = http::parse_iso8601(c.child("LastModified").text().as_string()))
            o.last_modified = *t;
        page.objects.push_back(std::move(o));
    }
    for (auto p = root.child("CommonPrefixes"); p; p = p.next_sibling("CommonPrefixes"))
        page.common_prefixes.push_back(decode(child_text(p, "Prefix")));
    if (root.child("IsTruncated").text().as_bool())
        page.next_token = child_text(root, "NextContinuationToken");
    return true;
}

// An <Error> element: code, message, request id.
inline void read_error(const pugi::xml_node& e, storage_failure& f) {
    f.provider_code = child_text(e, "Code");
    f.message = child_text(e, "Message");
    if (auto id = child_text(e, "RequestId"); !id.empty()) f.request_id = id;
}

// An error reply's body (possibly empty, as for HEAD): its <Error>, when it has one.
inline void parse_error(std::string_view xml, storage_failure& f) {
    pugi::xml_document doc;
    if (xml.empty() || !doc.load_buffer(xml.data(), xml.size())) return;
    if (const auto e = doc.child("Error")) read_error(e, f);
}

// A 2xx XML reply, parsed once: its root element; or a null node, with the failure in `f`,
// when it is no XML, an <Error> (CopyObject, CompleteMultipartUpload and DeleteObjects can
// fail after their 200 has begun), or a root other than `expected` when one is named.
inline pugi::xml_node reply_root(const std::string& xml, pugi::xml_document& doc,
                                 storage_failure& f, std::string_view expected = {}) {
    if (!doc.load_buffer(xml.data(), xml.size()) || !doc.first_child()) {
        f.code = errc::malformed_response;
        return {};
    }
    const auto root = doc.first_child();
    if (std::string_view(root.name()) == "Error") {
        read_error(root, f);
        f.code = make_s3_error(f.provider_code, 200);
        return {};
    }
    if (!expected.empty() && std::string_view(root.name()) != expected) {
        f.code = errc::malformed_response;
        return {};
    }
    return root;
}

// The readers of the XML replies only some operations get, set on their steps by the
// algorithms that ask for them (s3_step::read_body): a program compiles the parsers of the
// operations it uses, not those of every operation.
inline void read_list_page(const std::string& reply, s3_step& s, core::attempt_context& a) {
    if (s.page != nullptr && !parse_list(reply, *s.page)) a.failure.code = errc::malformed_response;
}

inline void read_list_parts(const std::string& reply, s3_step& s, core::attempt_context& a) {
    pugi::xml_document doc;
    const auto root = reply_root(reply, doc, a.failure, "ListPartsResult");
    if (!root) return;
    for (auto p = root.child("Part"); p; p = p.next_sibling("Part")) {
        s3_uploaded_part part;
        part.number = p.child("PartNumber").text().as_uint();
        part.size = to_u64(p.child("Size").text().as_string());
        part.etag = std::string(storage::detail::unquote_etag(p.child("ETag").text().as_string()));
        if (s.parts != nullptr) s.parts->push_back(std::move(part));
    }
    if (s.next_part_marker != nullptr)
        *s.next_part_marker = root.child("IsTruncated").text().as_bool()
                                  ? root.child("NextPartNumberMarker").text().as_uint()
                                  : 0;
}

inline void read_delete_result(const std::string& reply, s3_step& s, core::attempt_context& a) {
    pugi::xml_document doc;
    const auto root = reply_root(reply, doc, a.failure, "DeleteResult");
    if (!root) return;
    // Quiet mode: only the failed keys are listed.
    for (auto e = root.child("Error"); e; e = e.next_sibling("Error")) {
        const std::string key = child_text(e, "Key");
        const auto code = make_s3_error(child_text(e, "Code"), 0);
        for (std::size_t i = 0; i < s.batch.size(); ++i)
            if (s.batch[i] == key && s.results != nullptr) (*s.results)[s.batch_offset + i] = code;
    }
}

inline void xml_escape(std::string& out, std::string_view in) {
    for (char c : in) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        case '\'':
            out += "&apos;";
            break;
        case '\r':
            out += "&#13;";
            break;
        case '\n':
            out += "&#10;";
            break;
        default:
            out.push_back(c);
        }
    }
}

// Sends a successful reply's body to the step's sink (a GET's bytes) or keeps it (XML), and
// an error reply's body always to `kept`, so an error never reaches the caller's sink.
class reply_sink final : public http::body_sink {
public:
    reply_sink(http::body_sink* target, std::string& kept)
        : target_(target)
        , kept_(kept) {}
    void start(unsigned status, std::optional<std::uint64_t> length, error_code& ec) override {
        to_target_ = target_ != nullptr && status >= 200 && status < 300;
        kept_.clear();
        if (to_target_) return target_->start(status, length, ec);
        ec = {};
        // A HEAD's Content-Length is the object's, with no body behind it.
        if (length && *length > limit && !head_) ec = errc::too_large;
    }
    void write(std::span<const std::byte> piece, error_code& ec) override {
        received_ += piece.size();
        if (to_target_) {
            if (feed_ != nullptr) feed_->update(piece);
            return target_->write(piece, ec);
        }
        ec = {};
        if (kept_.size() + piece.size() > limit) {
            ec = errc::too_large;
            return;
        }
        kept_.append(reinterpret_cast<const char*>(piece.data()), piece.size());
    }
    void finish(error_code& ec) override {
        if (to_target_) return target_->finish(ec);
        ec = {};
    }
    void reset() override {
        if (target_ != nullptr) target_->reset();
        kept_.clear();
        received_ = 0;
    }
    std::uint64_t received() const noexcept { return received_; }
    /// The reply to a HEAD: no body, whatever its Content-Length says.
    void head() noexcept { head_ = true; }
    /// A download to verify: the bytes that reach the target feed `c` too.
    void feed(core::running_checksum* c) noexcept { feed_ = c; }

    // XML replies (listings of 1,000 keys with long names) stay well under this.
    static constexpr std::size_t limit = 16 * 1024 * 1024;

private:
    http::body_sink* target_;
    std::string& kept_;
    core::running_checksum* feed_ = nullptr;
    bool to_target_ = false;
    bool head_ = false;
    std::uint64_t received_ = 0;
};

// A body of known length sent as aws-chunked, in one pass: either signed
// (STREAMING-AWS4-HMAC-SHA256-PAYLOAD: each chunk signed as it goes, chained from the
// request's signature), so a body that cannot be read twice is still signed; or unsigned with
// its checksum in a trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER), computed as the bytes pass.
class aws_chunked_source final : public http::body_source {
public:
    static constexpr std::size_t chunk = 64 * 1024; // S3: at least 8 KiB but the last

    // Signed chunks.
    aws_chunked_source(const auth::sigv4_signer& signer, auth::amz_date when, std::string_view seed,
                       http::body_source& inner, std::uint64_t length)
        : signer_(&signer)
        , when_(when)
        , seed_(seed)
        , inner_(inner)
        , length_(length) {
        chunks_.emplace(signer, when, seed);
    }
    // Plain chunks, then `trailer_name: <running's value>` (its base64 is `value_size` long).
    aws_chunked_source(std::string trailer_name, core::running_checksum& running,
                       std::size_t value_size, http::body_source& inner, std::uint64_t length)
        : inner_(inner)
        , length_(length)
        , trailer_(std::move(trailer_name))
        , running_(&running)
        , value_size_(value_size) {}

    std::optional<std::uint64_t> size() const noexcept override {
        if (running_ != nullptr)
            return auth::aws_chunked_trailer::encoded_length(length_, chunk, trailer_, value_size_);
        return auth::aws_chunk_signer::encoded_length(length_, chunk);
    }
    std::span<const std::byte> next(std::span<std::byte>, error_code& ec) override {
        ec = {};
        if (finished_) return {};
        // Gather one chunk's data: signing needs all of it before its header goes out.
        data_.clear();
        while (data_.size() < chunk && !inner_done_) {
            if (pending_.empty()) {
                scratch_.resize(chunk);
                pending_ = inner_.next(scratch_, ec);
                if (ec) return {};
                if (pending_.empty()) {
                    inner_done_ = true;
                    break;
                }
            }
            const std::size_t n = std::min(pending_.size(), chunk - data_.size());
            data_.insert(data_.end(), pending_.begin(), pending_.begin() + std::ptrdiff_t(n));
            pending_ = pending_.subspan(n);
        }
        sent_ += data_.size();
        if (sent_ > length_ || (inner_done_ && sent_ != length_)) {
            ec = errc::invalid_argument; // the body is not the length it said
            return {};
        }
        if (data_.empty()) {
            finished_ = true;
            out_ = running_ != nullptr
                       ? auth::aws_chunked_trailer::final_chunk(trailer_, running_->finish())
                       : chunks_->final_chunk();
        } else {
            if (running_ != nullptr) {
                running_->update(data_);
                out_ = auth::aws_chunked_trailer::chunk_header(data_.size());
            } else {
                out_ = chunks_->chunk_header(crypto::byte_view(data_));
            }
            out_.append(reinterpret_cast<const char*>(data_.data()), data_.size());
            out_ += auth::aws_chunk_end;
        }
        return std::as_bytes(std::span(out_));
    }
    bool rewindable() const noexcept override { return inner_.rewindable(); }
    bool rewind(error_code& ec) override {
        if (!inner_.rewind(ec)) return false;
        if (signer_ != nullptr) chunks_.emplace(*signer_, when_, seed_); // the same request
        if (running_ != nullptr) running_->finish();                     // starts it again
        pending_ = {};
        sent_ = 0;
        inner_done_ = finished_ = false;
        return true;
    }

private:
    const auth::sigv4_signer* signer_ = nullptr;
    auth::amz_date when_{};
    std::string seed_;
    http::body_source& inner_;
    std::uint64_t length_;
    std::optional<auth::aws_chunk_signer> chunks_;
    std::string trailer_;
    core::running_checksum* running_ = nullptr;
    std::size_t value_size_ = 0;
    std::vector<std::byte> scratch_, data_;
    std::span<const std::byte> pending_;
    std::string out_;
    std::uint64_t sent_ = 0;
    bool inner_done_ = false, finished_ = false;
};

// One attempt's exchange: what must live until the transport completes.
struct exchange {
    exchange(http::body_sink* target)
        : sink(target, reply) {}
    http::request request;
    http::response response;
    std::string reply;
    reply_sink sink;
    std::string body_hash;
    std::optional<aws_chunked_source> chunked;
};

// SSE-C: the key, its algorithm and the key's MD5 (S3 checks the key arrived intact). The
// key is 32 raw bytes; anything else is refused before a request is made.
inline error_code customer_key_headers(std::string_view key,
                                       std::vector<std::pair<std::string, std::string>>& h) {
    if (key.size() != 32) return errc::invalid_argument;
    s3_detail::add_field(h, "x-amz-server-side-encryption-customer-algorithm", "AES256");
    s3_detail::add_field(h, "x-amz-server-side-encryption-customer-key",
                         crypto::base64_encode(crypto::as_bytes(key)));
    s3_detail::add_field(h, "x-amz-server-side-encryption-customer-key-MD5",
                         crypto::base64_encode(crypto::md5(key)));
    return {};
}

// The element of a part's checksum in CompleteMultipartUpload; empty for none (MD5 is the
// part's Content-MD5, checked on upload and not listed).
inline std::string checksum_element(std::string_view algorithm) {
    if (algorithm == "crc32") return "ChecksumCRC32";
    if (algorithm == "crc32c") return "ChecksumCRC32C";
    if (algorithm == "crc64nvme") return "ChecksumCRC64NVME";
    if (algorithm == "sha256") return "ChecksumSHA256";
    if (algorithm == "sha1") return "ChecksumSHA1";
    return {};
}

inline void put_headers(s3_step& s, const put_options& o) {
    auto& h = s.headers;
    s3_detail::add_field(h, "Content-Type",
                         o.content_type.empty() ? "application/octet-stream" : o.content_type);
    if (!o.cache_control.empty()) s3_detail::add_field(h, "Cache-Control", o.cache_control);
    if (!o.content_disposition.empty())
        s3_detail::add_field(h, "Content-Disposition", o.content_disposition);
    if (!o.content_encoding.empty())
        s3_detail::add_field(h, "Content-Encoding", o.content_encoding);
    for (const auto& [name, value] : o.metadata)
        s3_detail::add_field(h, "x-amz-meta-" + name, value);
    if (!o.storage_class.empty()) s3_detail::add_field(h, "x-amz-storage-class", o.storage_class);
    if (!o.acl.empty()) s3_detail::add_field(h, "x-amz-acl", o.acl);
    switch (o.encryption.what) {
    case server_encryption::mode::store_managed:
        s3_detail::add_field(h, "x-amz-server-side-encryption", "AES256");
        break;
    case server_encryption::mode::kms:
        s3_detail::add_field(h, "x-amz-server-side-encryption", "aws:kms");
        if (!o.encryption.kms_key_id.empty())
            s3_detail::add_field(h, "x-amz-server-side-encryption-aws-kms-key-id",
                                 o.encryption.kms_key_id);
        break;
    case server_encryption::mode::none:
    case server_encryption::mode::customer_key: // the caller adds the key's headers
        break;
    }
}

} // namespace s3_detail

struct s3::state {
    // Where requests go and how they are signed: replaced whole when S3 says the bucket lives
    // in another region (a redirect), so a request in flight keeps the one it started with.
    struct target {
        std::string region;
        http::endpoint to;
        std::string host;        // the Host header
        std::string path_prefix; // "/bucket" in path style, "" in virtual-hosted style
        auth::sigv4_signer signer;

        std::string path_of(std::string_view key) const {
            std::string p = path_prefix;
            p += '/';
            auth::uri_encode(p, key, true);
            return p;
        }
    };

    state(s3_options o, boost::asio::any_io_executor ex)
        : options(std::move(o))
        , transport(ex, options.transport)
        , executor(std::move(ex)) {
        current = make_target(options.region, configuration);
    }
    // On the process's default io_context, which one thread runs: no strand needed (nor
    // compiled, in a program that gives no executor).
    explicit state(s3_options o)
        : options(std::move(o))
        , transport(http::serialized, detail::default_executor(), options.transport)
        , executor(detail::default_executor()) {
        current = make_target(options.region, configuration);
    }

    s3_options options;
    http::transport transport;
    boost::asio::any_io_executor executor;
    error_code configuration; // a bad endpoint or bucket: every step fails with it
    // Seconds to add to this machine's clock, learnt from a RequestTimeTooSkewed reply.
    std::atomic<std::int64_t> clock_offset{0};

    std::shared_ptr<const target> now() const {
        std::lock_guard lock(mutex);
        return current;
    }
    // The bucket is in `region`, says S3 to a request sent with `from`: later requests go
    // there (once: a second request that learnt the same finds it done).
    void follow(const target& from, const std::string& region) {
        std::lock_guard lock(mutex);
        if (current.get() != &from) return;
        error_code ec;
        auto next = make_target(region, ec);
        if (!ec) current = std::move(next);
    }

private:
    std::shared_ptr<const target> make_target(const std::string& region, error_code& ec) const {
        const bool aws = options.endpoint.empty();
        auto t = std::make_shared<target>(
            target{region,
                   http::endpoint::parse(
                       aws ? "https://s3." + region + ".amazonaws.com" : options.endpoint, ec),
                   {},
                   {},
                   auth::sigv4_signer(auth::aws_credentials{options.credentials.access_key_id,
                                                            options.credentials.secret_access_key,
                                                            options.credentials.session_token},
                                      region, "s3")});
        if (ec) return t;
        if (options.bucket.empty()) ec = errc::invalid_configuration;
        bool path = options.style == s3_options::addressing::path;
        if (options.style == s3_options::addressing::automatic)
            path = !aws || options.bucket.find('.') != std::string::npos ||
                   s3_detail::is_ip_address(t->to.host);
        if (path) {
            t->path_prefix = "/" + auth::uri_encode(options.bucket, false);
        } else {
            t->to.host = options.bucket + "." + t->to.host;
        }
        t->host = t->to.host_header();
        return t;
    }

    mutable std::mutex mutex;
    std::shared_ptr<const target> current;
};

CLOUDSTORE_DECL s3_options s3_options::from_environment(error_code& ec) {
    ec = {};
    s3_options o;
    o.bucket = s3_detail::env("S3_BUCKET_NAME");
    o.region = s3_detail::env("AWS_REGION");
    if (o.region.empty()) o.region = s3_detail::env("AWS_DEFAULT_REGION");
    if (o.region.empty()) o.region = "us-east-1";
    o.endpoint = s3_detail::env("AWS_ENDPOINT_URL_S3");
    if (o.endpoint.empty()) o.endpoint = s3_detail::env("AWS_ENDPOINT_URL");
    o.credentials.access_key_id = s3_detail::env("AWS_ACCESS_KEY_ID");
    o.credentials.secret_access_key = s3_detail::env("AWS_SECRET_ACCESS_KEY");
    o.credentials.session_token = s3_detail::env("AWS_SESSION_TOKEN");
    o.custom_domain = s3_detail::env("S3_CUSTOM_DOMAIN");
    const auto style = s3_detail::env("S3_ADDRESSING_STYLE");
    if (style == "path") o.style = addressing::path;
    if (style == "virtual") o.style = addressing::virtual_hosted;
    o.transport.tls.ca_file = s3_detail::env("AWS_CA_BUNDLE");
    if (o.bucket.empty() || o.credentials.access_key_id.empty() ||
        o.credentials.secret_access_key.empty())
        ec = errc::invalid_configuration;
    return o;
}

CLOUDSTORE_DECL s3::s3(s3_options options)
    : state_(std::make_shared<state>(std::move(options))) {}

CLOUDSTORE_DECL s3::s3(s3_options options, boost::asio::any_io_executor executor)
    : state_(std::make_shared<state>(std::move(options), std::move(executor))) {}

CLOUDSTORE_DECL boost::asio::any_io_executor s3::executor() const {
    return state_->executor;
}
CLOUDSTORE_DECL http::transport& s3::transport() const {
    return state_->transport;
}
CLOUDSTORE_DECL const s3_options& s3::options() const {
    return state_->options;
}

// -- algorithms -----------------------------------------------------------------------------

CLOUDSTORE_DECL s3::put_type s3::put_algorithm(std::string_view key, http::body_source* body,
                                               const put_options& options, object_info& out) const {
    return put_type(state_->options, key, body, options, out);
}

CLOUDSTORE_DECL std::uint64_t s3::put_type::part_size(std::optional<std::uint64_t> size,
                                                      unsigned number, std::uint64_t configured) {
    constexpr std::uint64_t min_part = 5ull << 20, max_part = 5ull << 30;
    constexpr std::uint64_t max_object = 5ull << 40;
    constexpr unsigned max_parts = 10000;
    if (number == 0 || number > max_parts) return 0;
    configured = std::clamp(configured, min_part, max_part);
    if (size) {
        if (*size > max_object) return 0;
        return std::max(configured, (*size + max_parts - 1) / max_parts);
    }
    const unsigned doublings = (number - 1) / 1000;
    return std::min(max_part, configured << doublings);
}

CLOUDSTORE_DECL s3::put_type::put_type(const s3_options& config, std::string_view key,
                                       http::body_source* body, const put_options& options,
                                       object_info& out)
    : key_(key)
    , body_(body)
    , out_(&out)
    , threshold_(config.multipart_threshold)
    , configured_part_size_(config.part_size)
    , width_(std::max<std::size_t>(config.parts_in_flight, 1)) {
    s3_step headers;
    s3_detail::put_headers(headers, options);
    object_headers_ = std::move(headers.headers);
    if (options.if_none_match) s3_detail::add_field(condition_headers_, "If-None-Match", "*");
    // Unquoted: Ceph RGW compares the header with the bare ETag, and S3 takes either form.
    if (!options.if_match.empty())
        condition_headers_.emplace_back(
            "If-Match", std::string(storage::detail::unquote_etag(options.if_match)));
    if (options.encryption.what == server_encryption::mode::customer_key)
        failure_ = s3_detail::customer_key_headers(options.encryption.customer_key, key_headers_);
    content_type_ =
        options.content_type.empty() ? "application/octet-stream" : options.content_type;
}

CLOUDSTORE_DECL s3_step s3::put_type::object_step(s3_step::kind what, const char* method) const {
    s3_step s;
    s.what = what;
    s.method = method;
    s.key = key_;
    return s;
}

// Fills `buffer` with up to `want` bytes of the stream: first what the last piece left over.
CLOUDSTORE_DECL std::uint64_t s3::put_type::fill(std::vector<std::byte>& buffer, std::uint64_t want,
                                                 error_code& ec) {
    ec = {};
    buffer.resize(static_cast<std::size_t>(want));
    std::size_t got = 0;
    while (got < buffer.size()) {
        if (carry_used_ < carry_.size()) {
            const std::size_t n = std::min(carry_.size() - carry_used_, buffer.size() - got);
            std::memcpy(buffer.data() + got, carry_.data() + carry_used_, n);
            got += n;
            carry_used_ += n;
            continue;
        }
        // Read straight into the buffer; a source that gives a view of its own memory may
        // give more than the part takes: the rest is carried to the next part.
        const auto piece = body_->next(std::span(buffer).subspan(got), ec);
        if (ec) return 0;
        if (piece.empty()) break;
        const std::size_t n = std::min(piece.size(), buffer.size() - got);
        if (piece.data() != buffer.data() + got) std::memcpy(buffer.data() + got, piece.data(), n);
        got += n;
        if (n < piece.size()) {
            carry_.assign(piece.begin() + static_cast<std::ptrdiff_t>(n), piece.end());
            carry_used_ = 0;
        }
    }
    buffer.resize(got);
    return got;
}

// Whether the stream has no byte left (reads one piece ahead into the carry to know).
CLOUDSTORE_DECL bool s3::put_type::at_end(error_code& ec) {
    ec = {};
    if (carry_used_ < carry_.size()) return false;
    carry_.resize(256 * 1024);
    const auto piece = body_->next(carry_, ec);
    if (ec) return true;
    if (piece.data() != carry_.data())
        carry_.assign(piece.begin(), piece.end());
    else
        carry_.resize(piece.size());
    carry_used_ = 0;
    return piece.empty();
}

CLOUDSTORE_DECL bool s3::put_type::begin() {
    if (failure_) return false;
    size_ = body_ != nullptr ? body_->size() : std::optional<std::uint64_t>(0);
    const bool single = size_ && *size_ <= threshold_;
    if (!single) {
        if (part_size(size_, 1, configured_part_size_) == 0) {
            failure_ = errc::too_large; // beyond S3's 5 TiB
            return false;
        }
        if (!size_) {
            // A stream: read its first part; when that is all of it, one PUT takes it.
            fill(first_, part_size(size_, 1, configured_part_size_), failure_);
            if (!failure_ && at_end(failure_) && !failure_) {
                single_body_ = http::memory_source(std::span<const std::byte>(first_));
                phase_ = phase::single;
            }
            if (failure_) return false;
        }
    }
    if (single || phase_ == phase::single) {
        phase_ = phase::single;
        step_ = object_step(s3_step::kind::put, "PUT");
        step_.body = single ? body_ : &single_body_;
        step_.info = out_;
        step_.headers = object_headers_;
        step_.headers.insert(step_.headers.end(), condition_headers_.begin(),
                             condition_headers_.end());
        step_.headers.insert(step_.headers.end(), key_headers_.begin(), key_headers_.end());
        return true;
    }
    phase_ = phase::create;
    step_ = object_step(s3_step::kind::create_upload, "POST");
    s3_detail::add_field(step_.query, "uploads", "");
    step_.headers = object_headers_;
    step_.headers.insert(step_.headers.end(), key_headers_.begin(), key_headers_.end());
    step_.upload_id = &upload_id_;
    return true;
}

CLOUDSTORE_DECL core::action s3::put_type::next(const core::attempt_context* done) {
    if (done == nullptr) {
        if (phase_ == phase::start) {
            if (!begin()) return core::action::finish(failure_);
            return core::action::perform();
        }
        if (phase_ == phase::parts) // every lane landed
            return failure_ ? abort(failure_) : complete();
        return core::action::perform(); // after a wait
    }
    const error_code ec = done->error();
    switch (phase_) {
    case phase::create:
        if (ec) return core::action::finish(ec);
        phase_ = phase::parts;
        lanes_.resize(width_);
        return core::action::fan_out(width_);
    case phase::complete:
        if (!ec) {
            out_->key = key_;
            out_->size = offset_;
            out_->content_type = content_type_;
            if (!out_->etag.empty()) return core::action::finish();
            // Ceph RGW (16) answers an empty <ETag>: the object's HEAD gives it.
            return head(phase::describe);
        }
        // A Complete sent again (a retry, or the transport on a stale connection) that meets
        // NoSuchUpload (or, with If-None-Match, its own object: 412): the first one may have
        // completed the upload and lost its reply. The object's ETag tells.
        if ((ec == s3_errc::no_such_upload || ec == condition::precondition_failed) &&
            step_.sends > 1) {
            failure_ = ec;
            return head(phase::confirm);
        }
        return abort(ec);
    case phase::describe:
        return core::action::finish(); // written; a HEAD refused leaves only the ETag unknown
    case phase::confirm:
        return core::action::finish(!ec && completed_etag(out_->etag) ? error_code() : failure_);
    case phase::abort:
        return core::action::finish(failure_); // the abort's own outcome is not the story
    case phase::start:
    case phase::single:
    case phase::parts:
        break;
    }
    return core::action::finish(ec);
}

CLOUDSTORE_DECL core::action s3::put_type::head(phase then) {
    phase_ = then;
    step_ = object_step(s3_step::kind::head, "HEAD");
    step_.headers = key_headers_;
    step_.info = out_;
    return core::action::perform();
}

// Whether `etag` is the one this upload's Complete made: the MD5 of the parts' MD5s, then
// "-N" (S3's rule when the parts' ETags are their MD5s; otherwise, under SSE-KMS or SSE-C,
// only the part count can be compared).
CLOUDSTORE_DECL bool s3::put_type::completed_etag(std::string_view etag) const {
    const std::string suffix = "-" + std::to_string(parts_.size());
    if (etag.size() <= suffix.size() || etag.substr(etag.size() - suffix.size()) != suffix)
        return false;
    crypto::md5_context md5;
    for (const auto& p : parts_) {
        error_code ec;
        const auto digest = crypto::from_hex(storage::detail::unquote_etag(p.etag), ec);
        if (ec || digest.size() != 16) return true; // not MD5s: the count is all there is
        md5.update(digest);
    }
    return crypto::to_hex(md5.finish()) + suffix == etag;
}

CLOUDSTORE_DECL bool s3::put_type::launch(std::size_t i) {
    if (failure_ || source_done_) return false;
    lane& l = lanes_[i];
    const std::uint64_t want = part_size(size_, next_part_, configured_part_size_);
    if (want == 0) { // a stream past 10,000 parts
        failure_ = errc::too_large;
        return false;
    }
    http::body_source* source = nullptr;
    std::uint64_t got = 0;
    l.slice.reset();
    if (size_) {
        got = std::min(want, *size_ - offset_);
        l.slice = body_->slice(offset_, got, failure_);
        if (failure_) return false;
        source = l.slice.get();
    }
    if (source == nullptr) { // read in turn into the lane's buffer
        if (next_part_ == 1 && !first_.empty()) {
            l.buffer.swap(first_);
            got = l.buffer.size();
        } else {
            const std::uint64_t read = fill(l.buffer, size_ ? got : want, failure_);
            if (failure_) return false;
            if (size_ && read != got) { // the body is shorter than it said
                failure_ = errc::invalid_argument;
                return false;
            }
            got = read;
        }
        if (got == 0 && next_part_ > 1) {
            source_done_ = true;
            return false;
        }
        l.memory = http::memory_source(std::span<const std::byte>(l.buffer));
        source = &l.memory;
    }
    l.number = next_part_++;
    offset_ += got;
    if (size_) {
        source_done_ = offset_ >= *size_;
    } else if (got < want || at_end(failure_)) {
        source_done_ = true;
        if (failure_) return false;
    }
    l.etag.clear();
    l.step = object_step(s3_step::kind::upload_part, "PUT");
    s3_detail::add_field(l.step.query, "partNumber", std::to_string(l.number));
    s3_detail::add_field(l.step.query, "uploadId", upload_id_);
    l.step.headers = key_headers_;
    l.step.body = source;
    l.step.part_etag = &l.etag;
    return true;
}

CLOUDSTORE_DECL bool s3::put_type::landed(std::size_t i, const core::attempt_context& outcome) {
    lane& l = lanes_[i];
    l.slice.reset();
    if (outcome.error()) {
        if (!failure_) failure_ = outcome.error();
        return false;
    }
    if (l.etag.empty()) {
        if (!failure_) failure_ = errc::malformed_response;
        return false;
    }
    // Kept in part order as they land, for Complete and the ETag check: numbers are given
    // out one by one as parts go, so every slot is filled once every part has landed.
    if (parts_.size() < l.number) parts_.resize(l.number);
    parts_[l.number - 1] = {l.number, std::move(l.etag), l.step.checksum.value};
    checksum_name_ = l.step.checksum.name;
    return true;
}

CLOUDSTORE_DECL core::action s3::put_type::complete() {
    const std::string element = s3_detail::checksum_element(checksum_name_);
    std::string xml = "<CompleteMultipartUpload>";
    for (const auto& p : parts_) {
        xml += "<Part><PartNumber>" + std::to_string(p.number) + "</PartNumber><ETag>";
        s3_detail::xml_escape(xml, p.etag);
        xml += "</ETag>";
        if (!element.empty() && !p.checksum.empty())
            xml += "<" + element + ">" + p.checksum + "</" + element + ">";
        xml += "</Part>";
    }
    xml += "</CompleteMultipartUpload>";
    phase_ = phase::complete;
    step_ = object_step(s3_step::kind::complete_upload, "POST");
    s3_detail::add_field(step_.query, "uploadId", upload_id_);
    step_.headers = condition_headers_;
    step_.headers.insert(step_.headers.end(), key_headers_.begin(), key_headers_.end());
    s3_detail::add_field(step_.headers, "Content-Type", "application/xml");
    step_.owned_body = std::move(xml);
    single_body_ = http::memory_source(step_.owned_body);
    step_.body = &single_body_;
    step_.info = out_;
    return core::action::perform();
}

CLOUDSTORE_DECL core::action s3::put_type::abort(error_code why) {
    failure_ = why;
    phase_ = phase::abort;
    step_ = object_step(s3_step::kind::abort_upload, "DELETE");
    s3_detail::add_field(step_.query, "uploadId", upload_id_);
    step_.cleanup = true; // even past the deadline
    return core::action::perform();
}

CLOUDSTORE_DECL bool s3::put_type::undo(error_code why) {
    // Only while parts are in flight: a Complete in flight may have completed the upload.
    if (phase_ != phase::parts || upload_id_.empty()) return false;
    abort(why);
    return true;
}

CLOUDSTORE_DECL s3::abort_incomplete_uploads_type::abort_incomplete_uploads_type(unsigned days) {
    step_.what = s3_step::kind::remove; // no reply to read
    step_.method = "PUT";
    s3_detail::add_field(step_.query, "lifecycle", "");
    step_.owned_body = "<LifecycleConfiguration><Rule><ID>cloudstore-abort-incomplete-uploads</ID>"
                       "<Filter><Prefix></Prefix></Filter><Status>Enabled</Status>"
                       "<AbortIncompleteMultipartUpload><DaysAfterInitiation>" +
                       std::to_string(days) +
                       "</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>"
                       "</LifecycleConfiguration>";
    // S3 requires the body's MD5 (or a checksum) on this request.
    s3_detail::add_field(step_.headers, "Content-MD5",
                         crypto::base64_encode(crypto::md5(step_.owned_body)));
    s3_detail::add_field(step_.headers, "Content-Type", "application/xml");
    if (days == 0) step_.refused = errc::invalid_argument;
}

CLOUDSTORE_DECL core::action
s3::abort_incomplete_uploads_type::next(const core::attempt_context* done) {
    if (done != nullptr) return core::action::finish(done->error());
    body_ = http::memory_source(step_.owned_body); // here, where the algorithm now lives
    step_.body = &body_;
    return core::action::perform();
}

CLOUDSTORE_DECL s3::list_parts_type::list_parts_type(std::string_view key,
                                                     std::string_view upload_id,
                                                     std::vector<s3_uploaded_part>& out)
    : upload_id_(upload_id) {
    out.clear();
    step_.what = s3_step::kind::list_parts;
    step_.read_body = &s3_detail::read_list_parts;
    step_.key = std::string(key);
    step_.parts = &out;
}

CLOUDSTORE_DECL core::action s3::list_parts_type::next(const core::attempt_context* done) {
    if (done != nullptr) {
        if (done->error() || marker_ == 0) return core::action::finish(done->error());
    }
    step_.next_part_marker = &marker_; // here: the algorithm has moved since it was made
    step_.query.clear();
    s3_detail::add_field(step_.query, "uploadId", upload_id_);
    if (marker_ != 0)
        s3_detail::add_field(step_.query, "part-number-marker", std::to_string(marker_));
    return core::action::perform();
}

CLOUDSTORE_DECL core::action s3::get_type::next(const core::attempt_context* done) {
    if (done == nullptr) return core::action::perform(); // the start, or after a wait
    if (!heading_) {
        if (done->error() == condition::range_not_satisfiable &&
            head_.s.info != nullptr) { // a ranged GET: is the object empty?
            refusal_ = done->error();
            heading_ = true;
            return core::action::perform();
        }
        return core::action::finish(done->error());
    }
    if (done->error()) return core::action::finish(done->error());
    if (head_.s.info->size != 0) return core::action::finish(refusal_);
    // Every range of an empty object is empty.
    error_code ec;
    if (get_.s.sink != nullptr) {
        get_.s.sink->start(200, 0, ec);
        if (!ec) get_.s.sink->finish(ec);
    }
    return core::action::finish(ec);
}

CLOUDSTORE_DECL core::action s3::copy_type::next(const core::attempt_context* done) {
    if (done == nullptr) return core::action::perform();
    if (done->error() || heading_) return core::action::finish(done->error());
    heading_ = true;
    return core::action::perform();
}

CLOUDSTORE_DECL s3::get_type s3::get_algorithm(std::string_view key, const get_options& options,
                                               http::body_sink* sink, object_info& out) const {
    one_step a;
    auto& s = a.s;
    s.what = s3_step::kind::get;
    s.key = std::string(key);
    s.sink = sink;
    s.info = &out;
    if (options.range) {
        std::string r = "bytes=" + std::to_string(options.range->offset) + "-";
        if (options.range->length)
            r += std::to_string(options.range->offset + *options.range->length - 1);
        s3_detail::add_field(s.headers, "Range", std::move(r));
    }
    if (!options.if_match.empty()) s3_detail::add_field(s.headers, "If-Match", options.if_match);
    if (!options.if_none_match.empty())
        s3_detail::add_field(s.headers, "If-None-Match", options.if_none_match);
    else if (options.if_modified_since)
        s3_detail::add_field(s.headers, "If-Modified-Since",
                             http::format_http_date(*options.if_modified_since));
    one_step head = options.range ? head_algorithm(key, out) : one_step{};
    if (!options.customer_key.empty()) {
        std::vector<std::pair<std::string, std::string>> key_headers;
        s.refused = s3_detail::customer_key_headers(options.customer_key, key_headers);
        s.headers.insert(s.headers.end(), key_headers.begin(), key_headers.end());
        head.s.headers = std::move(key_headers);
    }
    return {std::move(a), std::move(head)};
}

CLOUDSTORE_DECL s3::one_step s3::head_algorithm(std::string_view key, object_info& out) const {
    one_step a;
    a.s.what = s3_step::kind::head;
    a.s.method = "HEAD";
    a.s.key = std::string(key);
    a.s.info = &out;
    return a;
}

CLOUDSTORE_DECL s3::one_step s3::remove_algorithm(std::string_view key) const {
    one_step a;
    a.s.what = s3_step::kind::remove;
    a.s.method = "DELETE";
    a.s.key = std::string(key);
    return a;
}

CLOUDSTORE_DECL s3::one_step s3::list_algorithm(const list_options& options, list_page& out) const {
    one_step a;
    auto& s = a.s;
    s.what = s3_step::kind::list;
    s.read_body = &s3_detail::read_list_page;
    s.page = &out;
    s3_detail::add_field(s.query, "list-type", "2");
    s3_detail::add_field(s.query, "encoding-type", "url");
    s3_detail::add_field(s.query, "max-keys", std::to_string(options.page_size));
    if (!options.prefix.empty()) s3_detail::add_field(s.query, "prefix", options.prefix);
    if (!options.delimiter.empty()) s3_detail::add_field(s.query, "delimiter", options.delimiter);
    if (!options.start_after.empty())
        s3_detail::add_field(s.query, "start-after", options.start_after);
    if (!options.continuation.empty())
        s3_detail::add_field(s.query, "continuation-token", options.continuation);
    return a;
}

CLOUDSTORE_DECL s3::copy_type s3::copy_algorithm(std::string_view source, std::string_view target,
                                                 const put_options* replace,
                                                 object_info& out) const {
    one_step a;
    auto& s = a.s;
    s.what = s3_step::kind::copy;
    s.method = "PUT";
    s.key = std::string(target);
    s.info = &out;
    std::string from = "/" + auth::uri_encode(state_->options.bucket, false) + "/";
    auth::uri_encode(from, source, true);
    s3_detail::add_field(s.headers, "x-amz-copy-source", std::move(from));
    if (replace != nullptr) {
        s3_detail::add_field(s.headers, "x-amz-metadata-directive", "REPLACE");
        s3_detail::put_headers(s, *replace);
        // Not yet: the copy's and the source's SSE-C keys (refused, never stored in the clear).
        if (replace->encryption.what == server_encryption::mode::customer_key)
            s.refused = errc::not_supported;
    }
    return {std::move(a), head_algorithm(target, out)};
}

CLOUDSTORE_DECL s3::remove_many_type::remove_many_type(std::span<const std::string> keys,
                                                       std::vector<error_code>& results)
    : keys_(keys)
    , results_(results) {
    results_.assign(keys_.size(), error_code{});
}

CLOUDSTORE_DECL core::action s3::remove_many_type::next(const core::attempt_context* done) {
    if (done == nullptr && next_ > 0) return core::action::perform(); // after a wait
    if (done != nullptr && done->error()) return core::action::finish(done->error());
    // The next batch: up to 1,000 valid keys (an invalid key gets its error without a request).
    const std::size_t begin = next_;
    std::string xml = "<Delete><Quiet>true</Quiet>";
    std::size_t count = 0;
    while (next_ < keys_.size() && count < 1000) {
        if (auto ec = validate_key(keys_[next_])) {
            results_[next_++] = ec;
            continue;
        }
        xml += "<Object><Key>";
        s3_detail::xml_escape(xml, keys_[next_]);
        xml += "</Key></Object>";
        ++count;
        ++next_;
    }
    if (count == 0) return core::action::finish();
    xml += "</Delete>";
    step_ = s3_step{};
    step_.what = s3_step::kind::remove_many;
    step_.read_body = &s3_detail::read_delete_result;
    step_.method = "POST";
    s3_detail::add_field(step_.query, "delete", "");
    step_.owned_body = std::move(xml);
    const auto md5 = crypto::md5(step_.owned_body);
    s3_detail::add_field(step_.headers, "Content-MD5", crypto::base64_encode(md5));
    s3_detail::add_field(step_.headers, "Content-Type", "application/xml");
    step_.results = &results_;
    step_.batch = keys_.subspan(begin, next_ - begin);
    step_.batch_offset = begin;
    body_ = http::memory_source(step_.owned_body);
    step_.body = &body_;
    return core::action::perform();
}

// -- URLs -----------------------------------------------------------------------------------

CLOUDSTORE_DECL std::string s3::presigned_url(std::string_view key, bool put,
                                              std::chrono::seconds expires, error_code& ec) const {
    if ((ec = state_->configuration)) return {};
    const auto t = state_->now();
    const auto path = t->path_of(key);
    auth::sigv4_request r;
    r.method = put ? "PUT" : "GET";
    r.host = t->host;
    r.path = path;
    const auto now = std::chrono::system_clock::now() +
                     std::chrono::seconds(state_->clock_offset.load(std::memory_order_relaxed));
    return t->signer.presign(r, auth::amz_date::from(now), expires, ec,
                             t->to.tls ? "https" : "http");
}

CLOUDSTORE_DECL std::string s3::public_url(std::string_view key, error_code& ec) const {
    if ((ec = state_->configuration)) return {};
    if (!state_->options.custom_domain.empty()) {
        std::string url = state_->options.custom_domain.find("://") == std::string::npos
                              ? "https://" + state_->options.custom_domain
                              : state_->options.custom_domain;
        while (!url.empty() && url.back() == '/')
            url.pop_back();
        url += '/';
        auth::uri_encode(url, key, true);
        return url;
    }
    const auto t = state_->now();
    return std::string(t->to.tls ? "https://" : "http://") + t->host + t->path_of(key);
}

// -- performing a step ----------------------------------------------------------------------

namespace s3_detail {

// The outcome of an exchange, read into the attempt and the step's outputs.
inline void read_reply(s3::state& st, s3_step& s, core::attempt_context& a, exchange& x,
                       error_code ec) {
    a.bytes_received = x.sink.received();
    s.sends += x.response.resent ? 2 : 1;
    if (ec) {
        a.failure.code = ec;
        return;
    }
    const unsigned status = x.response.status;
    const auto& h = x.response.headers;
    a.failure.http_status = static_cast<int>(status);
    a.failure.request_id = std::string(header(h, "x-amz-request-id"));
    if (auto ra = header(h, "Retry-After"); !ra.empty())
        a.retry_after = http::parse_retry_after(ra, std::chrono::system_clock::now());
    if (status < 200 || status >= 300) {
        parse_error(x.reply, a.failure);
        a.failure.code = make_s3_error(a.failure.provider_code, static_cast<int>(status));
        if (a.failure.provider_code == "RequestTimeTooSkewed") {
            // The server's clock, for the next attempt (retry asks for it with correct_clock).
            if (auto server = http::parse_http_date(header(h, "Date"))) {
                const auto offset = std::chrono::duration_cast<std::chrono::seconds>(
                    *server - std::chrono::system_clock::now());
                st.clock_offset.store(offset.count(), std::memory_order_relaxed);
            }
        }
        return;
    }
    a.failure.code = {};
    switch (s.what) {
    case s3_step::kind::get:
    case s3_step::kind::head:
        if (s.info == nullptr) break;
        read_object_headers(h, status, s.key, *s.info);
        if (s.what == s3_step::kind::get)
            a.failure.code =
                storage::detail::verify_download(s.checksum, *s.info, status == 200, {});
        break;
    case s3_step::kind::put:
        if (s.info != nullptr) {
            s.info->key = s.key;
            s.info->etag = std::string(storage::detail::unquote_etag(header(h, "ETag")));
            if (s.body != nullptr)
                if (auto size = s.body->size()) s.info->size = *size;
            for (const auto& [name, value] : s.headers) {
                if (iequals(name, "Content-Type")) s.info->content_type = value;
            }
        }
        break;
    case s3_step::kind::copy:
    case s3_step::kind::complete_upload: {
        pugi::xml_document doc;
        const auto root = reply_root(x.reply, doc, a.failure);
        if (!root) return;
        if (s.info != nullptr) {
            s.info->key = s.key;
            s.info->etag =
                std::string(storage::detail::unquote_etag(root.child("ETag").text().as_string()));
        }
        break;
    }
    case s3_step::kind::list:
    case s3_step::kind::list_parts:
    case s3_step::kind::remove_many:
        if (s.read_body != nullptr) s.read_body(x.reply, s, a);
        break;
    case s3_step::kind::create_upload: {
        pugi::xml_document doc;
        const auto root = reply_root(x.reply, doc, a.failure);
        if (!root) return;
        const std::string id = root.child("UploadId").text().as_string();
        if (id.empty()) a.failure.code = errc::malformed_response;
        if (s.upload_id != nullptr) *s.upload_id = id;
        break;
    }
    case s3_step::kind::upload_part:
        if (s.part_etag != nullptr) *s.part_etag = std::string(header(h, "ETag"));
        break;
    case s3_step::kind::remove:
    case s3_step::kind::abort_upload:
        break;
    }
}

// How a body is signed: not at all for an empty one (the empty hash); UNSIGNED-PAYLOAD when
// configured so (by default over TLS); otherwise its SHA-256, computed in a pass before sending
// when the body can be read twice, or signed chunk by chunk as it goes (aws-chunked) when it
// cannot but its length is known. A stream of unknown length can only go unsigned.
enum class payload_form { empty, unsigned_payload, hashed, streamed, trailer };

// The base64 length of a checksum a trailer can carry; 0 for one it cannot (MD5).
inline std::size_t trailer_value_size(std::string_view algorithm) noexcept {
    if (algorithm == "crc32" || algorithm == "crc32c") return 8;
    if (algorithm == "crc64nvme") return 12;
    if (algorithm == "sha1") return 28;
    if (algorithm == "sha256") return 44;
    return 0;
}

inline payload_form payload_form_of(const s3::state& st, bool tls, const s3_step& s) {
    if (s.body == nullptr) return payload_form::empty;
    using signing = s3_options::payload_signing;
    const auto mode = st.options.payload;
    if (mode == signing::never_signed || (mode == signing::unsigned_over_tls && tls)) {
        // A checksum the mixin could not compute ahead (the body cannot be read twice)
        // follows the body, when the server takes trailers.
        const auto& c = s.checksum;
        if (st.options.checksum_trailers && c.in_trailer && c.running && s.body->size() &&
            trailer_value_size(c.name) != 0)
            return payload_form::trailer;
        return payload_form::unsigned_payload;
    }
    if (s.body->rewindable()) return payload_form::hashed;
    return s.body->size() ? payload_form::streamed : payload_form::unsigned_payload;
}

inline std::string payload_hash(payload_form form, s3_step& s, error_code& ec) {
    switch (form) {
    case payload_form::empty:
        return std::string(auth::payload::empty_sha256);
    case payload_form::unsigned_payload:
        return std::string(auth::payload::unsigned_payload);
    case payload_form::streamed:
        return std::string(auth::payload::streaming_signed);
    case payload_form::trailer:
        return std::string(auth::payload::streaming_unsigned_trailer);
    case payload_form::hashed:
        break;
    }
    crypto::sha256_context sha;
    std::vector<std::byte> scratch(256 * 1024);
    for (auto piece = s.body->next(scratch, ec); !ec && !piece.empty();
         piece = s.body->next(scratch, ec))
        sha.update(piece);
    if (ec) return {};
    s.body->rewind(ec);
    const auto digest = sha.finish();
    return crypto::to_hex(digest);
}

} // namespace s3_detail

namespace s3_detail {

// The region S3 names in a redirect (301, 307) or in a refusal of the region signed for
// (400 AuthorizationHeaderMalformed): where the bucket lives. Empty for any other reply.
inline std::string redirect_region(const http::response& r) {
    if (r.status != 301 && r.status != 307 && r.status != 400) return {};
    return std::string(header(r.headers, "x-amz-bucket-region"));
}

// One attempt of a step: signed for the current target and sent. A reply that names the
// bucket's region is followed once: the target moves there and the step goes again, as part
// of the same attempt.
inline void send(const std::shared_ptr<s3::state>& shared, s3_step& s, core::attempt_context& a,
                 boost::asio::cancellation_slot slot,
                 boost::asio::any_completion_handler<void()> handler) {
    auto& st = *shared;
    a.failure = {};
    const auto fail_now = [&](error_code ec) {
        a.failure.code = ec;
        a.request_sent = false;
        boost::asio::post(st.transport.completion_executor(), std::move(handler));
    };
    if (st.configuration) return fail_now(st.configuration);
    if (s.refused) return fail_now(s.refused);
    // An SSE-C key never crosses the network in the clear (S3 refuses it too, after the fact).
    const auto t = st.now();
    const bool carries_key = std::any_of(s.headers.begin(), s.headers.end(), [](const auto& h) {
        return iequals(h.first, "x-amz-server-side-encryption-customer-key");
    });
    if (carries_key && !t->to.tls) return fail_now(errc::invalid_argument);
    auto x = std::make_shared<exchange>(s.sink);
    auto& req = x->request;
    req.method = s.method;
    req.to = t->to;
    req.body = s.body;
    const std::string path = t->path_of(s.key);
    req.target = path;
    std::vector<auth::name_value> query;
    query.reserve(s.query.size());
    for (std::size_t i = 0; i < s.query.size(); ++i) {
        const auto& [name, value] = s.query[i];
        req.target += i == 0 ? '?' : '&';
        auth::uri_encode(req.target, name, false);
        if (!value.empty()) { // a sub-resource (?delete, ?uploads, ?lifecycle) goes bare
            req.target += '=';
            auth::uri_encode(req.target, value, false);
        }
        query.push_back({name, value});
    }
    // Besides the step's own headers: the checksums mixin's value in S3's form; a multipart
    // upload declares the parts' algorithm when it is created; a whole-object GET asks for the
    // object's checksum to verify it.
    // An aws-chunked body says so, with its decoded length, before the object's own encoding.
    const auto form = payload_form_of(st, t->to.tls, s);
    std::array<std::pair<std::string, std::string>, 6> extra;
    std::size_t extras = 0;
    const auto add = [&](std::string name, std::string value) {
        extra[extras++] = {std::move(name), std::move(value)};
    };
    const std::string_view algorithm = s.checksum.name;
    if (s.what == s3_step::kind::create_upload) {
        if (auto e = s3_detail::checksum_element(algorithm); !e.empty()) {
            add("x-amz-checksum-algorithm", e.substr(8)); // "CRC32C", ...
            if (algorithm == "crc64nvme") add("x-amz-checksum-type", "FULL_OBJECT");
        }
    }
    if (s.what == s3_step::kind::get && s.checksum.verify) add("x-amz-checksum-mode", "ENABLED");
    // Not on a Complete (S3 would take it for the whole object's checksum), nor twice on a
    // step that has its own Content-MD5 (batch delete, lifecycle).
    if (!algorithm.empty() && !s.checksum.value.empty() &&
        s.what != s3_step::kind::complete_upload) {
        std::string name = algorithm == "md5" ? std::string("Content-MD5")
                                              : "x-amz-checksum-" + std::string(algorithm);
        const bool has = std::any_of(s.headers.begin(), s.headers.end(),
                                     [&](const auto& h) { return iequals(h.first, name); });
        if (!has) add(std::move(name), s.checksum.value);
    }
    std::string encoding;
    if (form == payload_form::streamed || form == payload_form::trailer) {
        encoding = "aws-chunked";
        for (const auto& [name, value] : s.headers)
            if (iequals(name, "Content-Encoding")) encoding += "," + value;
        add("Content-Encoding", encoding);
        add("x-amz-decoded-content-length", std::to_string(*s.body->size()));
        if (form == payload_form::trailer)
            add("x-amz-trailer", "x-amz-checksum-" + std::string(algorithm));
    }
    std::vector<auth::name_value> headers;
    headers.reserve(s.headers.size() + extras);
    for (const auto& [name, value] : s.headers) {
        if (!encoding.empty() && iequals(name, "Content-Encoding")) continue;
        req.headers.set(name, value);
        headers.push_back({name, value});
    }
    for (std::size_t i = 0; i < extras; ++i) {
        req.headers.set(extra[i].first, extra[i].second);
        headers.push_back({extra[i].first, extra[i].second});
    }
    error_code ec;
    x->body_hash = payload_hash(form, s, ec);
    if (ec) return fail_now(ec);

    auth::sigv4_request r;
    r.method = s.method;
    r.host = t->host;
    r.path = path;
    r.query = query;
    r.headers = headers;
    r.payload_hash = x->body_hash;
    const auto now = std::chrono::system_clock::now() +
                     std::chrono::seconds(st.clock_offset.load(std::memory_order_relaxed));
    const auto signed_headers = t->signer.sign_headers(r, auth::amz_date::from(now));
    req.headers.set("X-Amz-Date", signed_headers.date.iso());
    if (!signed_headers.session_token.empty())
        req.headers.set("X-Amz-Security-Token", signed_headers.session_token);
    if (!signed_headers.content_sha256.empty())
        req.headers.set("x-amz-content-sha256", signed_headers.content_sha256);
    req.headers.set(boost::beast::http::field::authorization, signed_headers.authorization);
    if (form == payload_form::streamed) {
        x->chunked.emplace(t->signer, signed_headers.date, signed_headers.signature(), *s.body,
                           *s.body->size());
        req.body = &*x->chunked;
    } else if (form == payload_form::trailer) {
        x->chunked.emplace("x-amz-checksum-" + std::string(algorithm),
                           *s.checksum.running.operator->(), trailer_value_size(algorithm), *s.body,
                           *s.body->size());
        req.body = &*x->chunked;
    }
    if (s.what == s3_step::kind::get && s.checksum.verify && s.checksum.running)
        x->sink.feed(s.checksum.running.operator->());
    if (s.method == "HEAD") x->sink.head();
    x->response.sink = &x->sink;
    a.request_sent = true; // unknown once the exchange starts: assume it went out
    a.bytes_sent = s.body != nullptr ? s.body->size().value_or(0) : 0;
    st.transport.async_exchange(
        x->request, x->response,
        boost::asio::bind_cancellation_slot(
            slot, [shared, t, x, &s, &a, slot, h = std::move(handler)](error_code ec) mutable {
                if (!ec && !s.redirected) {
                    const auto region = redirect_region(x->response);
                    if (!region.empty() && region != t->region) {
                        shared->follow(*t, region); // later requests go there in any case
                        error_code rewound;
                        if (s.body == nullptr || s.body->rewind(rewound)) {
                            s.redirected = true;
                            if (s.sink != nullptr) s.sink->reset();
                            return send(shared, s, a, slot, std::move(h));
                        }
                    }
                }
                read_reply(*shared, s, a, *x, ec);
                std::move(h)();
            }));
}

} // namespace s3_detail

CLOUDSTORE_DECL void s3::start(s3_step& s, core::attempt_context& a,
                               boost::asio::cancellation_slot slot,
                               boost::asio::any_completion_handler<void()> handler) {
    s3_detail::send(state_, s, a, slot, std::move(handler));
}

} // namespace cloudstore
