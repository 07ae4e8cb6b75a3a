// Keys every storage accepts, and byte ranges.
#include <cloudstore/object.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace cloudstore;

TEST_CASE("validate_key: 1 to 1024 bytes of well-formed UTF-8, any character") {
    for (std::string key :
         {std::string("a"), std::string("audio/user 1/file.wav"), std::string(".."),
          std::string("."), std::string("/leading/slash"), std::string("a//b/"),
          std::string("nul\0inside", 10), std::string("tab\tand\x7f"), std::string("caf\xc3\xa9"),
          std::string("\xe2\x82\xac"), std::string("\xf0\x9f\x8e\xb5"),
          std::string("\xf4\x8f\xbf\xbf"), std::string(1024, 'k')}) {
        INFO(key);
        CHECK_FALSE(validate_key(key));
    }
    for (std::string key : {
             std::string(), std::string(1025, 'k'),
             std::string("\x80"),             // a continuation byte first
             std::string("\xc0\xaf"),         // overlong '/'
             std::string("\xc1\xbf"),         // overlong
             std::string("\xe0\x80\xaf"),     // overlong 3-byte
             std::string("\xed\xa0\x80"),     // a UTF-16 surrogate
             std::string("\xf0\x80\x80\xaf"), // overlong 4-byte
             std::string("\xf4\x90\x80\x80"), // above U+10FFFF
             std::string("\xf5\x80\x80\x80"), std::string("\xff"),
             std::string("ok\xc3"), // cut short
             std::string("\xe2\x82"),
             std::string("\xe2\x28\xa1"), // a bad continuation
         }) {
        INFO(key.size());
        CHECK(validate_key(key) == condition::invalid_argument);
    }
    // 1024 bytes of multi-byte characters pass; one byte more does not.
    std::string euros;
    while (euros.size() + 3 <= 1024)
        euros += "\xe2\x82\xac";
    euros += "a";
    CHECK(euros.size() == 1024);
    CHECK_FALSE(validate_key(euros));
    CHECK(validate_key(euros + "b") == condition::invalid_argument);
}

TEST_CASE("byte_range: zero length is empty; no length runs to the end") {
    CHECK(byte_range{5, 0}.empty());
    CHECK_FALSE(byte_range{5, 1}.empty());
    CHECK_FALSE(byte_range{5, std::nullopt}.empty());
    CHECK(byte_range{0, std::nullopt} == byte_range{});
}
