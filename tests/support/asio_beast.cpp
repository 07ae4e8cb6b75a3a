// Asio, Asio SSL and Beast compiled once for every test executable that needs them
// (BOOST_ASIO_SEPARATE_COMPILATION, BOOST_BEAST_SEPARATE_COMPILATION).
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>

// cloudstore's HTTP transport, compiled once beside them.
#include <cloudstore/http/impl/transport.ipp>
#include <cloudstore/storage/impl/s3.ipp>
