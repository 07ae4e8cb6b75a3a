// The first user's job: keep generated speech audio in S3. Reads its store from the
// environment (STORAGE_TYPE=s3, S3_BUCKET_NAME, AWS_REGION, the keys, AWS_ENDPOINT_URL), puts
// a generated 20 MiB WAV (a multipart upload, its parts in flight together, each with its
// CRC32C), reads its header back by range and all of it whole, lists the folder, hands out a
// presigned link for a player and deletes what it made. `scripts/demo` runs it against a Ceph
// RGW it starts on 127.0.0.1 and fetches the link with curl.
#include <cloudstore/checksum.hpp>
#include <cloudstore/client.hpp>
#include <cloudstore/mixins/checksums.hpp>
#include <cloudstore/mixins/retry.hpp>
#include <cloudstore/storage/s3.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

// `seconds` of a 440 Hz tone, 16-bit mono at 48 kHz, as a WAV file.
std::string tone_wav(unsigned seconds) {
    const std::uint32_t rate = 48000, samples = rate * seconds, data = samples * 2;
    std::string wav;
    const auto u32 = [&](std::uint32_t v) {
        for (int i = 0; i < 4; ++i)
            wav.push_back(char((v >> (8 * i)) & 0xff));
    };
    const auto u16 = [&](std::uint16_t v) {
        wav.push_back(char(v & 0xff));
        wav.push_back(char(v >> 8));
    };
    wav += "RIFF";
    u32(36 + data);
    wav += "WAVEfmt ";
    u32(16);
    u16(1);        // PCM
    u16(1);        // mono
    u32(rate);     // samples per second
    u32(rate * 2); // bytes per second
    u16(2);        // block align
    u16(16);       // bits per sample
    wav += "data";
    u32(data);
    for (std::uint32_t i = 0; i < samples; ++i)
        u16(std::uint16_t(std::int16_t(8000 * std::sin(2 * 3.14159265358979 * 440 * i / rate))));
    return wav;
}

} // namespace

int main() try {
    using namespace cloudstore;
    error_code ec;
    const s3_options options = s3_options::from_environment(ec);
    if (ec) {
        std::fprintf(stderr, "audio_store: set S3_BUCKET_NAME, AWS_ACCESS_KEY_ID and "
                             "AWS_SECRET_ACCESS_KEY (and AWS_ENDPOINT_URL for a local server)\n");
        return 2;
    }
    client<s3, retry<exponential_backoff>, checksums<crc32c>> store{s3(options), {}, {}};

    const std::string wav = tone_wav(218); // about 20 MiB
    put_options po;
    po.content_type = "audio/wav";
    po.metadata = {{"voice", "alto"}, {"text-id", "greeting-42"}};
    const auto put = store.put("speech/greeting-42.wav", wav, po);
    std::printf("put   %s: %zu bytes, ETag %s (a multipart upload: the ETag ends in -parts)\n",
                put.key.c_str(), wav.size(), put.etag.c_str());

    const auto head = store.head("speech/greeting-42.wav");
    std::printf("head  %s, voice=%s, %llu bytes\n", head.content_type.c_str(),
                head.metadata.at("voice").c_str(), static_cast<unsigned long long>(head.size));

    get_options header;
    header.range = byte_range{0, 44};
    const auto first = store.get("speech/greeting-42.wav", header);
    std::printf("range bytes 0-43: %.4s ... %.4s, the WAV header\n", first.data(),
                first.data() + 8);
    const bool same = store.get("speech/greeting-42.wav") == wav;
    std::printf("get   the whole object back: %s\n", same ? "identical" : "DIFFERENT");

    store.put("speech/short.wav", tone_wav(1), po);
    auto listing = store.list_all({"speech/", "", "", "", 1000});
    for (auto page = listing.next(ec); page; page = listing.next(ec))
        for (const auto& o : page->objects)
            std::printf("list  %-26s %9llu bytes\n", o.key.c_str(),
                        static_cast<unsigned long long>(o.size));

    const auto link = store.presigned_url(
        "speech/greeting-42.wav", decltype(store)::url_method::get, std::chrono::minutes(15), ec);
    if (ec) return std::fprintf(stderr, "audio_store: %s\n", ec.message().c_str()), 1;
    std::printf("link  %s\n", link.c_str());
    std::fflush(stdout);
    if (const char* fetch = std::getenv("AUDIO_STORE_FETCH")) { // the demo's curl
        const std::string command = std::string(fetch) + " '" + link + "'";
        if (std::system(command.c_str()) != 0) return 1;
    }

    const std::vector<std::string> made = {"speech/greeting-42.wav", "speech/short.wav"};
    const auto removed = store.remove_many(made, ec);
    std::printf("delete %zu objects: %s\n", removed.size(), ec ? ec.message().c_str() : "done");
    return same && !ec ? 0 : 1;
} catch (const std::exception& e) {
    std::fprintf(stderr, "audio_store: %s\n", e.what());
    return 1;
}
