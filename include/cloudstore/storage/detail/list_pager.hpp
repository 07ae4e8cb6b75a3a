// One page of a listing over keys in order: prefix, delimiter roll-up into common prefixes,
// start_after, continuation and page size, the same for every store that lists by itself
// (memory, local). Internal.
#pragma once

#include <cloudstore/object.hpp>

#include <algorithm>
#include <string>
#include <string_view>

namespace cloudstore::storage::detail {

/// The key a page starts after (exclusive), or empty to start at the prefix.
inline std::string list_start_after(const list_options& o) {
    std::string after = std::max(o.start_after, o.continuation);
    return after >= o.prefix ? after : std::string();
}

/// Fills `page` from [first, last): entries in key order at or after the start. `key_of(it)`
/// gives an entry's key, `info_of(it)` its object_info (called only for listed objects).
template <class It, class KeyOf, class InfoOf>
void fill_list_page(It first, It last, const list_options& o, list_page& page, KeyOf key_of,
                    InfoOf info_of) {
    page = {};
    const std::size_t limit = std::clamp<std::size_t>(o.page_size, 1, 1000);
    // After a common prefix, the next page skips every key under it.
    const bool skip_rolled =
        !o.continuation.empty() && !o.delimiter.empty() && o.continuation.ends_with(o.delimiter);
    std::size_t count = 0;
    std::string last_listed;
    for (; first != last; ++first) {
        const std::string_view key = key_of(first);
        if (!key.starts_with(o.prefix)) break;
        if (skip_rolled && key.starts_with(o.continuation)) continue;
        std::string_view common;
        if (!o.delimiter.empty()) {
            const auto at = key.find(o.delimiter, o.prefix.size());
            if (at != std::string_view::npos) common = key.substr(0, at + o.delimiter.size());
        }
        if (!common.empty() && !page.common_prefixes.empty() &&
            page.common_prefixes.back() == common)
            continue; // rolled up already
        if (count == limit) {
            page.next_token = last_listed; // there is more
            return;
        }
        ++count;
        if (!common.empty()) {
            page.common_prefixes.emplace_back(common);
            last_listed = page.common_prefixes.back();
        } else {
            page.objects.push_back(info_of(first));
            last_listed = key;
        }
    }
}

} // namespace cloudstore::storage::detail
