// The scripted server's self-test, driven by a plain synchronous Beast client: what it records of
// each request and what it sends back, keep-alive, concurrent connections, lost replies, and a
// stop that does not hang on open connections.
#include <doctest/doctest.h>

#include "scripted_server.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using cloudstore::test::recorded_request;
using cloudstore::test::scripted_reply;
using cloudstore::test::scripted_server;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

request make_request(http::verb verb, std::string target, std::string body = {}) {
    request req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.body() = std::move(body);
    return req;
}

scripted_reply reply(unsigned status, std::string body,
                     std::vector<std::pair<std::string, std::string>> headers = {}) {
    scripted_reply r;
    r.status = status;
    r.body = std::move(body);
    r.headers = std::move(headers);
    return r;
}

// One keep-alive connection to the server.
struct client {
    asio::io_context ioc;
    tcp::socket socket{ioc};
    beast::flat_buffer buffer;

    explicit client(const scripted_server& server) {
        socket.connect(tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), server.port()));
    }

    response read(bool head = false) {
        http::response_parser<http::string_body> parser;
        parser.skip(head);
        http::read(socket, buffer, parser);
        return parser.release();
    }

    response send(request req) {
        if (!req.chunked()) req.prepare_payload();
        http::write(socket, req);
        return read(req.method() == http::verb::head);
    }
};

} // namespace

TEST_CASE("scripted_server: Content-Length, chunked and 100-continue PUTs and a HEAD on one "
          "connection, recorded and answered as scripted") {
    scripted_server server([](const recorded_request& req) {
        if (req.method == "HEAD")
            return reply(200, "", {{"ETag", "\"abc\""}, {"Content-Length", "12345"}});
        return reply(200, "", {{"ETag", "\"" + req.body + "\""}, {"x-amz-request-id", "r1"}});
    });
    CHECK(server.endpoint() == "http://127.0.0.1:" + std::to_string(server.port()));
    CHECK(server.port() != 0);
    client c(server);

    // PUT with Content-Length.
    auto put = make_request(http::verb::put, "/bucket/k1?x=1", "hello");
    put.set("X-Amz-Meta-Color", "blue");
    auto res = c.send(put);
    CHECK(res.result_int() == 200);
    CHECK(res[http::field::etag] == "\"hello\"");
    CHECK(res["x-amz-request-id"] == "r1");
    CHECK(res[http::field::content_length] == "0");

    // Chunked PUT: the body is recorded decoded.
    auto chunked = make_request(http::verb::put, "/bucket/k2", "chunked body");
    chunked.chunked(true);
    res = c.send(chunked);
    CHECK(res[http::field::etag] == "\"chunked body\"");

    // Expect: 100-continue: the header alone, then "100 Continue", then the body.
    auto expect = make_request(http::verb::put, "/bucket/k3", "after continue");
    expect.set(http::field::expect, "100-continue");
    expect.prepare_payload();
    http::request_serializer<http::string_body> sr(expect);
    http::write_header(c.socket, sr);
    http::response<http::empty_body> cont;
    http::read(c.socket, c.buffer, cont);
    CHECK(cont.result() == http::status::continue_);
    http::write(c.socket, sr);
    res = c.read();
    CHECK(res.result_int() == 200);
    CHECK(res[http::field::etag] == "\"after continue\"");

    // HEAD: the scripted Content-Length and no body; the connection is still in step after it.
    res = c.send(make_request(http::verb::head, "/bucket/k1"));
    CHECK(res.result_int() == 200);
    CHECK(res[http::field::content_length] == "12345");
    CHECK(res[http::field::etag] == "\"abc\"");
    CHECK(res.body().empty());
    res = c.send(make_request(http::verb::get, "/bucket/k4"));
    CHECK(res.result_int() == 200);

    const auto reqs = server.requests();
    REQUIRE(reqs.size() == 5);
    CHECK(reqs[0].method == "PUT");
    CHECK(reqs[0].target == "/bucket/k1?x=1");
    CHECK(reqs[0].body == "hello");
    CHECK(reqs[0].header("content-length") == "5");
    CHECK(reqs[0].header("x-amz-meta-color") == "blue");
    CHECK(reqs[0].header("X-AMZ-META-COLOR") == "blue");
    CHECK(reqs[0].header("x-missing").empty());
    bool name_as_sent = false;
    for (const auto& [name, value] : reqs[0].headers)
        name_as_sent = name_as_sent || (name == "X-Amz-Meta-Color" && value == "blue");
    CHECK(name_as_sent);
    CHECK(reqs[1].body == "chunked body");
    CHECK(reqs[1].header("transfer-encoding") == "chunked");
    CHECK(reqs[2].body == "after continue");
    CHECK(reqs[2].header("expect") == "100-continue");
    CHECK(reqs[3].method == "HEAD");
    CHECK(reqs[3].body.empty());
    CHECK(reqs[4].method == "GET");

    server.clear();
    CHECK(server.requests().empty());
}

TEST_CASE("scripted_server: a dropped reply is the connection ending after the whole request") {
    scripted_reply drop;
    drop.drop = true;
    scripted_server server(scripted_server::queue({reply(204, ""), drop}));
    client c(server);
    CHECK(c.send(make_request(http::verb::delete_, "/bucket/a")).result_int() == 204);

    auto put = make_request(http::verb::put, "/bucket/b", std::string(100000, 'x'));
    put.prepare_payload();
    http::write(c.socket, put);
    http::response_parser<http::string_body> parser;
    boost::system::error_code ec;
    http::read(c.socket, c.buffer, parser, ec);
    CHECK(ec == http::error::end_of_stream);

    const auto reqs = server.requests();
    REQUIRE(reqs.size() == 2);
    CHECK(reqs[1].body.size() == 100000);

    // The script is exhausted: 500 "script exhausted", on a new connection.
    client c2(server);
    const auto res = c2.send(make_request(http::verb::get, "/bucket/c"));
    CHECK(res.result_int() == 500);
    CHECK(res.body() == "script exhausted");
}

TEST_CASE("scripted_server: aws-chunked bodies are recorded as sent, status and headers as "
          "scripted, Connection: close honoured, a throwing handler answers 500") {
    scripted_server server([](const recorded_request& req) -> scripted_reply {
        if (req.target == "/throw") throw std::runtime_error("boom");
        if (req.target == "/close") return reply(503, "<Error/>", {{"Connection", "close"}});
        return reply(200, req.body, {{"Content-Type", "application/xml"}});
    });
    const std::string aws_chunked =
        "5;chunk-signature=abc\r\nhello\r\n0;chunk-signature=def\r\n\r\n";
    client c(server);
    auto put = make_request(http::verb::put, "/bucket/k", aws_chunked);
    put.set(http::field::content_encoding, "aws-chunked");
    put.set("x-amz-decoded-content-length", "5");
    auto res = c.send(put);
    CHECK(res.body() == aws_chunked);
    CHECK(res[http::field::content_type] == "application/xml");
    CHECK(server.requests().at(0).body == aws_chunked);

    res = c.send(make_request(http::verb::get, "/throw"));
    CHECK(res.result_int() == 500);
    CHECK(res.body() == "boom");

    res = c.send(make_request(http::verb::get, "/close"));
    CHECK(res.result_int() == 503);
    CHECK(res.body() == "<Error/>");
    CHECK(!res.keep_alive());
    http::response_parser<http::string_body> parser;
    boost::system::error_code ec;
    http::read(c.socket, c.buffer, parser, ec);
    CHECK(ec == http::error::end_of_stream);
}

TEST_CASE("scripted_server: concurrent connections, and a stop with connections open") {
    auto server = std::make_unique<scripted_server>(
        [](const recorded_request& req) { return reply(200, req.target); });

    std::vector<std::thread> threads;
    std::vector<int> ok(4, 0);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            client c(*server);
            for (int i = 0; i < 10; ++i) {
                const auto target = "/t" + std::to_string(t) + "/" + std::to_string(i);
                if (c.send(make_request(http::verb::get, target)).body() == target) ++ok[t];
            }
        });
    }
    for (auto& t : threads)
        t.join();
    CHECK(ok == std::vector<int>(4, 10));
    CHECK(server->requests().size() == 40);

    // One connection idle, one in the middle of a request header, one in the middle of a body.
    client idle(*server);
    client half_header(*server);
    asio::write(half_header.socket, asio::buffer(std::string("PUT /x HTTP/1.1\r\nHost: a\r\n")));
    client half_body(*server);
    asio::write(half_body.socket,
                asio::buffer(std::string("PUT /x HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc")));
    CHECK(idle.send(make_request(http::verb::get, "/still-served")).body() == "/still-served");
    server.reset();

    for (client* c : {&idle, &half_header, &half_body}) {
        char byte = 0;
        boost::system::error_code ec;
        asio::read(c->socket, asio::buffer(&byte, 1), ec);
        // eof, or a reset for a connection still in the listen queue when the server stopped.
        CHECK((ec == asio::error::eof || ec == asio::error::connection_reset));
    }
}
