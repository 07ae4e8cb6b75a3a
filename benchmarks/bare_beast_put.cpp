// benchmarks/bare_beast_put HOST PORT TARGET BODY: one HTTPS PUT with plain Beast, no signing.
//
// The yardstick of `benchmarks/run s3` for binary size and compile time: the minimal program a
// user would write with Beast and OpenSSL (synchronous calls, the peer verified against the
// system's default CA paths, SNI and host name checked). Prints the status code; exits 0 on 2xx.
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <openssl/ssl.h>

#include <exception>
#include <iostream>
#include <string>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;

int main(int argc, char** argv) {
    if (argc != 5) {
        std::cerr << "usage: bare_beast_put HOST PORT TARGET BODY\n";
        return 2;
    }
    std::string const host = argv[1];
    std::string const port = argv[2];
    try {
        asio::io_context ioc;
        ssl::context ctx{ssl::context::tls_client};
        ctx.set_default_verify_paths();
        ctx.set_verify_mode(ssl::verify_peer);

        ssl::stream<beast::tcp_stream> stream{ioc, ctx};
        if (!SSL_set_tlsext_host_name(stream.native_handle(), host.c_str()))
            throw beast::system_error(static_cast<int>(ERR_get_error()),
                                      asio::error::get_ssl_category());
        stream.set_verify_callback(ssl::host_name_verification(host));

        asio::ip::tcp::resolver resolver{ioc};
        beast::get_lowest_layer(stream).connect(resolver.resolve(host, port));
        stream.handshake(ssl::stream_base::client);

        http::request<http::string_body> req{http::verb::put, argv[3], 11};
        req.set(http::field::host, port == "443" ? host : host + ":" + port);
        req.body() = argv[4];
        req.prepare_payload(); // Content-Length
        http::write(stream, req);

        beast::flat_buffer buffer;
        http::response<http::string_body> res;
        http::read(stream, buffer, res);
        std::cout << res.result_int() << "\n";

        beast::error_code ec;
        stream.shutdown(ec); // many servers just close: not an error here
        return res.result_int() / 100 == 2 ? 0 : 1;
    } catch (std::exception const& e) {
        std::cerr << "bare_beast_put: " << e.what() << "\n";
        return 1;
    }
}
