// Everything in crypto/: digests, HMAC, RSA signing, random bytes, hex and base64. Needs
// OpenSSL only (no Asio, no Beast) and compiles with -fno-exceptions.
#pragma once

#include <cloudstore/crypto/base64.hpp>
#include <cloudstore/crypto/bytes.hpp>
#include <cloudstore/crypto/digest.hpp>
#include <cloudstore/crypto/hex.hpp>
#include <cloudstore/crypto/hmac.hpp>
#include <cloudstore/crypto/random.hpp>
#include <cloudstore/crypto/rsa.hpp>
