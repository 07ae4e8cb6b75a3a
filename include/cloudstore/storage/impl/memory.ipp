#pragma once

#include <cloudstore/storage/detail/list_pager.hpp>
#include <cloudstore/storage/detail/verify_download.hpp>
#include <cloudstore/storage/memory.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <mutex>

namespace cloudstore {

struct memory::state {
    struct entry {
        std::shared_ptr<const std::string> data;
        object_info info;
    };
    mutable std::shared_mutex mutex;
    std::map<std::string, entry, std::less<>> objects;
    std::atomic<std::uint64_t> generation{0};
};

namespace memory_detail {

// The whole body of a put, read from its source.
inline error_code read_all(http::body_source& body, std::string& out) {
    if (const auto size = body.size()) out.reserve(static_cast<std::size_t>(*size));
    thread_local std::array<std::byte, 64 * 1024> scratch;
    error_code ec;
    while (true) {
        const auto piece = body.next(scratch, ec);
        if (ec) return ec;
        if (piece.empty()) break;
        out.append(reinterpret_cast<const char*>(piece.data()), piece.size());
    }
    if (const auto size = body.size(); size && *size != out.size()) return errc::invalid_argument;
    return {};
}

} // namespace memory_detail

CLOUDSTORE_DECL memory::memory()
    : state_(std::make_shared<state>()) {}

CLOUDSTORE_DECL std::size_t memory::size() const {
    std::shared_lock lock(state_->mutex);
    return state_->objects.size();
}

CLOUDSTORE_DECL void memory::perform(memory_step& s, core::attempt_context& a) {
    using namespace memory_detail;
    a.failure = {};
    auto& st = *state_;
    switch (s.what) {
    case memory_step::op::put: {
        if ((a.failure.code = storage::detail::refuse_encryption(*s.put))) return;
        auto data = std::make_shared<std::string>();
        if (s.body != nullptr) {
            if (auto ec = read_all(*s.body, *data)) {
                a.failure.code = ec;
                return;
            }
        }
        a.request_sent = true;
        a.bytes_sent = data->size();
        const put_options& o = *s.put;
        auto& slot = s.checksum;
        std::string checksum;
        if (!slot.name.empty() && slot.running) {
            // Checked as S3 checks it: the value sent must be the value of what arrived.
            slot.running->update(std::as_bytes(std::span(*data)));
            checksum = slot.running->finish();
            if (!slot.in_trailer && checksum != slot.value) {
                a.failure.code = errc::checksum_mismatch;
                return;
            }
        }
        object_info info;
        info.key = std::string(s.key);
        info.size = data->size();
        char hex[17];
        const auto gen = ++st.generation;
        info.etag.assign(hex, std::to_chars(hex, hex + 16, gen, 16).ptr);
        info.last_modified = std::chrono::system_clock::now();
        info.content_type = o.content_type.empty() ? "application/octet-stream" : o.content_type;
        info.cache_control = o.cache_control;
        info.content_disposition = o.content_disposition;
        info.content_encoding = o.content_encoding;
        info.metadata = o.metadata;
        if (!checksum.empty()) {
            info.checksum_algorithm = std::string(slot.name);
            info.checksum = std::move(checksum);
        }
        std::unique_lock lock(st.mutex);
        auto it = st.objects.find(s.key);
        if (o.if_none_match && it != st.objects.end()) {
            a.failure.code = errc::precondition_failed;
            return;
        }
        if (!o.if_match.empty()) {
            if (it == st.objects.end()) {
                a.failure.code = errc::not_found;
                return;
            }
            if (it->second.info.etag != storage::detail::unquote_etag(o.if_match)) {
                a.failure.code = errc::precondition_failed;
                return;
            }
        }
        if (s.info != nullptr) *s.info = info;
        if (it == st.objects.end()) {
            std::string key = info.key;
            st.objects.emplace(std::move(key), state::entry{std::move(data), std::move(info)});
        } else
            it->second = state::entry{std::move(data), std::move(info)};
        return;
    }
    case memory_step::op::get:
    case memory_step::op::head: {
        std::shared_ptr<const std::string> data;
        {
            std::shared_lock lock(st.mutex);
            auto it = st.objects.find(s.key);
            if (it == st.objects.end()) {
                a.failure.code = errc::not_found;
                return;
            }
            data = it->second.data;
            if (s.info != nullptr) *s.info = it->second.info;
            if ((a.failure.code = storage::detail::read_conditions(s.get, it->second.info))) return;
        }
        a.request_sent = true;
        if (s.what == memory_step::op::head || s.sink == nullptr) return;
        storage::detail::read_extent extent;
        if ((a.failure.code = storage::detail::resolve_range(s.get, data->size(), extent))) return;
        const auto bytes = std::string_view(*data).substr(static_cast<std::size_t>(extent.offset),
                                                          static_cast<std::size_t>(extent.length));
        error_code ec;
        s.sink->start(200, bytes.size(), ec);
        if (!ec && !bytes.empty())
            s.sink->write({reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()}, ec);
        if (!ec) s.sink->finish(ec);
        a.bytes_received = bytes.size();
        a.failure.code = ec;
        if (!ec && s.info != nullptr)
            a.failure.code = storage::detail::verify_download(
                s.checksum, *s.info, bytes.size() == data->size(), std::as_bytes(std::span(bytes)));
        return;
    }
    case memory_step::op::remove: {
        std::unique_lock lock(st.mutex);
        st.objects.erase(std::string(s.key)); // a missing key is no error, as in S3
        a.request_sent = true;
        return;
    }
    case memory_step::op::list: {
        const std::string after = storage::detail::list_start_after(*s.list);
        std::shared_lock lock(st.mutex);
        auto it =
            after.empty() ? st.objects.lower_bound(s.list->prefix) : st.objects.upper_bound(after);
        storage::detail::fill_list_page(
            it, st.objects.end(), *s.list, *s.page,
            [](auto i) -> std::string_view { return i->first; },
            [](auto i) { return i->second.info; });
        a.request_sent = true;
        return;
    }
    }
}

} // namespace cloudstore
