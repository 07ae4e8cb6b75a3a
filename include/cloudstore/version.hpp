// cloudstore's version, as a number and as the User-Agent product token.
#pragma once

#define CLOUDSTORE_VERSION_MAJOR 0
#define CLOUDSTORE_VERSION_MINOR 1
#define CLOUDSTORE_VERSION_PATCH 0
#define CLOUDSTORE_VERSION_STRING "0.1.0"

namespace cloudstore {
/// `cloudstore/<version>`, the User-Agent every request carries.
inline constexpr char user_agent[] = "cloudstore/" CLOUDSTORE_VERSION_STRING;
} // namespace cloudstore
