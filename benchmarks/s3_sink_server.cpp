// benchmarks/s3_sink_server [--threads N]: the Amazon S3 stand-in of `benchmarks/run s3`.
//
// Listens on 127.0.0.1, port 0, prints `PORT <n>` as its first line of stdout and serves
// HTTP/1.1 keep-alive with Beast until SIGINT or SIGTERM. It answers the way S3 does with
// path-style addressing (`/bucket/key`, the key percent-decoded), but keeps no object bytes:
// an object is its size, ETag, Content-Type, x-amz-meta-* headers and modification time, and
// a download is a fixed pattern of that size (byte i of every object is alphabet[i % 64]).
// Signatures are not checked: Authorization, x-amz-date, x-amz-content-sha256 and any other
// header are accepted as they come. Buckets spring into being on the first write into them;
// reading from one that does not exist gives NoSuchBucket, as S3 does.
//
//   GET    /                                  ListBuckets
//   PUT    /b                                 CreateBucket (200, also when it exists)
//   HEAD   /b, DELETE /b                      HeadBucket, DeleteBucket (409 when not empty)
//   GET    /b?list-type=2&...                 ListObjectsV2: prefix, delimiter, max-keys
//                                             (<= 1000), continuation-token, start-after,
//                                             encoding-type=url
//   PUT    /b/k                               PutObject
//   GET    /b/k, HEAD /b/k                    GetObject, HeadObject; `Range: bytes=a-b`,
//                                             `a-` and `-n` give 206, an unsatisfiable one 416
//   DELETE /b/k                               DeleteObject (204, also when missing)
//   POST   /b/k?uploads                       CreateMultipartUpload
//   PUT    /b/k?partNumber=N&uploadId=U       UploadPart
//   POST   /b/k?uploadId=U                    CompleteMultipartUpload: the parts the XML lists
//                                             must have been received, in ascending order
//   DELETE /b/k?uploadId=U                    AbortMultipartUpload
//   GET    /_stats                            {"max_parts_in_flight": n, "requests": n}
//   DELETE /_stats                            both counters back to 0 (204)
//
// max_parts_in_flight is, over all multipart uploads, the most UploadPart requests of one
// upload that were in the server at once (from its header read to its response written);
// requests counts every request but those to /_stats. Sub-resources this server does not
// model (?acl, ?tagging, ?delete, ?versioning, ListParts, CopyObject, ...) get 501
// NotImplemented; unknown query parameters (x-id=..., response-*) are ignored.
//
// Bodies are never held whole. A Content-Length body is read straight from the socket into
// one 1 MiB buffer per thread, up to 1 MiB a read, and dropped; a chunked one goes through
// Beast's parser with a buffer_body over the same buffer. Only CompleteMultipartUpload's XML
// is kept (up to 8 MiB). For an aws-chunked upload the stored size is the request's
// x-amz-decoded-content-length. Downloads are written from one shared, read-only 1 MiB (+64)
// pattern buffer through a buffer_body, so a small response goes out in one write with its
// header.
//
// Threads: one io_context per thread, each with a concurrency hint of 1; the accept loop hands
// connections round-robin to them and a connection stays on its thread. Each connection is one
// C++20 coroutine. The object table sits behind one mutex (uncontended with one thread).
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <exception>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using socket_type = tcp::socket::rebind_executor<asio::io_context::executor_type>::other;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

constexpr std::size_t chunk_size = std::size_t{1} << 20;
constexpr std::size_t read_size = 64 * 1024;
constexpr std::size_t max_xml_body = std::size_t{8} << 20;
constexpr std::uint64_t max_list_keys = 1000;
constexpr std::string_view s3_ns = "http://s3.amazonaws.com/doc/2006-03-01/";
constexpr std::string_view xml_decl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
constexpr std::string_view default_content_type = "binary/octet-stream";
constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static_assert(alphabet.size() == 64 && chunk_size % 64 == 0);

// The source of every download: chunk_size + 64 bytes of the pattern, so that chunk_size bytes
// can be taken from any phase of it. Written once, then only read (by any thread).
const char* pattern() {
    static const std::unique_ptr<char[]> bytes = [] {
        auto b = std::make_unique_for_overwrite<char[]>(chunk_size + alphabet.size());
        for (std::size_t i = 0; i < chunk_size + alphabet.size(); ++i)
            b[i] = alphabet[i % alphabet.size()];
        return b;
    }();
    return bytes.get();
}

// ---- text --------------------------------------------------------------------------------

bool parse_u64(std::string_view s, std::uint64_t& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && end == s.data() + s.size() && !s.empty();
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// %XX decoded; a malformed escape is kept as it is. In a query, '+' is a space.
std::string percent_decode(std::string_view s, bool plus_is_space) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        char const c = s[i];
        if (c == '%' && i + 2 < s.size()) {
            int const hi = hex_value(s[i + 1]);
            int const lo = hex_value(s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
                continue;
            }
        }
        out.push_back(plus_is_space && c == '+' ? ' ' : c);
    }
    return out;
}

void append_hex(std::string& out, std::uint64_t v, bool upper = false) {
    char const* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    for (int shift = 60; shift >= 0; shift -= 4)
        out.push_back(digits[(v >> shift) & 0xf]);
}

void append_u64(std::string& out, std::uint64_t v) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, end);
}

void append_xml(std::string& out, std::string_view s) {
    for (char const c : s) {
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
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                out += "&#";
                append_u64(out, static_cast<unsigned char>(c));
                out += ';';
            } else {
                out.push_back(c);
            }
        }
    }
}

// encoding-type=url: everything but RFC 3986's unreserved characters and '/' as %XX.
void append_url_encoded(std::string& out, std::string_view s) {
    for (char const c : s) {
        auto const u = static_cast<unsigned char>(c);
        if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
            out.push_back(c);
        } else {
            out.push_back('%');
            out.push_back("0123456789ABCDEF"[u >> 4]);
            out.push_back("0123456789ABCDEF"[u & 0xf]);
        }
    }
}

// <Tag>value</Tag>, the value XML-escaped and, when `url` is set, URL-encoded first.
void append_element(std::string& out, std::string_view tag, std::string_view value,
                    bool url = false) {
    out += '<';
    out += tag;
    out += '>';
    if (url) {
        std::string encoded;
        append_url_encoded(encoded, value);
        append_xml(out, encoded);
    } else {
        append_xml(out, value);
    }
    out += "</";
    out += tag;
    out += '>';
}

std::string lowercase(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::uint64_t mix64(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// The times of one second, as HTTP dates (Date, Last-Modified) and as ISO 8601 (listings).
struct timestamps {
    std::string http;
    std::string iso;
};

timestamps format_time(std::time_t t) {
    static constexpr char const* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr char const* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::tm tm{};
    gmtime_r(&t, &tm);
    char http_buf[64];
    char iso_buf[64];
    std::snprintf(http_buf, sizeof http_buf, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                  days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900,
                  tm.tm_hour, tm.tm_min, tm.tm_sec);
    std::snprintf(iso_buf, sizeof iso_buf, "%04d-%02d-%02dT%02d:%02d:%02d.000Z", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return {http_buf, iso_buf};
}

// This second's timestamps, formatted once a second per thread.
timestamps const& now() {
    thread_local std::time_t cached = -1;
    thread_local timestamps text;
    std::time_t const t = std::time(nullptr);
    if (t != cached) {
        cached = t;
        text = format_time(t);
    }
    return text;
}

// The decoded query: a handful of parameters, in order.
struct query {
    std::vector<std::pair<std::string, std::string>> params;

    std::string const* get(std::string_view name) const {
        for (auto const& [k, v] : params)
            if (k == name) return &v;
        return nullptr;
    }
    bool has(std::string_view name) const { return get(name) != nullptr; }
};

query parse_query(std::string_view q) {
    query out;
    while (!q.empty()) {
        auto const amp = q.find('&');
        std::string_view const item = q.substr(0, amp);
        q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
        if (item.empty()) continue;
        auto const eq = item.find('=');
        out.params.emplace_back(percent_decode(item.substr(0, eq), true),
                                eq == std::string_view::npos
                                    ? std::string{}
                                    : percent_decode(item.substr(eq + 1), true));
    }
    return out;
}

// Sub-resources S3 has and this server does not model: a request naming one gets 501.
bool has_unmodelled_subresource(query const& q) {
    static constexpr std::string_view names =
        " acl tagging versioning location policy cors lifecycle website logging notification"
        " replication encryption delete versions torrent restore select retention legal-hold"
        " attributes object-lock accelerate requestPayment ownershipControls publicAccessBlock"
        " inventory metrics analytics intelligent-tiering uploads ";
    for (auto const& [k, v] : q.params)
        if (names.find(" " + k + " ") != std::string_view::npos) return true;
    return false;
}

// ---- the store ---------------------------------------------------------------------------

using meta_list = std::vector<std::pair<std::string, std::string>>;

struct object_info {
    std::uint64_t size = 0;
    std::string etag; // quoted, as in the ETag header
    std::string content_type;
    meta_list meta;
    timestamps modified;
};
using object_ptr = std::shared_ptr<object_info const>;

struct bucket_state {
    std::string created; // ISO 8601
    std::map<std::string, object_ptr, std::less<>> objects;
};

struct upload_state {
    std::string bucket;
    std::string key;
    std::string content_type;
    meta_list meta;
    std::map<std::uint64_t, std::uint64_t> part_sizes; // part number -> size
    unsigned in_flight = 0;
    unsigned max_in_flight = 0;
};

struct store {
    std::mutex mutex;
    std::map<std::string, bucket_state, std::less<>> buckets;
    std::unordered_map<std::string, upload_state> uploads;
    unsigned max_parts_in_flight = 0; // over all uploads; under the mutex
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> ids{0};

    bucket_state& bucket(std::string_view name) { // the mutex held
        auto it = buckets.find(name);
        if (it == buckets.end())
            it = buckets.emplace(std::string(name), bucket_state{now().iso, {}}).first;
        return it->second;
    }
};

store& the_store() {
    static store s;
    return s;
}

// A fresh quoted ETag: 32 hex digits from a counter, unique per write. Deliberately not the MD5
// of the body (the bytes are never kept, and hashing would cost more than the rest of a request).
std::string new_etag(std::string_view suffix = {}) {
    std::uint64_t const n = ++the_store().ids;
    std::string tag = "\"";
    append_hex(tag, mix64(n));
    append_hex(tag, n);
    tag += suffix;
    tag += '"';
    return tag;
}

std::string new_upload_id() {
    std::uint64_t const n = ++the_store().ids;
    std::string id;
    append_hex(id, mix64(n ^ 0x5eed));
    append_hex(id, mix64(n));
    append_hex(id, n);
    return id;
}

// Appends the upload's part numbers in the CompleteMultipartUpload XML; false when one is not
// a number.
bool listed_parts(std::string_view xml, std::vector<std::uint64_t>& parts) {
    constexpr std::string_view open = "<PartNumber>";
    for (auto pos = xml.find(open); pos != std::string_view::npos; pos = xml.find(open, pos)) {
        pos += open.size();
        auto const end = xml.find('<', pos);
        if (end == std::string_view::npos) return false;
        std::string_view value = xml.substr(pos, end - pos);
        while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front())))
            value.remove_prefix(1);
        while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back())))
            value.remove_suffix(1);
        std::uint64_t n = 0;
        if (!parse_u64(value, n)) return false;
        parts.push_back(n);
    }
    return true;
}

// ---- a connection ------------------------------------------------------------------------

enum class operation {
    list_buckets,
    create_bucket,
    head_bucket,
    delete_bucket,
    list_objects,
    put_object,
    get_object,
    head_object,
    delete_object,
    create_upload,
    upload_part,
    complete_upload,
    abort_upload,
    get_stats,
    reset_stats,
    not_implemented,
    method_not_allowed,
    bad_request,
};

struct route {
    operation op = operation::bad_request;
    std::string bucket;
    std::string key;
    query q;
};

route classify(http::request<http::buffer_body> const& req) {
    route r;
    std::string_view const target = req.target();
    auto const qmark = target.find('?');
    std::string_view const path = target.substr(0, qmark);
    if (qmark != std::string_view::npos) r.q = parse_query(target.substr(qmark + 1));
    if (!path.starts_with('/')) return r;
    auto const verb = req.method();

    if (path == "/_stats") {
        r.op = verb == http::verb::get       ? operation::get_stats
               : verb == http::verb::delete_ ? operation::reset_stats
                                             : operation::method_not_allowed;
        return r;
    }
    if (path == "/") {
        r.op = verb == http::verb::get ? operation::list_buckets : operation::method_not_allowed;
        return r;
    }
    std::string_view const rest = path.substr(1);
    auto const slash = rest.find('/');
    r.bucket = percent_decode(rest.substr(0, slash), false);
    if (slash != std::string_view::npos) r.key = percent_decode(rest.substr(slash + 1), false);
    if (r.bucket.empty()) return r;

    bool const other = has_unmodelled_subresource(r.q);
    if (r.key.empty()) {
        switch (verb) {
        case http::verb::get:
            r.op = !other && r.q.get("list-type") && *r.q.get("list-type") == "2"
                       ? operation::list_objects
                       : operation::not_implemented; // ListObjects (v1) and the rest
            break;
        case http::verb::put:
            r.op = other ? operation::not_implemented : operation::create_bucket;
            break;
        case http::verb::head:
            r.op = operation::head_bucket;
            break;
        case http::verb::delete_:
            r.op = other ? operation::not_implemented : operation::delete_bucket;
            break;
        case http::verb::post:
            r.op = operation::not_implemented;
            break;
        default:
            r.op = operation::method_not_allowed;
        }
        return r;
    }

    bool const upload_id = r.q.has("uploadId");
    switch (verb) {
    case http::verb::put:
        if (upload_id && r.q.has("partNumber"))
            r.op = req.count("x-amz-copy-source") ? operation::not_implemented
                                                  : operation::upload_part;
        else if (other || upload_id || req.count("x-amz-copy-source"))
            r.op = operation::not_implemented;
        else
            r.op = operation::put_object;
        break;
    case http::verb::get:
    case http::verb::head:
        if (other || upload_id || r.q.has("partNumber"))
            r.op = operation::not_implemented; // ListParts, GetObject by part, ?acl, ...
        else
            r.op = verb == http::verb::get ? operation::get_object : operation::head_object;
        break;
    case http::verb::delete_:
        r.op = upload_id ? operation::abort_upload
               : other   ? operation::not_implemented
                         : operation::delete_object;
        break;
    case http::verb::post:
        if (r.q.has("uploads") && !upload_id)
            r.op = operation::create_upload;
        else if (upload_id)
            r.op = operation::complete_upload;
        else
            r.op = operation::not_implemented;
        break;
    default:
        r.op = operation::method_not_allowed;
    }
    return r;
}

// Counts an UploadPart in its upload's in-flight parts for as long as it lives.
class part_in_flight {
public:
    part_in_flight() = default;
    part_in_flight(part_in_flight const&) = delete;
    part_in_flight& operator=(part_in_flight const&) = delete;
    ~part_in_flight() { end(); }

    // False when the upload does not exist.
    bool begin(std::string const& upload_id) {
        store& s = the_store();
        std::lock_guard lock(s.mutex);
        auto it = s.uploads.find(upload_id);
        if (it == s.uploads.end()) return false;
        upload_state& u = it->second;
        u.max_in_flight = std::max(u.max_in_flight, ++u.in_flight);
        s.max_parts_in_flight = std::max(s.max_parts_in_flight, u.max_in_flight);
        upload_id_ = upload_id;
        return true;
    }

    void end() {
        if (upload_id_.empty()) return;
        store& s = the_store();
        std::lock_guard lock(s.mutex);
        if (auto it = s.uploads.find(upload_id_); it != s.uploads.end()) --it->second.in_flight;
        upload_id_.clear();
    }

private:
    std::string upload_id_;
};

class session {
public:
    session(socket_type socket, char* sink)
        : socket_(std::move(socket))
        , sink_(sink) {
        buffer_.reserve(read_size);
    }

    asio::awaitable<void> run() {
        for (;;) {
            http::request_parser<http::buffer_body> parser;
            parser.body_limit(boost::none); // uploads of any size
            parser.header_limit(64 * 1024);
            auto [ec, n] = co_await http::async_read_header(socket_, buffer_, parser, use_tuple);
            if (ec) break;
            auto& req = parser.get();
            route r = classify(req);
            head_ = req.method() == http::verb::head;

            part_in_flight part;
            bool upload_found = true;
            if (r.op == operation::upload_part) upload_found = part.begin(*r.q.get("uploadId"));

            if (!parser.is_done() && beast::iequals(req[http::field::expect], "100-continue")) {
                static constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
                auto [wec, w] = co_await asio::async_write(
                    socket_, asio::buffer(continue_line.data(), continue_line.size()), use_tuple);
                if (wec) break;
            }
            std::uint64_t received = 0;
            bool const keep = r.op == operation::complete_upload;
            if (!co_await read_body(parser, keep, received)) break;

            http::response<http::buffer_body> res{http::status::ok, req.version()};
            res.keep_alive(req.keep_alive());
            body_kind kind = body_kind::none;
            std::uint64_t offset = 0;
            std::uint64_t length = 0;
            std::string const request_id = start(res, r.op);
            handle(req, r, upload_found, received, request_id, res, kind, offset, length);

            if (!co_await write(res, kind, offset, length)) break;
            part.end();
            if (!res.keep_alive()) break;
        }
        beast::error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_send, ignored);
        socket_.close(ignored);
    }

private:
    enum class body_kind { none, text, pattern };

    // The body into the sink (or, with `keep`, into xml_), counting its bytes.
    asio::awaitable<bool> read_body(http::request_parser<http::buffer_body>& parser, bool keep,
                                    std::uint64_t& received) {
        xml_.clear();
        received = 0;
        if (parser.is_done()) co_return true;
        if (!parser.chunked() && parser.content_length()) {
            std::uint64_t left = *parser.content_length();
            if (keep && left > max_xml_body) co_return false;
            // What Beast read past the header, then straight from the socket.
            auto const buffered =
                static_cast<std::size_t>(std::min<std::uint64_t>(left, buffer_.size()));
            if (keep) xml_.append(static_cast<char const*>(buffer_.data().data()), buffered);
            buffer_.consume(buffered);
            received = buffered;
            left -= buffered;
            if (keep && left > 0) {
                // Its own buffer: the sink is shared by this thread's connections.
                xml_.resize(buffered + left);
                auto [ec, got] = co_await asio::async_read(
                    socket_, asio::buffer(xml_.data() + buffered, left), use_tuple);
                received += got;
                co_return !ec;
            }
            while (left > 0) {
                auto const want =
                    static_cast<std::size_t>(std::min<std::uint64_t>(left, chunk_size));
                auto [ec, got] =
                    co_await socket_.async_read_some(asio::buffer(sink_, want), use_tuple);
                if (ec) co_return false;
                received += got;
                left -= got;
            }
            co_return true;
        }
        // Chunked: Beast's parser, a buffer at a time.
        while (!parser.is_done()) {
            auto& body = parser.get().body();
            char* into = sink_;
            std::size_t room = chunk_size;
            if (keep) {
                if (xml_.size() > max_xml_body) co_return false;
                room = read_size;
                xml_.resize(received + room);
                into = xml_.data() + received;
            }
            body.data = into;
            body.size = room;
            auto [ec, n] = co_await http::async_read(socket_, buffer_, parser, use_tuple);
            if (ec == http::error::need_buffer) ec = {};
            if (ec) co_return false;
            received += room - parser.get().body().size;
            if (keep) xml_.resize(received);
        }
        co_return true;
    }

    // The headers every response has; returns the request id.
    std::string start(http::response<http::buffer_body>& res, operation op) {
        store& s = the_store();
        std::uint64_t const n = op == operation::get_stats || op == operation::reset_stats
                                    ? s.requests.load(std::memory_order_relaxed)
                                    : s.requests.fetch_add(1, std::memory_order_relaxed) + 1;
        std::string id;
        append_hex(id, n, true);
        res.set(http::field::server, "AmazonS3");
        res.set(http::field::date, now().http);
        res.set("x-amz-request-id", id);
        return id;
    }

    void handle(http::request<http::buffer_body> const& req, route const& r, bool upload_found,
                std::uint64_t received, std::string const& request_id,
                http::response<http::buffer_body>& res, body_kind& kind, std::uint64_t& offset,
                std::uint64_t& length) {
        store& s = the_store();
        out_.clear();
        // Replies with the S3 error document (no body for HEAD).
        auto error = [&](http::status status, std::string_view code, std::string_view message,
                         std::string_view tag = {}, std::string_view value = {}) {
            res.result(status);
            if (head_) return;
            out_ += xml_decl;
            out_ += "<Error>";
            append_element(out_, "Code", code);
            append_element(out_, "Message", message);
            if (!tag.empty()) append_element(out_, tag, value);
            append_element(out_, "RequestId", request_id);
            out_ += "</Error>";
            text(res, kind, "application/xml");
        };
        auto no_bucket = [&] {
            error(http::status::not_found, "NoSuchBucket", "The specified bucket does not exist.",
                  "BucketName", r.bucket);
        };
        auto no_upload = [&] {
            error(http::status::not_found, "NoSuchUpload",
                  "The specified multipart upload does not exist.", "UploadId",
                  *r.q.get("uploadId"));
        };

        switch (r.op) {
        case operation::bad_request:
            return error(http::status::bad_request, "InvalidRequest", "Malformed request target.");
        case operation::method_not_allowed:
            return error(http::status::method_not_allowed, "MethodNotAllowed",
                         "The specified method is not allowed against this resource.");
        case operation::not_implemented:
            return error(http::status::not_implemented, "NotImplemented",
                         "A header or query you provided implies functionality that is not "
                         "implemented.");

        case operation::get_stats: {
            {
                std::lock_guard lock(s.mutex);
                out_ = "{\"max_parts_in_flight\": ";
                append_u64(out_, s.max_parts_in_flight);
            }
            out_ += ", \"requests\": ";
            append_u64(out_, s.requests.load(std::memory_order_relaxed));
            out_ += "}\n";
            return text(res, kind, "application/json");
        }
        case operation::reset_stats: {
            std::lock_guard lock(s.mutex);
            s.max_parts_in_flight = 0;
            for (auto& [id, u] : s.uploads)
                u.max_in_flight = u.in_flight;
            s.requests.store(0, std::memory_order_relaxed);
            res.result(http::status::no_content);
            return;
        }

        case operation::list_buckets: {
            out_ += xml_decl;
            out_ += "<ListAllMyBucketsResult xmlns=\"";
            out_ += s3_ns;
            out_ += "\"><Owner><ID>s3-sink</ID><DisplayName>s3-sink</DisplayName></Owner>"
                    "<Buckets>";
            {
                std::lock_guard lock(s.mutex);
                for (auto const& [name, b] : s.buckets) {
                    out_ += "<Bucket>";
                    append_element(out_, "Name", name);
                    append_element(out_, "CreationDate", b.created);
                    out_ += "</Bucket>";
                }
            }
            out_ += "</Buckets></ListAllMyBucketsResult>";
            return text(res, kind, "application/xml");
        }
        case operation::create_bucket: {
            {
                std::lock_guard lock(s.mutex);
                s.bucket(r.bucket);
            }
            res.set(http::field::location, "/" + r.bucket);
            res.content_length(0);
            return;
        }
        case operation::head_bucket: {
            std::lock_guard lock(s.mutex);
            if (!s.buckets.contains(r.bucket)) return no_bucket();
            res.content_length(0);
            return;
        }
        case operation::delete_bucket: {
            std::lock_guard lock(s.mutex);
            auto it = s.buckets.find(r.bucket);
            if (it == s.buckets.end()) return no_bucket();
            if (!it->second.objects.empty())
                return error(http::status::conflict, "BucketNotEmpty",
                             "The bucket you tried to delete is not empty.", "BucketName",
                             r.bucket);
            s.buckets.erase(it);
            res.result(http::status::no_content);
            return;
        }
        case operation::list_objects:
            return list_objects(r, res, kind, error, no_bucket);

        case operation::put_object: {
            auto obj = std::make_shared<object_info>();
            obj->size = stored_size(req, received);
            obj->etag = new_etag();
            obj->content_type = content_type_of(req);
            obj->meta = meta_of(req);
            obj->modified = now();
            res.set(http::field::etag, obj->etag);
            {
                std::lock_guard lock(s.mutex);
                s.bucket(r.bucket).objects.insert_or_assign(r.key, std::move(obj));
            }
            res.content_length(0);
            return;
        }
        case operation::get_object:
        case operation::head_object: {
            object_ptr obj;
            {
                std::lock_guard lock(s.mutex);
                auto b = s.buckets.find(r.bucket);
                if (b == s.buckets.end()) return no_bucket();
                auto it = b->second.objects.find(r.key);
                if (it != b->second.objects.end()) obj = it->second;
            }
            if (!obj)
                return error(http::status::not_found, "NoSuchKey",
                             "The specified key does not exist.", "Key", r.key);
            std::uint64_t first = 0;
            std::uint64_t last = 0;
            switch (parse_range(req[http::field::range], obj->size, first, last)) {
            case range::unsatisfiable:
                res.set(http::field::content_range, "bytes */" + std::to_string(obj->size));
                return error(http::status::range_not_satisfiable, "InvalidRange",
                             "The requested range is not satisfiable", "RangeRequested",
                             std::string_view(req[http::field::range]));
            case range::partial: {
                res.result(http::status::partial_content);
                std::string cr = "bytes ";
                append_u64(cr, first);
                cr += '-';
                append_u64(cr, last);
                cr += '/';
                append_u64(cr, obj->size);
                res.set(http::field::content_range, cr);
                offset = first;
                length = last - first + 1;
                break;
            }
            case range::whole:
                offset = 0;
                length = obj->size;
                break;
            }
            res.set(http::field::accept_ranges, "bytes");
            res.set(http::field::last_modified, obj->modified.http);
            res.set(http::field::etag, obj->etag);
            res.set(http::field::content_type, obj->content_type);
            for (auto const& [name, value] : obj->meta)
                res.insert(name, value);
            res.content_length(length);
            if (!head_) kind = body_kind::pattern;
            return;
        }
        case operation::delete_object: {
            {
                std::lock_guard lock(s.mutex);
                if (auto b = s.buckets.find(r.bucket); b != s.buckets.end())
                    b->second.objects.erase(r.key);
            }
            res.result(http::status::no_content);
            return;
        }

        case operation::create_upload: {
            upload_state u{r.bucket, r.key, content_type_of(req), meta_of(req), {}, 0, 0};
            std::string const id = new_upload_id();
            {
                std::lock_guard lock(s.mutex);
                s.bucket(r.bucket);
                s.uploads.emplace(id, std::move(u));
            }
            out_ += xml_decl;
            out_ += "<InitiateMultipartUploadResult xmlns=\"";
            out_ += s3_ns;
            out_ += "\">";
            append_element(out_, "Bucket", r.bucket);
            append_element(out_, "Key", r.key);
            append_element(out_, "UploadId", id);
            out_ += "</InitiateMultipartUploadResult>";
            return text(res, kind, "application/xml");
        }
        case operation::upload_part: {
            std::uint64_t number = 0;
            if (!parse_u64(*r.q.get("partNumber"), number) || number < 1 || number > 10000)
                return error(http::status::bad_request, "InvalidArgument",
                             "Part number must be an integer between 1 and 10000, inclusive",
                             "ArgumentName", "partNumber");
            if (!upload_found) return no_upload();
            {
                std::lock_guard lock(s.mutex);
                auto it = s.uploads.find(*r.q.get("uploadId"));
                if (it == s.uploads.end()) return no_upload(); // completed or aborted meanwhile
                it->second.part_sizes[number] = stored_size(req, received);
            }
            res.set(http::field::etag, new_etag());
            res.content_length(0);
            return;
        }
        case operation::complete_upload: {
            std::vector<std::uint64_t> parts;
            if (!listed_parts(xml_, parts) || parts.empty())
                return error(http::status::bad_request, "MalformedXML",
                             "The XML you provided was not well-formed or did not validate "
                             "against our published schema.");
            if (!std::is_sorted(parts.begin(), parts.end()) ||
                std::adjacent_find(parts.begin(), parts.end()) != parts.end())
                return error(http::status::bad_request, "InvalidPartOrder",
                             "The list of parts was not in ascending order. The parts list must "
                             "be specified in order by part number.");
            auto obj = std::make_shared<object_info>();
            {
                std::lock_guard lock(s.mutex);
                auto it = s.uploads.find(*r.q.get("uploadId"));
                if (it == s.uploads.end()) return no_upload();
                upload_state& u = it->second;
                for (std::uint64_t const n : parts) {
                    auto p = u.part_sizes.find(n);
                    if (p == u.part_sizes.end())
                        return error(http::status::bad_request, "InvalidPart",
                                     "One or more of the specified parts could not be found. The "
                                     "part may not have been uploaded.");
                    obj->size += p->second;
                }
                obj->etag = new_etag("-" + std::to_string(parts.size()));
                obj->content_type = std::move(u.content_type);
                obj->meta = std::move(u.meta);
                obj->modified = now();
                out_ += xml_decl;
                out_ += "<CompleteMultipartUploadResult xmlns=\"";
                out_ += s3_ns;
                out_ += "\">";
                std::string const host(req[http::field::host]);
                append_element(out_, "Location", "http://" + host + "/" + r.bucket + "/" + r.key);
                append_element(out_, "Bucket", r.bucket);
                append_element(out_, "Key", r.key);
                append_element(out_, "ETag", obj->etag);
                out_ += "</CompleteMultipartUploadResult>";
                s.bucket(r.bucket).objects.insert_or_assign(r.key, std::move(obj));
                s.uploads.erase(it);
            }
            return text(res, kind, "application/xml");
        }
        case operation::abort_upload: {
            {
                std::lock_guard lock(s.mutex);
                if (s.uploads.erase(*r.q.get("uploadId")) == 0) return no_upload();
            }
            res.result(http::status::no_content);
            return;
        }
        }
    }

    template <class Error, class NoBucket>
    void list_objects(route const& r, http::response<http::buffer_body>& res, body_kind& kind,
                      Error& error, NoBucket& no_bucket) {
        static std::string const empty;
        auto param = [&](std::string_view name) -> std::string const& {
            auto const* v = r.q.get(name);
            return v ? *v : empty;
        };
        std::string const& prefix = param("prefix");
        std::string const& delimiter = param("delimiter");
        std::string const& start_after = param("start-after");
        std::string const& token = param("continuation-token");
        bool const url = param("encoding-type") == "url";
        if (!param("encoding-type").empty() && !url)
            return error(http::status::bad_request, "InvalidArgument", "Invalid Encoding Method",
                         "ArgumentName", "encoding-type");
        std::uint64_t max_keys = max_list_keys;
        if (r.q.has("max-keys") && !parse_u64(param("max-keys"), max_keys))
            return error(http::status::bad_request, "InvalidArgument",
                         "Provided max-keys not an integer or within integer range", "ArgumentName",
                         "max-keys");
        max_keys = std::min(max_keys, max_list_keys);
        // The continuation token is the hex of the last key or common prefix returned.
        std::string resume;
        if (!token.empty()) {
            bool ok = token.size() % 2 == 0;
            for (std::size_t i = 0; ok && i < token.size(); i += 2) {
                int const hi = hex_value(token[i]);
                int const lo = hex_value(token[i + 1]);
                ok = hi >= 0 && lo >= 0;
                resume.push_back(static_cast<char>(hi * 16 + lo));
            }
            if (!ok)
                return error(http::status::bad_request, "InvalidArgument",
                             "The continuation token provided is incorrect", "ArgumentName",
                             "continuation-token");
        }
        std::string_view const marker = std::max<std::string_view>(resume, start_after);

        contents_.clear();
        prefixes_.clear();
        std::uint64_t count = 0;
        bool truncated = false;
        std::string last; // the last key or common prefix listed
        store& s = the_store();
        {
            std::lock_guard lock(s.mutex);
            auto b = s.buckets.find(r.bucket);
            if (b == s.buckets.end()) return no_bucket();
            auto const& objects = b->second.objects;
            // Past every key that starts with p.
            auto past_prefix = [&](std::string p) {
                while (!p.empty() && static_cast<unsigned char>(p.back()) == 0xff)
                    p.pop_back();
                if (p.empty()) return objects.end();
                p.back() = static_cast<char>(static_cast<unsigned char>(p.back()) + 1);
                return objects.lower_bound(p);
            };
            auto it = marker.empty() || marker < std::string_view(prefix)
                          ? objects.lower_bound(prefix)
                          : objects.upper_bound(marker);
            std::string last_prefix(delimiter.empty() ? std::string_view{}
                                                      : std::string_view(resume));
            while (max_keys > 0 && it != objects.end() && it->first.starts_with(prefix)) {
                std::string const& key = it->first;
                if (!delimiter.empty()) {
                    auto const d = key.find(delimiter, prefix.size());
                    if (d != std::string::npos) {
                        std::string_view const common(key.data(), d + delimiter.size());
                        if (common == last_prefix) {
                            it = past_prefix(std::string(common));
                            continue;
                        }
                        if (count == max_keys) {
                            truncated = true;
                            break;
                        }
                        prefixes_ += "<CommonPrefixes>";
                        append_element(prefixes_, "Prefix", common, url);
                        prefixes_ += "</CommonPrefixes>";
                        last_prefix = common;
                        last = common;
                        ++count;
                        it = past_prefix(last_prefix);
                        continue;
                    }
                }
                if (count == max_keys) {
                    truncated = true;
                    break;
                }
                object_info const& o = *it->second;
                contents_ += "<Contents>";
                append_element(contents_, "Key", key, url);
                append_element(contents_, "LastModified", o.modified.iso);
                append_element(contents_, "ETag", o.etag);
                contents_ += "<Size>";
                append_u64(contents_, o.size);
                contents_ += "</Size><StorageClass>STANDARD</StorageClass></Contents>";
                last = key;
                ++count;
                ++it;
            }
        }
        out_ += xml_decl;
        out_ += "<ListBucketResult xmlns=\"";
        out_ += s3_ns;
        out_ += "\">";
        append_element(out_, "Name", r.bucket);
        append_element(out_, "Prefix", prefix, url);
        if (!delimiter.empty()) append_element(out_, "Delimiter", delimiter, url);
        if (!start_after.empty()) append_element(out_, "StartAfter", start_after, url);
        if (r.q.has("continuation-token")) append_element(out_, "ContinuationToken", token);
        out_ += "<KeyCount>";
        append_u64(out_, count);
        out_ += "</KeyCount><MaxKeys>";
        append_u64(out_, max_keys);
        out_ += "</MaxKeys>";
        if (url) out_ += "<EncodingType>url</EncodingType>";
        out_ += truncated ? "<IsTruncated>true</IsTruncated>" : "<IsTruncated>false</IsTruncated>";
        if (truncated) {
            std::string next;
            for (char const c : last) {
                auto const u = static_cast<unsigned char>(c);
                next.push_back("0123456789abcdef"[u >> 4]);
                next.push_back("0123456789abcdef"[u & 0xf]);
            }
            append_element(out_, "NextContinuationToken", next);
        }
        out_ += contents_;
        out_ += prefixes_;
        out_ += "</ListBucketResult>";
        text(res, kind, "application/xml");
    }

    enum class range { whole, partial, unsatisfiable };

    // `bytes=a-b`, `bytes=a-` or `bytes=-n`; anything else (several ranges, other units, bad
    // syntax) is ignored and the whole object served, as RFC 9110 allows.
    static range parse_range(std::string_view h, std::uint64_t size, std::uint64_t& first,
                             std::uint64_t& last) {
        if (!h.starts_with("bytes=")) return range::whole;
        std::string_view const spec = h.substr(6);
        auto const dash = spec.find('-');
        if (dash == std::string_view::npos || spec.find(',') != std::string_view::npos)
            return range::whole;
        std::string_view const a = spec.substr(0, dash);
        std::string_view const b = spec.substr(dash + 1);
        std::uint64_t x = 0;
        std::uint64_t y = 0;
        if (a.empty()) {
            if (!parse_u64(b, y)) return range::whole;
            if (y == 0 || size == 0) return range::unsatisfiable;
            first = size > y ? size - y : 0;
            last = size - 1;
            return range::partial;
        }
        if (!parse_u64(a, x)) return range::whole;
        if (!b.empty() && (!parse_u64(b, y) || y < x)) return range::whole;
        if (x >= size) return range::unsatisfiable;
        first = x;
        last = b.empty() ? size - 1 : std::min(y, size - 1);
        return range::partial;
    }

    static std::uint64_t stored_size(http::request<http::buffer_body> const& req,
                                     std::uint64_t received) {
        std::uint64_t decoded = 0;
        if (parse_u64(req["x-amz-decoded-content-length"], decoded)) return decoded;
        return received;
    }

    static std::string content_type_of(http::request<http::buffer_body> const& req) {
        std::string_view const v = req[http::field::content_type];
        return std::string(v.empty() ? default_content_type : v);
    }

    static meta_list meta_of(http::request<http::buffer_body> const& req) {
        constexpr std::string_view meta_prefix = "x-amz-meta-";
        meta_list meta;
        for (auto const& f : req) {
            std::string_view const name = f.name_string();
            if (name.size() > meta_prefix.size() &&
                beast::iequals(name.substr(0, meta_prefix.size()), meta_prefix))
                meta.emplace_back(lowercase(name), std::string(std::string_view(f.value())));
        }
        return meta;
    }

    void text(http::response<http::buffer_body>& res, body_kind& kind,
              std::string_view content_type) {
        res.set(http::field::content_type, content_type);
        res.content_length(out_.size());
        if (!head_) kind = body_kind::text;
    }

    // The response; a pattern body a chunk at a time from the shared buffer. Responses without
    // a body carry Content-Length: 0 (204s none) as set by handle().
    asio::awaitable<bool> write(http::response<http::buffer_body>& res, body_kind kind,
                                std::uint64_t offset, std::uint64_t length) {
        auto& body = res.body();
        body.data = nullptr;
        body.size = 0;
        body.more = false;
        if (kind == body_kind::text && !out_.empty()) {
            body.data = out_.data();
            body.size = out_.size();
        }
        std::uint64_t left = kind == body_kind::pattern ? length : 0;
        std::size_t phase = static_cast<std::size_t>(offset % alphabet.size());
        auto next_chunk = [&] {
            auto const n = static_cast<std::size_t>(std::min<std::uint64_t>(left, chunk_size));
            // The serializer only reads from it.
            body.data = n ? const_cast<char*>(pattern() + phase) : nullptr;
            body.size = n;
            left -= n;
            phase = (phase + n) % alphabet.size();
            body.more = left > 0;
        };
        if (kind == body_kind::pattern) next_chunk();
        http::response_serializer<http::buffer_body> sr{res};
        for (;;) {
            auto [ec, n] = co_await http::async_write(socket_, sr, use_tuple);
            if (ec == http::error::need_buffer) {
                next_chunk();
                continue;
            }
            co_return !ec;
        }
    }

    socket_type socket_;
    char* sink_;
    beast::flat_buffer buffer_;
    bool head_ = false;
    std::string xml_;      // a CompleteMultipartUpload body
    std::string out_;      // a response body
    std::string contents_; // a listing's <Contents>
    std::string prefixes_; // a listing's <CommonPrefixes>
};

asio::awaitable<void> serve(socket_type socket, char* sink) {
    session s(std::move(socket), sink);
    co_await s.run();
}

void report(std::exception_ptr e) {
    if (!e) return;
    try {
        std::rethrow_exception(e);
    } catch (std::exception const& x) {
        std::cerr << "s3_sink_server: " << x.what() << "\n";
    }
}

// One thread: its io_context and the 1 MiB buffer its connections drop uploads into. Several
// reads may land in it at once; nothing ever reads it.
struct worker {
    asio::io_context ioc{1};
    std::unique_ptr<char[]> sink = std::make_unique_for_overwrite<char[]>(chunk_size);
};

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor,
                                  std::vector<std::unique_ptr<worker>>& workers) {
    std::size_t next = 0;
    for (;;) {
        worker& w = *workers[next];
        next = (next + 1) % workers.size();
        auto [ec, socket] = co_await acceptor.async_accept(w.ioc, use_tuple);
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
        if (ec) continue;
        socket.set_option(tcp::no_delay(true), ec);
        asio::co_spawn(w.ioc, serve(std::move(socket), w.sink.get()), report);
    }
}

int usage() {
    std::cerr << "usage: s3_sink_server [--threads N]\n";
    return 2;
}

} // namespace

int main(int argc, char** argv) {
    std::uint64_t threads = 1;
    for (int i = 1; i < argc; ++i) {
        std::string_view const arg = argv[i];
        if (arg == "--threads" && i + 1 < argc && parse_u64(argv[i + 1], threads) && threads >= 1 &&
            threads <= 256)
            ++i;
        else
            return usage();
    }
    try {
        pattern();
        std::vector<std::unique_ptr<worker>> workers;
        for (std::uint64_t i = 0; i < threads; ++i)
            workers.push_back(std::make_unique<worker>());
        std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
        for (auto& w : workers)
            guards.push_back(asio::make_work_guard(w->ioc));

        asio::io_context& main_ioc = workers.front()->ioc;
        tcp::acceptor acceptor(main_ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        asio::signal_set signals(main_ioc, SIGINT, SIGTERM);
        signals.async_wait([&](beast::error_code ec, int) {
            if (ec) return;
            beast::error_code ignored;
            acceptor.close(ignored);
            for (auto& w : workers)
                w->ioc.stop();
        });
        asio::co_spawn(main_ioc, accept_loop(acceptor, workers), report);
        std::cout << "PORT " << acceptor.local_endpoint().port() << std::endl;

        std::vector<std::thread> pool;
        for (std::size_t i = 1; i < workers.size(); ++i)
            pool.emplace_back([&w = *workers[i]] { w.ioc.run(); });
        main_ioc.run();
        for (auto& t : pool)
            t.join();
        return 0;
    } catch (std::exception const& e) {
        std::cerr << "s3_sink_server: " << e.what() << "\n";
        return 1;
    }
}
