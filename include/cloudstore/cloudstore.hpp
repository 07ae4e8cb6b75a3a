// cloudstore: everything in one include.
#pragma once

#include <cloudstore/auth.hpp>
#include <cloudstore/checksum.hpp>
#include <cloudstore/crypto.hpp>
#include <cloudstore/error.hpp>
#include <cloudstore/object.hpp>
#include <cloudstore/version.hpp>
