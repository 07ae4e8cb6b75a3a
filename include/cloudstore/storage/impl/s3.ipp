// s3: request building, signing, the exchange and reading S3's replies (XML through pugixml).
#pragma once

#include <cloudstore/crypto/base64.hpp>
#include <cloudstore/crypto/digest.hpp>
#include <cloudstore/crypto/hex.hpp>
#include <cloudstore/http/http_date.hpp>
#include <cloudstore/storage/detail/object_step.hpp>
#include <cloudstore/storage/s3.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/system_executor.hpp>
#include <boost/beast/http/field.hpp>

#include <pugixml.hpp>

#include <array>
#include <atomic>
#include <charconv>
#include <cstdlib>

namespace cloudstore {

namespace s3_detail {

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

inline bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = char(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = char(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

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
    info.content_encoding = std::string(header(f, "Content-Encoding"));
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
                if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
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
// when it is no XML or an <Error> (CopyObject, CompleteMultipartUpload and DeleteObjects can
// fail after their 200 has begun).
inline pugi::xml_node reply_root(const std::string& xml, pugi::xml_document& doc,
                                 storage_failure& f) {
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
    return root;
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
        if (length && *length > limit) ec = errc::too_large;
    }
    void write(std::span<const std::byte> piece, error_code& ec) override {
        received_ += piece.size();
        if (to_target_) return target_->write(piece, ec);
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

    // XML replies (listings of 1,000 keys with long names) stay well under this.
    static constexpr std::size_t limit = 16 * 1024 * 1024;

private:
    http::body_sink* target_;
    std::string& kept_;
    bool to_target_ = false;
    std::uint64_t received_ = 0;
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
};

inline void put_headers(s3_step& s, const put_options& o) {
    auto& h = s.headers;
    h.emplace_back("Content-Type",
                   o.content_type.empty() ? "application/octet-stream" : o.content_type);
    if (!o.cache_control.empty()) h.emplace_back("Cache-Control", o.cache_control);
    if (!o.content_disposition.empty())
        h.emplace_back("Content-Disposition", o.content_disposition);
    if (!o.content_encoding.empty()) h.emplace_back("Content-Encoding", o.content_encoding);
    for (const auto& [name, value] : o.metadata)
        h.emplace_back("x-amz-meta-" + name, value);
}

} // namespace s3_detail

struct s3::state {
    state(s3_options o, boost::asio::any_io_executor ex)
        : options(std::move(o))
        , transport(ex, options.transport)
        , signer(auth::aws_credentials{options.credentials.access_key_id,
                                       options.credentials.secret_access_key,
                                       options.credentials.session_token},
                 options.region, "s3")
        , executor(std::move(ex)) {}

    s3_options options;
    http::transport transport;
    auth::sigv4_signer signer;
    boost::asio::any_io_executor executor;
    http::endpoint to;
    std::string host;         // the Host header
    std::string path_prefix;  // "/bucket" in path style, "" in virtual-hosted style
    error_code configuration; // a bad endpoint or bucket: every step fails with it
    // Seconds to add to this machine's clock, learnt from a RequestTimeTooSkewed reply.
    std::atomic<std::int64_t> clock_offset{0};

    void resolve() {
        const bool aws = options.endpoint.empty();
        std::string url =
            aws ? "https://s3." + options.region + ".amazonaws.com" : options.endpoint;
        to = http::endpoint::parse(url, configuration);
        if (configuration) return;
        if (options.bucket.empty()) configuration = errc::invalid_configuration;
        bool path = options.style == s3_options::addressing::path;
        if (options.style == s3_options::addressing::automatic)
            path = !aws || options.bucket.find('.') != std::string::npos ||
                   s3_detail::is_ip_address(to.host);
        if (path) {
            host = to.host_header();
            path_prefix = "/" + auth::uri_encode(options.bucket, false);
        } else {
            to.host = options.bucket + "." + to.host;
            host = to.host_header();
        }
    }
    std::string path_of(std::string_view key) const {
        std::string p = path_prefix;
        p += '/';
        auth::uri_encode(p, key, true);
        return p;
    }
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
    : s3(std::move(options), boost::asio::system_executor()) {}

CLOUDSTORE_DECL s3::s3(s3_options options, boost::asio::any_io_executor executor)
    : state_(std::make_shared<state>(std::move(options), std::move(executor))) {
    state_->resolve();
}

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

CLOUDSTORE_DECL s3::one_step s3::put_algorithm(std::string_view key, http::body_source* body,
                                               const put_options& options, object_info& out) const {
    one_step a;
    auto& s = a.s;
    s.what = s3_step::kind::put;
    s.method = "PUT";
    s.key = std::string(key);
    s.body = body;
    s.info = &out;
    s3_detail::put_headers(s, options);
    if (options.if_none_match) s.headers.emplace_back("If-None-Match", "*");
    // Unquoted: Ceph RGW compares the header with the bare ETag, and S3 takes either form.
    if (!options.if_match.empty())
        s.headers.emplace_back("If-Match",
                               std::string(storage::detail::unquote_etag(options.if_match)));
    return a;
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
        s.headers.emplace_back("Range", std::move(r));
    }
    if (!options.if_match.empty()) s.headers.emplace_back("If-Match", options.if_match);
    if (!options.if_none_match.empty())
        s.headers.emplace_back("If-None-Match", options.if_none_match);
    return {std::move(a), options.range ? head_algorithm(key, out) : one_step{}};
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
    s.page = &out;
    s.query.emplace_back("list-type", "2");
    s.query.emplace_back("encoding-type", "url");
    s.query.emplace_back("max-keys", std::to_string(options.page_size));
    if (!options.prefix.empty()) s.query.emplace_back("prefix", options.prefix);
    if (!options.delimiter.empty()) s.query.emplace_back("delimiter", options.delimiter);
    if (!options.start_after.empty()) s.query.emplace_back("start-after", options.start_after);
    if (!options.continuation.empty())
        s.query.emplace_back("continuation-token", options.continuation);
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
    s.headers.emplace_back("x-amz-copy-source", std::move(from));
    if (replace != nullptr) {
        s.headers.emplace_back("x-amz-metadata-directive", "REPLACE");
        s3_detail::put_headers(s, *replace);
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
    step_.method = "POST";
    step_.query.emplace_back("delete", "");
    step_.owned_body = std::move(xml);
    const auto md5 = crypto::md5(step_.owned_body);
    step_.headers.emplace_back("Content-MD5", crypto::base64_encode(md5));
    step_.headers.emplace_back("Content-Type", "application/xml");
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
    const auto path = state_->path_of(key);
    auth::sigv4_request r;
    r.method = put ? "PUT" : "GET";
    r.host = state_->host;
    r.path = path;
    const auto now = std::chrono::system_clock::now() +
                     std::chrono::seconds(state_->clock_offset.load(std::memory_order_relaxed));
    return state_->signer.presign(r, auth::amz_date::from(now), expires, ec,
                                  state_->to.tls ? "https" : "http");
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
    return std::string(state_->to.tls ? "https://" : "http://") + state_->host +
           state_->path_of(key);
}

// -- performing a step ----------------------------------------------------------------------

namespace s3_detail {

// The outcome of an exchange, read into the attempt and the step's outputs.
inline void read_reply(s3::state& st, s3_step& s, core::attempt_context& a, exchange& x,
                       error_code ec) {
    a.bytes_received = x.sink.received();
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
        if (s.info != nullptr) read_object_headers(h, status, s.key, *s.info);
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
        if (s.page != nullptr && !parse_list(x.reply, *s.page))
            a.failure.code = errc::malformed_response;
        break;
    case s3_step::kind::remove_many: {
        pugi::xml_document doc;
        const auto root = reply_root(x.reply, doc, a.failure);
        if (!root) return;
        if (std::string_view(root.name()) != "DeleteResult") {
            a.failure.code = errc::malformed_response;
            return;
        }
        // Quiet mode: only the failed keys are listed.
        for (auto e = root.child("Error"); e; e = e.next_sibling("Error")) {
            const std::string key = child_text(e, "Key");
            const auto code = make_s3_error(child_text(e, "Code"), 0);
            for (std::size_t i = 0; i < s.batch.size(); ++i)
                if (s.batch[i] == key && s.results != nullptr)
                    (*s.results)[s.batch_offset + i] = code;
        }
        break;
    }
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

// The payload hash to sign: none to compute for an empty body; UNSIGNED-PAYLOAD over TLS
// (unless configured otherwise) or for a body that cannot be read twice; otherwise the body's
// SHA-256, computed by a pass over it before sending.
inline std::string payload_hash(const s3::state& st, s3_step& s, error_code& ec) {
    if (s.body == nullptr) return std::string(auth::payload::empty_sha256);
    if ((st.to.tls && st.options.unsigned_payload_over_tls) || !s.body->rewindable())
        return std::string(auth::payload::unsigned_payload);
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

CLOUDSTORE_DECL void s3::start(s3_step& s, core::attempt_context& a,
                               boost::asio::cancellation_slot slot,
                               boost::asio::any_completion_handler<void()> handler) {
    auto& st = *state_;
    a.failure = {};
    const auto fail_now = [&](error_code ec) {
        a.failure.code = ec;
        a.request_sent = false;
        boost::asio::post(st.transport.completion_executor(), std::move(handler));
    };
    if (st.configuration) return fail_now(st.configuration);
    auto x = std::make_shared<s3_detail::exchange>(s.sink);
    auto& req = x->request;
    req.method = s.method;
    req.to = st.to;
    req.body = s.body;
    const std::string path = st.path_of(s.key);
    req.target = path;
    std::vector<auth::name_value> query;
    query.reserve(s.query.size());
    for (std::size_t i = 0; i < s.query.size(); ++i) {
        const auto& [name, value] = s.query[i];
        req.target += i == 0 ? '?' : '&';
        auth::uri_encode(req.target, name, false);
        if (!value.empty() || name != "delete") {
            req.target += '=';
            auth::uri_encode(req.target, value, false);
        }
        query.push_back({name, value});
    }
    std::vector<auth::name_value> headers;
    headers.reserve(s.headers.size() + 1);
    for (const auto& [name, value] : s.headers) {
        req.headers.set(name, value);
        headers.push_back({name, value});
    }
    // The checksums mixin's value, in S3's form.
    std::string checksum_header;
    if (!s.checksum.name.empty() && !s.checksum.value.empty()) {
        checksum_header = s.checksum.name == "md5"
                              ? std::string("Content-MD5")
                              : "x-amz-checksum-" + std::string(s.checksum.name);
        req.headers.set(checksum_header, s.checksum.value);
        headers.push_back({checksum_header, s.checksum.value});
    }
    error_code ec;
    x->body_hash = s3_detail::payload_hash(st, s, ec);
    if (ec) return fail_now(ec);

    auth::sigv4_request r;
    r.method = s.method;
    r.host = st.host;
    r.path = path;
    r.query = query;
    r.headers = headers;
    r.payload_hash = x->body_hash;
    const auto now = std::chrono::system_clock::now() +
                     std::chrono::seconds(st.clock_offset.load(std::memory_order_relaxed));
    const auto signed_headers = st.signer.sign_headers(r, auth::amz_date::from(now));
    req.headers.set("X-Amz-Date", signed_headers.date.iso());
    if (!signed_headers.session_token.empty())
        req.headers.set("X-Amz-Security-Token", signed_headers.session_token);
    if (!signed_headers.content_sha256.empty())
        req.headers.set("x-amz-content-sha256", signed_headers.content_sha256);
    req.headers.set(boost::beast::http::field::authorization, signed_headers.authorization);
    x->response.sink = &x->sink;
    a.request_sent = true; // unknown once the exchange starts: assume it went out
    a.bytes_sent = s.body != nullptr ? s.body->size().value_or(0) : 0;
    st.transport.async_exchange(
        x->request, x->response,
        boost::asio::bind_cancellation_slot(
            slot, [state = state_, x, &s, &a, h = std::move(handler)](error_code ec) mutable {
                s3_detail::read_reply(*state, s, a, *x, ec);
                std::move(h)();
            }));
}

} // namespace cloudstore
