// A scripted HTTP/1.1 server on 127.0.0.1 for "known answer" tests of the S3 storage: it records
// every request exactly as it came (method, target, headers in order, body) and answers each one
// with whatever a handler returns, so a test can check the exact requests the client sends and
// feed it exact responses (errors, odd headers, lost replies).
//
// This header includes neither Asio nor Beast: the server is compiled once, in
// scripted_server.cpp, and a test talks to it only over sockets.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cloudstore::test {

/// One request as the server read it.
struct recorded_request {
    std::string method; ///< as sent, e.g. "PUT"
    std::string target; ///< as sent, e.g. "/bucket/key?uploads"
    std::vector<std::pair<std::string, std::string>> headers; ///< in order, names as sent
    /// The body after HTTP's own framing is removed (Content-Length, or chunked transfer-encoding
    /// decoded); nothing else is decoded (an aws-chunked body is kept as sent).
    std::string body;

    /// The value of the first header named `name` (case-insensitive), "" if there is none.
    std::string header(std::string_view name) const;
};

/// The answer to one request.
struct scripted_reply {
    unsigned status = 200;
    /// Sent in order, after the status line. For any method but HEAD, Content-Length is set from
    /// `body` (replacing one given here). For HEAD no body is sent, and Content-Length is the one
    /// given here if any, else the size of `body` (the size a GET would have).
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    /// Read the whole request, then close the connection without sending any response (a lost
    /// reply): the client sees the connection end.
    bool drop = false;
};

/// An HTTP/1.1 server on 127.0.0.1 with a port chosen by the OS, started by the constructor and
/// stopped by the destructor (its connections closed, its thread joined). Connections are kept
/// alive (many requests each) unless the request or the reply's headers say "Connection: close";
/// any number of connections are served at once. Request bodies up to 64 MiB (a larger one, or a
/// malformed request, closes the connection unrecorded); "Expect: 100-continue" is always answered
/// with "100 Continue" before the body is read. Not copyable or movable.
class scripted_server {
public:
    /// Called on the server's thread for each request once the whole request (body included) has
    /// been read and recorded; what it returns is sent. An exception it throws becomes a 500
    /// whose body is the exception's what().
    using handler = std::function<scripted_reply(const recorded_request&)>;

    explicit scripted_server(handler h);
    ~scripted_server();
    scripted_server(const scripted_server&) = delete;
    scripted_server& operator=(const scripted_server&) = delete;

    /// A handler that returns `replies` in order, then 500 with body "script exhausted".
    static handler queue(std::vector<scripted_reply> replies);

    std::uint16_t port() const;
    /// "http://127.0.0.1:PORT"
    std::string endpoint() const;

    /// Every request received so far, in order (thread-safe).
    std::vector<recorded_request> requests() const;
    /// Forgets the requests received so far.
    void clear();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace cloudstore::test
