#include "store/record.h"

#include <doctest/doctest.h>

#include <string>

using namespace litemcp::store;

TEST_CASE("crc32c matches the Castagnoli check value") {
    CHECK(crc32c("123456789", 9) == 0xE3069283u);
    CHECK(crc32c("", 0) == 0u);
}

TEST_CASE("a record round-trips through encode and decode") {
    std::string buf(encoded_size(7, 5), '\0');
    encode_record(buf.data(), 42, 7, 1234, 9, "t/topic", "hello");
    record_view v;
    REQUIRE(decode_record(buf, 1 << 20, v) == decode_outcome::ok);
    CHECK(v.topic_id == 42);
    CHECK(v.offset == 7);
    CHECK(v.timestamp_ms == 1234);
    CHECK(v.flags == 9);
    CHECK(v.topic == "t/topic");
    CHECK(v.payload == "hello");
    CHECK(v.length == buf.size());
}

TEST_CASE("the header alone decodes without the rest of the record") {
    std::string buf(encoded_size(7, 5), '\0');
    encode_record(buf.data(), 42, 7, 1234, 9, "t/topic", "hello");
    record_view v;
    REQUIRE(decode_record_header(std::string_view(buf).substr(0, record_header_bytes), 1 << 20, v) ==
            decode_outcome::ok);
    CHECK(v.topic_id == 42);
    CHECK(v.offset == 7);
    CHECK(v.timestamp_ms == 1234);
    CHECK(v.flags == 9);
    CHECK(v.length == buf.size());
    CHECK(v.payload.empty());
    CHECK(decode_record_header(std::string_view(buf).substr(0, 10), 1 << 20, v) == decode_outcome::short_buffer);
    CHECK(decode_record_header(buf, 10, v) == decode_outcome::bad_length);
}

TEST_CASE("decode reports torn, damaged and impossible records") {
    std::string buf(encoded_size(3, 100), '\0');
    encode_record(buf.data(), 1, 0, 0, 0, "t/a", std::string(100, 'x'));
    record_view v;
    SUBCASE("short buffer") {
        CHECK(decode_record(std::string_view(buf).substr(0, 10), 1 << 20, v) == decode_outcome::short_buffer);
        CHECK(decode_record(std::string_view(buf).substr(0, buf.size() - 1), 1 << 20, v) ==
              decode_outcome::short_buffer);
    }
    SUBCASE("flipped payload bit") {
        buf[buf.size() - 3] ^= 0x10;
        CHECK(decode_record(buf, 1 << 20, v) == decode_outcome::bad_crc);
    }
    SUBCASE("length over the bound") {
        CHECK(decode_record(buf, 50, v) == decode_outcome::bad_length);
    }
    SUBCASE("zeroes (preallocated or sparse space)") {
        std::string zeros(200, '\0');
        CHECK(decode_record(zeros, 1 << 20, v) == decode_outcome::bad_length);
    }
}
