// ItemRecord's on-disk encoding: every field round-trips, and damaged bytes
// are reported as CorruptRecord instead of being read past.
#define BOOST_TEST_MODULE record
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>
#include <limits>

#include "index/hash/codec.hpp"
#include "index/hash/record.hpp"

using namespace ndrd;
using index::CorruptRecord;
using index::ItemRecord;
using index::RouteState;
using index::Subset;
using index::Verdict;

namespace {

ItemRecord full_record()
{
    ItemRecord r;
    r.seq = 123456789;
    r.source = "day 1/é photo.jpg";
    r.location = "duplicated/day 1/é photo~2.jpg";
    r.previous_location = "train/day 1/é photo.jpg";
    r.verdict = Verdict::duplicated;
    r.subset = Subset::duplicated;
    r.state = RouteState::done;
    r.key = index::Key::from_hex("5c1172d0");
    r.feature = {0.5F, -0.25F, 0.0F, -0.0F, std::numeric_limits<float>::denorm_min(), 1e-30F, 3.4e38F};
    r.degenerate = true;
    r.best_similarity = 0.99362752290379175;
    r.matched_seq = 300; // > 127: a two-byte varint
    r.reason = "";
    r.size = 5'000'000'000ULL;
    r.device = std::numeric_limits<std::uint64_t>::max();
    r.inode = 0x0123456789abcdefULL;
    r.ingested_ms = 1'732'000'000'123;
    r.routed_ms = 1'732'000'000'999;
    r.digest = std::string("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\xff", 16);
    r.matched_variant = index::Variant::transverse;
    r.exact_copy = true;
    r.operator_override = index::Override::marked_duplicate;
    return r;
}

void check_equal(const ItemRecord& a, const ItemRecord& b)
{
    BOOST_TEST(a.seq == b.seq);
    BOOST_TEST(a.source == b.source);
    BOOST_TEST(a.location == b.location);
    BOOST_TEST(a.previous_location == b.previous_location);
    BOOST_TEST(static_cast<int>(a.verdict) == static_cast<int>(b.verdict));
    BOOST_TEST(static_cast<int>(a.subset) == static_cast<int>(b.subset));
    BOOST_TEST(static_cast<int>(a.state) == static_cast<int>(b.state));
    BOOST_TEST(a.key.bytes == b.key.bytes);
    BOOST_TEST_REQUIRE(a.feature.size() == b.feature.size());
    // Bit-exact; memcmp of null pointers is undefined even for 0 bytes.
    // NOLINTNEXTLINE(bugprone-suspicious-memory-comparison)
    BOOST_TEST(
        (a.feature.empty() || std::memcmp(a.feature.data(), b.feature.data(), a.feature.size() * sizeof(float)) == 0));
    BOOST_TEST(a.degenerate == b.degenerate);
    BOOST_TEST(a.best_similarity.has_value() == b.best_similarity.has_value());
    if (a.best_similarity && b.best_similarity) {
        // Bit-exact, so that NaN compares equal to itself.
        // NOLINTNEXTLINE(bugprone-suspicious-memory-comparison)
        BOOST_TEST(std::memcmp(&*a.best_similarity, &*b.best_similarity, sizeof(double)) == 0);
    }
    BOOST_TEST(a.matched_seq == b.matched_seq);
    BOOST_TEST(a.reason == b.reason);
    BOOST_TEST(a.size == b.size);
    BOOST_TEST(a.device == b.device);
    BOOST_TEST(a.inode == b.inode);
    BOOST_TEST(a.ingested_ms == b.ingested_ms);
    BOOST_TEST(a.routed_ms == b.routed_ms);
    BOOST_TEST(a.digest == b.digest);
    BOOST_TEST((a.matched_variant == b.matched_variant));
    BOOST_TEST(a.exact_copy == b.exact_copy);
    BOOST_TEST((a.operator_override == b.operator_override));
    BOOST_TEST(a.origin == b.origin);
    BOOST_TEST(a.pixels == b.pixels);
    BOOST_TEST(a.replaced == b.replaced);
    BOOST_TEST(a.replaced_by == b.replaced_by);
    BOOST_TEST(a.expired_ms == b.expired_ms);
}

} // namespace

BOOST_AUTO_TEST_SUITE(item_record_encoding)

BOOST_AUTO_TEST_CASE(every_field_round_trips)
{
    const auto r = full_record();
    const auto back = ItemRecord::decode(r.seq, r.encode());
    check_equal(r, back);
    BOOST_TEST(std::signbit(back.feature[3])); // -0.0 kept
}

BOOST_AUTO_TEST_CASE(the_second_format_keeps_pixels_replacements_and_expiry)
{
    auto r = full_record();
    const std::string first = r.encode();
    BOOST_TEST(first.front() == '\x01', "nothing new to say: the first format, as before");
    r.pixels = 4000ULL * 3000ULL;
    r.replaced_by = 7;
    r.state = RouteState::expired;
    r.expired_ms = 1'732'000'100'000;
    const std::string second = r.encode();
    BOOST_TEST(second.front() == '\x02');
    check_equal(r, ItemRecord::decode(r.seq, second));
    r.origin.clear(); // the second format writes the origin always, empty or not
    r.replaced = 3;
    check_equal(r, ItemRecord::decode(r.seq, r.encode()));
    BOOST_CHECK_THROW((void)ItemRecord::decode(r.seq, r.encode() + "x"), CorruptRecord);
}

BOOST_AUTO_TEST_CASE(seq_comes_from_the_key_not_the_value)
{
    const auto r = full_record();
    BOOST_TEST(ItemRecord::decode(7, r.encode()).seq == 7U);
}

BOOST_AUTO_TEST_CASE(absent_best_similarity_stays_absent)
{
    auto r = full_record();
    r.best_similarity.reset();
    r.matched_seq = 0;
    const auto back = ItemRecord::decode(r.seq, r.encode());
    BOOST_TEST(!back.best_similarity.has_value());
    BOOST_TEST(back.matched_seq == 0U);
}

BOOST_AUTO_TEST_CASE(present_best_similarity_of_zero_or_nan_stays_present)
{
    auto r = full_record();
    r.best_similarity = 0.0;
    auto back = ItemRecord::decode(r.seq, r.encode());
    BOOST_TEST_REQUIRE(back.best_similarity.has_value());
    BOOST_TEST(*back.best_similarity == 0.0);

    // Above 1 happens for identical images (dot^50 = 1.0000000000000444).
    r.best_similarity = 1.0000000000000444;
    back = ItemRecord::decode(r.seq, r.encode());
    BOOST_TEST_REQUIRE(back.best_similarity.has_value());
    BOOST_TEST(*back.best_similarity == 1.0000000000000444);

    r.best_similarity = std::numeric_limits<double>::quiet_NaN();
    back = ItemRecord::decode(r.seq, r.encode());
    BOOST_TEST_REQUIRE(back.best_similarity.has_value());
    BOOST_TEST(std::isnan(*back.best_similarity));
}

BOOST_AUTO_TEST_CASE(every_enum_value_round_trips)
{
    for (const auto v : {Verdict::kept, Verdict::duplicated, Verdict::rejected}) {
        for (const auto s : {Subset::working, Subset::duplicated, Subset::rejected}) {
            for (const auto st : {RouteState::planned, RouteState::done, RouteState::vanished}) {
                auto r = full_record();
                r.verdict = v;
                r.subset = s;
                r.state = st;
                const auto back = ItemRecord::decode(1, r.encode());
                BOOST_TEST((back.verdict == v && back.subset == s && back.state == st),
                           index::to_string(v) << "/" << index::to_string(s) << "/" << index::to_string(st));
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(rejected_record_without_feature_or_key_round_trips)
{
    ItemRecord r;
    r.seq = 1;
    r.source = "bad.jpg";
    r.location = "rejected/bad.jpg";
    r.verdict = Verdict::rejected;
    r.subset = Subset::rejected;
    r.state = RouteState::planned;
    r.reason = "not a decodable image";
    const auto back = ItemRecord::decode(1, r.encode());
    check_equal(r, back);
    BOOST_TEST(back.feature.empty());
    BOOST_TEST(back.key.bytes.empty());
    BOOST_TEST(!back.degenerate);
}

BOOST_AUTO_TEST_CASE(full_768_float_feature_round_trips_bit_for_bit)
{
    auto r = full_record();
    r.feature.resize(768);
    for (std::size_t i = 0; i < r.feature.size(); ++i) {
        r.feature[i] = static_cast<float>(std::sin(static_cast<double>(i) * 0.37)) / 27.7F;
    }
    r.degenerate = false;
    check_equal(r, ItemRecord::decode(r.seq, r.encode()));
}

BOOST_AUTO_TEST_CASE(extreme_integers_round_trip)
{
    auto r = full_record();
    r.size = std::numeric_limits<std::uint64_t>::max();
    r.device = 0;
    r.inode = std::numeric_limits<std::uint64_t>::max();
    r.matched_seq = std::numeric_limits<std::uint64_t>::max();
    r.ingested_ms = -1;
    r.routed_ms = std::numeric_limits<std::int64_t>::min();
    check_equal(r, ItemRecord::decode(r.seq, r.encode()));
}

BOOST_AUTO_TEST_CASE(every_truncation_throws_corrupt_record)
{
    const auto bytes = full_record().encode();
    BOOST_TEST_REQUIRE(bytes.size() > 50U);
    // Cut just before the digest, the bytes are a record written before
    // digests existed; cut before the match and override bytes, one written
    // before those existed: those two lengths are valid (see the next tests).
    const std::size_t before_match = bytes.size() - 3;
    const std::size_t legacy = before_match - 17;
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        if (n == legacy || n == before_match) continue;
        BOOST_CHECK_THROW(ItemRecord::decode(1, std::string_view(bytes).substr(0, n)), CorruptRecord);
    }
}

BOOST_AUTO_TEST_CASE(a_record_written_before_digests_decodes_with_an_empty_digest)
{
    auto r = full_record();
    const auto bytes = r.encode();
    const auto legacy = ItemRecord::decode(r.seq, std::string_view(bytes).substr(0, bytes.size() - 3 - 17));
    BOOST_TEST(legacy.digest.empty());
    BOOST_TEST(!legacy.matched_variant);
    BOOST_TEST(legacy.routed_ms == r.routed_ms);
    BOOST_TEST(legacy.source == r.source);
}

BOOST_AUTO_TEST_CASE(a_record_written_before_overrides_decodes_without_match_or_override)
{
    auto r = full_record();
    const auto bytes = r.encode();
    const auto older = ItemRecord::decode(r.seq, std::string_view(bytes).substr(0, bytes.size() - 3));
    BOOST_TEST(older.digest == r.digest);
    BOOST_TEST(!older.matched_variant);
    BOOST_TEST(!older.exact_copy);
    BOOST_TEST((older.operator_override == index::Override::none));
}

BOOST_AUTO_TEST_CASE(invalid_match_or_override_bytes_throw_corrupt_record)
{
    for (const std::size_t from_end : {3U, 2U, 1U}) {
        auto bytes = full_record().encode();
        bytes[bytes.size() - from_end] = static_cast<char>(9);
        BOOST_CHECK_THROW((void)ItemRecord::decode(1, bytes), CorruptRecord);
    }
}

BOOST_AUTO_TEST_CASE(a_cluster_members_origin_round_trips_and_a_single_hosts_record_is_unchanged)
{
    auto r = full_record();
    const auto single_host = r.encode();
    r.origin = "camera-host-2";
    const auto member = r.encode();
    // Appended, so a single host's records keep their bytes and older
    // readers' tail positions.
    BOOST_TEST(member.substr(0, single_host.size()) == single_host);
    const auto back = ItemRecord::decode(r.seq, member);
    check_equal(back, r);
    BOOST_TEST(ItemRecord::decode(r.seq, single_host).origin.empty());
}

BOOST_AUTO_TEST_CASE(trailing_bytes_throw_corrupt_record)
{
    const auto bytes = full_record().encode() + '\0';
    BOOST_CHECK_THROW(ItemRecord::decode(1, bytes), CorruptRecord);
}

BOOST_AUTO_TEST_CASE(unknown_version_throws_and_says_so)
{
    for (const unsigned char v : {0, 3, 255}) {
        auto bytes = full_record().encode();
        bytes[0] = static_cast<char>(v);
        try {
            (void)ItemRecord::decode(42, bytes);
            BOOST_FAIL("version " << int(v) << " was accepted");
        } catch (const CorruptRecord& e) {
            const std::string msg = e.what();
            BOOST_TEST(msg.find("version " + std::to_string(v)) != std::string::npos, msg);
            BOOST_TEST(msg.find("42") != std::string::npos, msg);
        }
    }
}

BOOST_AUTO_TEST_CASE(out_of_range_enum_throws)
{
    ItemRecord r;
    r.source = "a";
    r.location = "b";
    const auto bytes = r.encode();
    // version, "a", "b", previous_location "", then verdict / subset / state.
    BOOST_TEST_REQUIRE(bytes.substr(0, 6) == std::string("\x01\x01"
                                                         "a\x01"
                                                         "b\x00",
                                                         6));
    for (const std::size_t at : {6U, 7U, 8U}) {
        auto bad = bytes;
        bad[at] = 4;
        BOOST_CHECK_THROW(ItemRecord::decode(1, bad), CorruptRecord);
    }
}

BOOST_AUTO_TEST_CASE(huge_length_prefix_throws_instead_of_allocating)
{
    // A string length of 2^62 must be refused, not attempted.
    index::Writer w;
    w.u8(1);
    w.varint(1ULL << 62U);
    BOOST_CHECK_THROW(ItemRecord::decode(1, w.str()), CorruptRecord);

    // The same for the float count: 2^61 floats.
    index::Writer f;
    f.u8(1);
    f.bytes(""); // source
    f.bytes(""); // location
    f.bytes(""); // previous_location
    f.u8(0);
    f.u8(0);
    f.u8(0);
    f.bytes(""); // key
    // This prefix is what a real record with empty strings and key encodes to.
    BOOST_TEST_REQUIRE(ItemRecord{}.encode().substr(0, f.str().size()) == f.str());
    f.varint(1ULL << 61U);
    BOOST_CHECK_THROW(ItemRecord::decode(1, f.str()), CorruptRecord);
}

BOOST_AUTO_TEST_CASE(overlong_varint_throws)
{
    std::string bytes = "\x01";
    bytes += std::string(11, '\xff');
    BOOST_CHECK_THROW(ItemRecord::decode(1, bytes), CorruptRecord);
}

BOOST_AUTO_TEST_CASE(encoding_of_a_fixed_record_is_pinned)
{
    // Records live on disk for years: a layout change must come with a new
    // format version (and this expected value updated on purpose).
    ItemRecord r;
    r.source = "s";
    r.location = "l";
    r.previous_location = "p";
    r.verdict = Verdict::duplicated;
    r.subset = Subset::rejected;
    r.state = RouteState::done;
    r.key = index::Key::from_hex("abcd");
    r.feature = {1.0F};
    r.degenerate = true;
    r.best_similarity = 0.5;
    r.matched_seq = 300;
    r.reason = "r";
    r.size = 1;
    r.device = 2;
    r.inode = 3;
    r.ingested_ms = 4;
    r.routed_ms = 5;
    r.matched_variant = index::Variant::rot90;
    r.operator_override = index::Override::released;
    static constexpr char hex[] = "0123456789abcdef";
    std::string got;
    for (const char c : r.encode()) {
        got += hex[(static_cast<unsigned char>(c) >> 4U) & 0xfU];
        got += hex[static_cast<unsigned char>(c) & 0xfU];
    }
    BOOST_TEST(got == "01"
                      "0173"
                      "016c"
                      "0170"
                      "01"
                      "02"
                      "01"
                      "02abcd"
                      "01"
                      "0000803f"
                      "01"
                      "000000000000e03f"
                      "01"
                      "ac02"
                      "0172"
                      "01"
                      "02"
                      "03"
                      "04"
                      "05"
                      "00"
                      "03"   // matched_variant rot90 + 1
                      "00"   // exact_copy
                      "01"); // digest: empty
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(item_record_names)

BOOST_AUTO_TEST_CASE(enum_names_are_the_words_used_in_status_output)
{
    BOOST_TEST(index::to_string(Verdict::kept) == "kept");
    BOOST_TEST(index::to_string(Verdict::duplicated) == "duplicated");
    BOOST_TEST(index::to_string(Verdict::rejected) == "rejected");
    BOOST_TEST(index::to_string(Subset::working) == "working");
    BOOST_TEST(index::to_string(RouteState::planned) == "planned");
    BOOST_TEST(index::to_string(RouteState::done) == "done");
    BOOST_TEST(index::to_string(RouteState::vanished) == "vanished");
}

BOOST_AUTO_TEST_SUITE_END()
