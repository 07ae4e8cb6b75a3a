// cloudstore's non-template bodies, compiled once for every test executable.
// The HTTP transport is compiled with Asio and Beast in cloudstore_test_asio.
#define CLOUDSTORE_SRC_NO_HTTP
#include <cloudstore/src.hpp>
