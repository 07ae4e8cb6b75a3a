// The download check of the stores that keep their own checksums (memory, local). Internal.
#pragma once

#include <cloudstore/core/operation.hpp>
#include <cloudstore/object.hpp>

namespace cloudstore::storage::detail {

/// checksum_mismatch when the slot asks for verification, the read was the whole object, the
/// store kept a checksum of the slot's algorithm, and `bytes` (all of the object) differ
/// from it. Stores that stream call it with the last piece after feeding the others.
inline error_code verify_download(core::checksum_slot& slot, const object_info& info,
                                  bool whole_object, std::span<const std::byte> bytes) {
    if (!slot.verify || !slot.running || !whole_object || info.checksum.empty() ||
        info.checksum_algorithm != slot.name)
        return {};
    slot.running->update(bytes);
    return slot.running->finish() == info.checksum ? error_code{}
                                                   : error_code(errc::checksum_mismatch);
}

} // namespace cloudstore::storage::detail
