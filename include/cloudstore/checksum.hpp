// Everything in checksum/: crc32c, crc32, crc64nvme, sha256, md5 and the checksum_algorithm
// concept. Needs OpenSSL (and ISA-L when the build enables it), never Asio or Beast, and
// compiles with -fno-exceptions.
#pragma once

#include <cloudstore/checksum/checksum_algorithm.hpp>
#include <cloudstore/checksum/crc32.hpp>
#include <cloudstore/checksum/crc32c.hpp>
#include <cloudstore/checksum/crc64nvme.hpp>
#include <cloudstore/checksum/md5.hpp>
#include <cloudstore/checksum/sha256.hpp>
