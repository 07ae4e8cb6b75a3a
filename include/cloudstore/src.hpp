// cloudstore's non-template bodies, for users who prefer separate compilation (the habit of
// Asio's and Beast's src.hpp): define CLOUDSTORE_SEPARATE_COMPILATION in every translation unit
// and include this header in exactly one of them.
#pragma once

#ifndef CLOUDSTORE_SEPARATE_COMPILATION
#error "Define CLOUDSTORE_SEPARATE_COMPILATION in every translation unit to use cloudstore/src.hpp"
#endif

#include <cloudstore/detail/config.hpp>

#include <cloudstore/impl/error.ipp>
#include <cloudstore/impl/object.ipp>

#include <cloudstore/storage/detail/impl/local_key_path.ipp>
#include <cloudstore/storage/impl/local.ipp>
#include <cloudstore/storage/impl/memory.ipp>

#include <cloudstore/auth/impl/aws_chunked.ipp>
#include <cloudstore/auth/impl/signing_key_cache.ipp>
#include <cloudstore/auth/impl/sigv4.ipp>
#include <cloudstore/auth/impl/sigv4_canonical.ipp>

#include <cloudstore/crypto/impl/base64.ipp>
#include <cloudstore/crypto/impl/digest.ipp>
#include <cloudstore/crypto/impl/hex.ipp>
#include <cloudstore/crypto/impl/hmac.ipp>
#include <cloudstore/crypto/impl/openssl.ipp>
#include <cloudstore/crypto/impl/random.ipp>
#include <cloudstore/crypto/impl/rsa.ipp>

// The HTTP transport needs Asio and Beast; CLOUDSTORE_SRC_NO_HTTP leaves it out (a build that
// only signs and checksums).
#include <cloudstore/http/impl/body.ipp>

#ifndef CLOUDSTORE_SRC_NO_HTTP
#include <cloudstore/http/impl/transport.ipp>
#include <cloudstore/storage/impl/s3.ipp>
#endif
