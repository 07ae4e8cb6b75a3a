// Everything in auth/ for AWS: SigV4 header and query signing, the signing-key cache and
// aws-chunked framing. Needs OpenSSL only (no Asio, no Beast).
#pragma once

#include <cloudstore/auth/amz_date.hpp>
#include <cloudstore/auth/aws_chunked.hpp>
#include <cloudstore/auth/signing_key_cache.hpp>
#include <cloudstore/auth/sigv4.hpp>
#include <cloudstore/auth/sigv4_canonical.hpp>
