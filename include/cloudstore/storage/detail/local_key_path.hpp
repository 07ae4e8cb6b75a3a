// How `local` storage maps object keys to paths under its root, and back. Pure functions, no
// I/O. Internal.
//
// Every valid key (1..1024 bytes of UTF-8, any bytes but '/' in a segment, NUL included) maps to
// exactly one relative path, and no path can leave the root:
//  - The key splits at '/' into segments; each segment becomes one or more names. Within a
//    name, '%', NUL, control bytes (0x01-0x1F, 0x7F) and a '.' that would begin the name are
//    written %XX (upper-case hex); every other byte is kept, so names stay readable.
//  - Every name ends with a marker that escaping can never produce ('%' then a lower-case
//    letter): `%d` a folder (a segment followed by more key), `%o` the object file (the last
//    segment), `%c` a folder holding the continuation of a segment too long for one name.
//    So `a/b` (a%d/b%o) and `a/b/c` (a%d/b%d/c%o) live side by side, `.`, `..` and empty
//    segments become `%2E%d`, `%2E.%d` and `%d`, and no name is ever `.`, `..` or empty.
//  - An escaped segment goes in pieces of at most `max_piece` bytes (never splitting a %XX),
//    so with its marker and the temporary suffix of an atomic write (`%t` + 16 hex digits) a
//    name stays well under NAME_MAX (255 bytes) on every common file system.
// Files beside an object that are not objects: `<piece>%m` (its metadata) and
// `<piece>%t<hex>` (a write in progress). Listing skips them.
#pragma once

#include <cloudstore/detail/config.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace cloudstore::storage::detail {

/// Longest escaped piece of a segment in one name (bytes).
inline constexpr std::size_t max_piece = 200;

/// What a name in the tree is.
enum class local_name_kind {
    folder,       ///< `%d`: one whole segment, more key below
    continuation, ///< `%c`: part of a long segment, the rest below
    object,       ///< `%o`: an object's content
    metadata,     ///< `%m`: an object's metadata
    temporary,    ///< `%t<hex>`: an atomic write in progress
    foreign,      ///< anything else: not cloudstore's, ignored
};

/// The relative path (names joined by '/') of the object file of `key`. `key` must be valid
/// (see validate_key); an empty key gives an empty path.
CLOUDSTORE_DECL std::string local_object_path(std::string_view key);

/// The key whose object file is at `relative_path` (as local_object_path gives it), or nullopt
/// when the path is not one cloudstore writes.
CLOUDSTORE_DECL std::optional<std::string> local_key_of(std::string_view relative_path);

/// The kind of one name, by its marker.
CLOUDSTORE_DECL local_name_kind local_kind_of(std::string_view name) noexcept;

/// The bytes a name stands for (its piece of a segment, unescaped; the marker removed), or
/// nullopt when the name is not well formed.
CLOUDSTORE_DECL std::optional<std::string> local_unescape_name(std::string_view name);

} // namespace cloudstore::storage::detail

#ifdef CLOUDSTORE_HEADER_ONLY
#include <cloudstore/storage/detail/impl/local_key_path.ipp>
#endif
