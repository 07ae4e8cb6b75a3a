// The storage conformance suite: one set of cases, run against every storage through
// client<Storage>. Each storage is a row: a factory and its table of capabilities. Each case
// counts itself per (store, operation); the last case fails if any row ran none of an
// operation's cases. A test area includes this after defining its rows and
// CONFORMANCE_ROWS (tests/client: memory and local; tests/s3: s3 against Ceph RGW).
#pragma once

#include <cloudstore/client.hpp>

#include <doctest/doctest.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace cloudstore;
using namespace std::string_literals;

namespace {

// (store, operation) -> cases run.
std::map<std::pair<std::string, std::string>, int>& tally() {
    static std::map<std::pair<std::string, std::string>, int> t;
    return t;
}
void count(std::string_view store, std::string_view operation) {
    ++tally()[{std::string(store), std::string(operation)}];
}
const std::vector<std::string> operations = {"put",    "get",  "head", "exists",
                                             "delete", "list", "async"};

/// A read of `r` (get_options is an aggregate that grows: no brace lists in tests).
inline cloudstore::get_options ranged(cloudstore::byte_range r) {
    cloudstore::get_options o;
    o.range = r;
    return o;
}

// What a store gives back of with_metadata()'s names: Ceph RGW turns '_' into '-' in
// metadata names (AWS S3 keeps them), so its row says so.
template <class Row>
metadata_map expected_metadata(const metadata_map& sent) {
    if constexpr (Row::keeps_metadata_underscores) {
        return sent;
    } else {
        metadata_map out;
        for (const auto& [sent_name, value] : sent) {
            std::string name = sent_name;
            for (auto& ch : name)
                if (ch == '_') ch = '-';
            out[name] = value;
        }
        return out;
    }
}

put_options with_metadata() {
    put_options o;
    o.content_type = "audio/wav";
    o.cache_control = "max-age=60";
    o.content_disposition = "attachment; filename=\"a.wav\"";
    o.metadata = {{"user_id", "42"}, {"original_filename", "a b.wav"}};
    return o;
}

} // namespace

TEST_CASE_TEMPLATE("conformance: put, get and head round trip, with metadata", Row,
                   CONFORMANCE_ROWS) {
    client<typename Row::storage> c(Row::make());
    error_code ec;
    const std::string body = "RIFF....WAVEfmt ";
    auto info = c.put("audio/1.wav", body, with_metadata(), ec);
    count(Row::name, "put");
    REQUIRE_FALSE(ec);
    CHECK(info.size == body.size());
    CHECK_FALSE(info.etag.empty());
    CHECK(c.get("audio/1.wav", {}, ec) == body);
    CHECK_FALSE(ec);
    count(Row::name, "get");
    auto head = c.head("audio/1.wav", ec);
    count(Row::name, "head");
    CHECK_FALSE(ec);
    CHECK(head.size == body.size());
    CHECK(head.etag == info.etag);
    CHECK(head.content_type == "audio/wav");
    CHECK(head.cache_control == "max-age=60");
    CHECK(head.content_disposition == "attachment; filename=\"a.wav\"");
    CHECK(head.metadata == expected_metadata<Row>(with_metadata().metadata));
    CHECK(c.exists("audio/1.wav", ec));
    count(Row::name, "exists");
    // A second put replaces the object and its ETag.
    auto second = c.put("audio/1.wav", "other"s, put_options{}, ec);
    CHECK_FALSE(ec);
    CHECK(second.etag != info.etag);
    CHECK(c.get("audio/1.wav") == "other");
    CHECK(c.head("audio/1.wav").content_type == "application/octet-stream");
}

TEST_CASE_TEMPLATE("conformance: empty objects and ranges", Row, CONFORMANCE_ROWS) {
    client<typename Row::storage> c(Row::make());
    error_code ec;
    c.put("empty", ""s, put_options{}, ec);
    REQUIRE_FALSE(ec);
    count(Row::name, "put");
    CHECK(c.get("empty", {}, ec).empty());
    CHECK_FALSE(ec);
    CHECK(c.head("empty").size == 0);
    // Any range of an empty object is empty.
    CHECK(c.get("empty", ranged(byte_range{0, 10}), ec).empty());
    CHECK_FALSE(ec);
    CHECK(c.get("empty", ranged(byte_range{5, std::nullopt}), ec).empty());
    CHECK_FALSE(ec);

    c.put("digits", "0123456789"s);
    CHECK(c.get("digits", ranged(byte_range{2, 3})) == "234");
    CHECK(c.get("digits", ranged(byte_range{7, std::nullopt})) == "789");
    CHECK(c.get("digits", ranged(byte_range{8, 100})) == "89");
    // A zero-length range is empty, even on a missing object: no request is made.
    CHECK(c.get("digits", ranged(byte_range{3, 0}), ec).empty());
    CHECK_FALSE(ec);
    CHECK(c.get("missing", ranged(byte_range{3, 0}), ec).empty());
    CHECK_FALSE(ec);
    c.get("digits", ranged(byte_range{10, 1}), ec);
    CHECK(ec == condition::range_not_satisfiable);
    count(Row::name, "get");
}

TEST_CASE_TEMPLATE("conformance: keys at the edges, and invalid keys", Row, CONFORMANCE_ROWS) {
    client<typename Row::storage> c(Row::make());
    error_code ec;
    for (const std::string& key :
         {std::string(1024, 'k'), "caf\xc3\xa9/\xf0\x9f\x8e\xb5 song.wav"s, "../../etc/passwd"s,
          "./a"s, "a/b"s, "a/b/c"s, "a//b/"s, "nul\0inside"s, "100%"s, "/leading"s}) {
        INFO(key);
        c.put(key, "v:" + key, put_options{}, ec);
        if (!Row::nul_in_keys && key.find('\0') != std::string::npos) {
            // A valid key the server refuses (Ceph RGW answers 400): a clear error.
            CHECK(ec == condition::invalid_argument);
            continue;
        }
        CHECK_FALSE(ec);
        CHECK(c.get(key, {}, ec) == "v:" + key);
        CHECK_FALSE(ec);
        count(Row::name, "put");
    }
    // a/b and a/b/c both stand.
    CHECK(c.get("a/b") == "v:a/b");
    CHECK(c.get("a/b/c") == "v:a/b/c");
    for (const std::string& key : {""s, std::string(1025, 'k'), "\xc0\xaf"s, "\xed\xa0\x80"s}) {
        c.put(key, "x"s, put_options{}, ec);
        CHECK(ec == condition::invalid_argument);
        c.get(key, {}, ec);
        CHECK(ec == condition::invalid_argument);
        c.head(key, ec);
        CHECK(ec == condition::invalid_argument);
        c.remove(key, ec);
        CHECK(ec == condition::invalid_argument);
        count(Row::name, "get");
    }
}

TEST_CASE_TEMPLATE("conformance: a missing object", Row, CONFORMANCE_ROWS) {
    client<typename Row::storage> c(Row::make());
    error_code ec;
    storage_failure detail;
    c.get("nope", {}, ec, {std::chrono::milliseconds(0), &detail});
    CHECK(ec == condition::not_found);
    CHECK(detail.code == condition::not_found);
    c.head("nope", ec);
    CHECK(ec == condition::not_found);
    CHECK_FALSE(c.exists("nope", ec));
    CHECK_FALSE(ec);
    c.remove("nope", ec);
    CHECK_FALSE(ec); // deleting a missing key succeeds
    CHECK_THROWS_AS(c.get("nope"), not_found_error);
    count(Row::name, "get");
    count(Row::name, "head");
    count(Row::name, "exists");
    count(Row::name, "delete");

    c.put("here", "x"s);
    c.remove("here", ec);
    CHECK_FALSE(ec);
    CHECK_FALSE(c.exists("here", ec));
}

TEST_CASE_TEMPLATE("conformance: conditional reads and writes", Row, CONFORMANCE_ROWS) {
    client<typename Row::storage> c(Row::make());
    error_code ec;
    const auto first = c.put("k", "1"s);
    put_options create_only;
    create_only.if_none_match = true;
    c.put("k", "2"s, create_only, ec);
    CHECK(ec == condition::precondition_failed);
    c.put("new", "2"s, create_only, ec);
    CHECK_FALSE(ec);
    put_options replace;
    replace.if_match = "\"" + first.etag + "\"";
    c.put("k", "3"s, replace, ec);
    CHECK_FALSE(ec);
    c.put("k", "4"s, replace, ec); // the ETag moved on
    CHECK(ec == condition::precondition_failed);
    c.put("absent", "4"s, replace, ec);
    CHECK(ec == Row::if_match_on_missing);
    count(Row::name, "put");

    const auto now = c.head("k");
    get_options match;
    match.if_match = now.etag;
    CHECK(c.get("k", match) == "3");
    match.if_match = first.etag;
    c.get("k", match, ec);
    CHECK(ec == condition::precondition_failed);
    get_options none_match;
    none_match.if_none_match = now.etag;
    c.get("k", none_match, ec);
    CHECK(ec == condition::not_modified);
    count(Row::name, "get");
}

TEST_CASE_TEMPLATE("conformance: a listing of 2,500 keys across pages", Row, CONFORMANCE_ROWS) {
    client<typename Row::storage> c(Row::make());
    std::set<std::string> expected;
    for (int i = 0; i < 2500; ++i) {
        const std::string key = "list/" + std::to_string(i % 5) + "/" + std::to_string(i);
        c.put(key, "x"s);
        expected.insert(key);
    }
    c.put("other/key", "x"s);
    c.put("list/top", "x"s);
    expected.insert("list/top");
    count(Row::name, "list");

    // Every key under the prefix, in order, over pages of 1000 (the default).
    error_code ec;
    std::vector<std::string> seen;
    int pages = 0;
    auto all = c.list_all(list_options{"list/", "", "", "", 1000});
    while (auto page = all.next(ec)) {
        ++pages;
        for (auto& o : page->objects)
            seen.push_back(o.key);
    }
    CHECK_FALSE(ec);
    CHECK(pages == 3);
    CHECK(seen == std::vector<std::string>(expected.begin(), expected.end()));

    // With a delimiter: the five folders and the one key beside them, in pages of 2.
    std::vector<std::string> prefixes, keys;
    pages = 0;
    auto rolled = c.list_all(list_options{"list/", "/", "", "", 2});
    while (auto page = rolled.next(ec)) {
        ++pages;
        prefixes.insert(prefixes.end(), page->common_prefixes.begin(), page->common_prefixes.end());
        for (auto& o : page->objects)
            keys.push_back(o.key);
    }
    CHECK_FALSE(ec);
    CHECK(prefixes ==
          std::vector<std::string>{"list/0/", "list/1/", "list/2/", "list/3/", "list/4/"});
    CHECK(keys == std::vector<std::string>{"list/top"});
    CHECK(pages == 3);

    // start_after, and a bad page size.
    auto page = c.list(list_options{"list/", "", "list/4/", "", 1000}, ec);
    REQUIRE_FALSE(ec);
    REQUIRE_FALSE(page.objects.empty());
    CHECK(page.objects.front().key > "list/4/");
    c.list(list_options{"", "", "", "", 0}, ec);
    CHECK(ec == condition::invalid_argument);
}

TEST_CASE_TEMPLATE("conformance: concurrent writers, and create-only puts racing", Row,
                   CONFORMANCE_ROWS) {
    client<typename Row::storage> c(Row::make());
    std::vector<std::thread> threads;
    std::atomic<int> created{0}, refused{0}, other{0};
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&, t] {
            const std::string body(10000, static_cast<char>('a' + t));
            for (int i = 0; i < 20; ++i)
                c.put("shared", body);
            put_options create_only;
            create_only.if_none_match = true;
            error_code ec;
            c.put("once", body, create_only, ec);
            if (!ec)
                ++created;
            else if (ec == condition::precondition_failed)
                ++refused;
            else
                ++other;
        });
    for (auto& t : threads)
        t.join();
    count(Row::name, "put");
    const std::string last = c.get("shared");
    REQUIRE(last.size() == 10000);
    CHECK(last == std::string(10000, last[0])); // one writer's whole body, never a mix
    CHECK(created == 1);
    CHECK(refused == 7);
    CHECK(other == 0);
}

TEST_CASE_TEMPLATE("conformance: the async face", Row, CONFORMANCE_ROWS) {
    client<typename Row::storage> c(Row::make());
    boost::asio::io_context io;
    const std::string body = "async body";
    error_code put_ec, get_ec, missing_ec;
    object_info put_info;
    std::string got;
    bool inline_completion = false;
    bool returned = false;
    c.async_put("a/async", std::as_bytes(std::span(body)), put_options{},
                boost::asio::bind_executor(io, [&](error_code ec, object_info info) {
                    put_ec = ec;
                    put_info = std::move(info);
                    inline_completion = !returned;
                    c.async_get("a/async", get_options{},
                                boost::asio::bind_executor(io, [&](error_code e, std::string s) {
                                    get_ec = e;
                                    got = std::move(s);
                                }));
                }));
    returned = true;
    storage_failure detail;
    c.async_get("missing", get_options{},
                boost::asio::bind_executor(io, [&](error_code e, std::string) { missing_ec = e; }),
                call_options{std::chrono::milliseconds(0), &detail});
    io.run();
    count(Row::name, "async");
    CHECK_FALSE(inline_completion);
    CHECK_FALSE(put_ec);
    CHECK(put_info.size == body.size());
    CHECK_FALSE(get_ec);
    CHECK(got == body);
    CHECK(missing_ec == condition::not_found);
    CHECK(detail.code == condition::not_found);

    // head, list, remove, and an invalid key, each completing through the io_context.
    io.restart();
    error_code head_ec, list_ec, remove_ec, bad_ec, after_ec;
    object_info head_info;
    list_page page;
    // One after the other: the pool may run concurrent calls in any order.
    c.async_head("a/async", boost::asio::bind_executor(io, [&](error_code e, object_info i) {
                     head_ec = e;
                     head_info = std::move(i);
                     c.async_list(
                         list_options{"a/", "", "", "", 10},
                         boost::asio::bind_executor(io, [&](error_code l, list_page p) {
                             list_ec = l;
                             page = std::move(p);
                             c.async_remove(
                                 "a/async", boost::asio::bind_executor(io, [&](error_code r) {
                                     remove_ec = r;
                                     c.async_head(
                                         "a/async",
                                         boost::asio::bind_executor(
                                             io, [&](error_code h, object_info) { after_ec = h; }));
                                 }));
                         }));
                 }));
    c.async_get(std::string(1025, 'k'), get_options{},
                boost::asio::bind_executor(io, [&](error_code e, std::string) { bad_ec = e; }));
    io.run();
    count(Row::name, "async");
    CHECK_FALSE(head_ec);
    CHECK(head_info.size == body.size());
    CHECK_FALSE(list_ec);
    REQUIRE(page.objects.size() == 1);
    CHECK(page.objects[0].key == "a/async");
    CHECK_FALSE(remove_ec);
    CHECK(after_ec == condition::not_found);
    CHECK(bad_ec == condition::invalid_argument);
}

TEST_CASE_TEMPLATE("conformance: copy, batch delete, and URLs by capability", Row,
                   CONFORMANCE_ROWS) {
    client<typename Row::storage> c(Row::make());
    error_code ec;
    c.put("src/a.wav", "abc"s, with_metadata());
    auto copied = c.copy("src/a.wav", "dst/a.wav", ec);
    count(Row::name, "copy");
    REQUIRE_FALSE(ec);
    CHECK(copied.size == 3);
    CHECK(c.get("dst/a.wav") == "abc");
    CHECK(c.head("dst/a.wav").metadata == expected_metadata<Row>(with_metadata().metadata)); // kept
    CHECK(c.head("dst/a.wav").content_type == "audio/wav");
    put_options other;
    other.content_type = "text/plain";
    c.copy("src/a.wav", "dst/b.txt", ec, &other);
    CHECK_FALSE(ec);
    CHECK(c.head("dst/b.txt").content_type == "text/plain");
    CHECK(c.head("dst/b.txt").metadata.empty()); // replaced
    c.copy("src/missing", "dst/c", ec);
    CHECK(ec == condition::not_found);
    c.copy("src/a.wav", "", ec);
    CHECK(ec == condition::invalid_argument);

    const std::vector<std::string> keys = {"src/a.wav", "dst/a.wav", "never/was", ""};
    auto results = c.remove_many(keys, ec);
    count(Row::name, "batch_delete");
    CHECK_FALSE(ec);
    REQUIRE(results.size() == 4);
    CHECK_FALSE(results[0]);
    CHECK_FALSE(results[1]);
    CHECK_FALSE(results[2]); // a missing key is deleted already
    CHECK(results[3] == condition::invalid_argument);
    CHECK_FALSE(c.exists("src/a.wav", ec));
    CHECK_FALSE(c.exists("dst/a.wav", ec));
    CHECK(c.exists("dst/b.txt", ec));

    // URLs, by the row's capabilities.
    using method = typename client<typename Row::storage>::url_method;
    const auto presigned = c.presigned_url("dst/b.txt", method::get, std::chrono::seconds(60), ec);
    count(Row::name, "url");
    if (Row::presigned_urls) {
        CHECK_FALSE(ec);
        CHECK_FALSE(presigned.empty());
    } else {
        CHECK(ec == condition::not_supported);
    }
    const auto url = c.public_url("dst/b.txt", ec);
    if (Row::public_urls) {
        CHECK_FALSE(ec);
        CHECK(url.starts_with(Row::url_scheme));
    } else {
        CHECK(ec == condition::not_supported);
    }
}

TEST_CASE_TEMPLATE("conformance: every store ran every operation's cases", Row, CONFORMANCE_ROWS) {
    for (const auto& op : operations) {
        INFO(Row::name << " " << op);
        CHECK(tally()[{std::string(Row::name), op}] > 0);
    }
}
