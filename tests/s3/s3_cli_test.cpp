// Interop with a real client on the same RGW: what cloudstore puts (content type, metadata,
// single and multipart) is listed, described and read back by the AWS CLI v2, and what the CLI
// puts (single and multipart) is read and described by cloudstore.
#include "rgw_env.hpp"

#include <cloudstore/client.hpp>
#include <cloudstore/storage/s3.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <unistd.h>

using namespace cloudstore;
using namespace std::string_literals;
using rgw::aws;

namespace {

constexpr std::size_t mib = 1024 * 1024;

std::string pattern(std::size_t size, unsigned seed) {
    std::string out(size, '\0');
    for (std::size_t i = 0; i < size; ++i)
        out[i] = char((i * 131 + seed + i / 7919) & 0xff);
    return out;
}

struct scratch_dir {
    std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("cloudstore-cli-" + std::to_string(::getpid()));
    scratch_dir() { std::filesystem::create_directories(path); }
    ~scratch_dir() { std::filesystem::remove_all(path); }
    std::filesystem::path write(const std::string& name, const std::string& bytes) const {
        std::ofstream(path / name, std::ios::binary) << bytes;
        return path / name;
    }
    std::string read(const std::string& name) const {
        std::ifstream in(path / name, std::ios::binary);
        return {std::istreambuf_iterator<char>(in), {}};
    }
};

} // namespace

TEST_CASE("s3 interop: the AWS CLI lists, describes and reads what cloudstore puts") {
    s3_options o = rgw::options(rgw::fresh_bucket_name());
    o.multipart_threshold = 5 * mib;
    o.part_size = 5 * mib;
    s3 storage(o);
    rgw::create_bucket(storage);
    client<s3> c(storage);
    const std::string bucket = o.bucket;
    scratch_dir dir;

    put_options po;
    po.content_type = "audio/ogg";
    po.metadata = {{"voice", "soprano"}, {"take", "3"}};
    const std::string small = pattern(70000, 1), big = pattern(12 * mib + 5, 2);
    c.put("cli/small.ogg", small, po);
    const auto multipart = c.put("cli/big.ogg", big, po);
    CHECK(multipart.etag.find("-3") != std::string::npos);

    const auto [ls_status, listing] = aws("s3 ls s3://" + bucket + "/cli/");
    CHECK(ls_status == 0);
    CHECK(listing.find(" 70000 small.ogg") != std::string::npos);
    CHECK(listing.find(" " + std::to_string(big.size()) + " big.ogg") != std::string::npos);

    for (const char* key : {"cli/small.ogg", "cli/big.ogg"}) {
        INFO(key);
        const auto [head_status, head] =
            aws("s3api head-object --bucket " + bucket + " --key " + key + " --output json");
        CHECK(head_status == 0);
        CHECK(head.find("\"ContentType\": \"audio/ogg\"") != std::string::npos);
        CHECK(head.find("\"voice\": \"soprano\"") != std::string::npos);
        CHECK(head.find("\"take\": \"3\"") != std::string::npos);
    }
    CHECK(aws("s3 cp s3://" + bucket + "/cli/small.ogg " + (dir.path / "small").string()).first ==
          0);
    CHECK(aws("s3 cp s3://" + bucket + "/cli/big.ogg " + (dir.path / "big").string()).first == 0);
    CHECK(dir.read("small") == small);
    CHECK(dir.read("big") == big);
}

TEST_CASE("s3 interop: cloudstore reads and describes what the AWS CLI puts") {
    client<s3> c(rgw::fresh());
    const std::string bucket = c.storage().options().bucket;
    scratch_dir dir;
    const std::string small = pattern(4321, 3), big = pattern(20 * mib + 77, 4);
    // The CLI goes multipart above its 8 MiB threshold: 20 MiB is three parts.
    for (auto [name, bytes] : {std::pair{"small.wav", &small}, std::pair{"big.wav", &big}}) {
        const auto file = dir.write(name, *bytes);
        const auto put = aws("s3 cp " + file.string() + " s3://" + bucket + "/from-cli/" + name +
                             " --content-type audio/wav --metadata speaker=ana,lang=pt");
        CHECK_MESSAGE(put.first == 0, put.second);
    }
    CHECK(c.get("from-cli/small.wav") == small);
    CHECK(c.get("from-cli/big.wav") == big);
    const auto head = c.head("from-cli/big.wav");
    CHECK(head.size == big.size());
    CHECK(head.etag.find('-') != std::string::npos); // a multipart ETag
    CHECK(head.content_type == "audio/wav");
    CHECK(head.metadata.at("speaker") == "ana");
    CHECK(head.metadata.at("lang") == "pt");
    error_code ec;
    const auto page = c.list(list_options{"from-cli/", "", "", "", 1000}, ec);
    CHECK_FALSE(ec);
    REQUIRE(page.objects.size() == 2);
    CHECK(page.objects[0].key == "from-cli/big.wav");
    CHECK(page.objects[1].size == small.size());
    // A range of the multipart object, across its first part boundary (8 MiB).
    get_options range;
    range.range = byte_range{8 * mib - 10, 20};
    CHECK(c.get("from-cli/big.wav", range) == big.substr(8 * mib - 10, 20));
}
