// The entry codec that hosts exchange on a shared stream: every kind comes
// back as it went, the float32 feature bit for bit, and bytes that are not a
// whole entry of a known kind are refused rather than half-read.
#define BOOST_TEST_MODULE entry
#include <boost/test/unit_test.hpp>

#include <bit>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "index/hash/codec.hpp"
#include "index/hash/entry.hpp"

using namespace ndrd;

namespace {

index::HashedItem hashed_item()
{
    index::HashedItem h;
    h.digest = std::string(16, '\x7f');
    h.key.bytes = std::string("\x00\x80\xff\x01", 4);
    // Values a lossy encoding would change: -0, a subnormal, the extremes.
    h.feature = {0.25F,
                 -0.0F,
                 std::numeric_limits<float>::denorm_min(),
                 std::numeric_limits<float>::max(),
                 std::numeric_limits<float>::lowest(),
                 1.0F / 3.0F};
    h.size = 123456789012ULL;
    h.source = "camera-7/2026/12/06/frame \xff.jpg"; // opaque bytes, not necessarily UTF-8
    h.origin = "site-b.host-3";
    h.pixels = 4000ULL * 3000ULL;
    return h;
}

std::vector<std::uint32_t> bits_of(const std::vector<float>& v)
{
    std::vector<std::uint32_t> out;
    out.reserve(v.size());
    for (const float f : v) {
        out.push_back(std::bit_cast<std::uint32_t>(f));
    }
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(entry)

BOOST_AUTO_TEST_CASE(a_hashed_item_comes_back_bit_for_bit)
{
    const index::HashedItem h = hashed_item();
    const auto back = std::get<index::HashedItem>(index::decode_entry(index::encode_entry(h)));
    BOOST_TEST(back.digest == h.digest);
    BOOST_TEST(back.key.bytes == h.key.bytes);
    BOOST_TEST(bits_of(back.feature) == bits_of(h.feature), boost::test_tools::per_element());
    BOOST_TEST(back.degenerate == h.degenerate);
    BOOST_TEST(back.size == h.size);
    BOOST_TEST(back.source == h.source);
    BOOST_TEST(back.origin == h.origin);
    BOOST_TEST(back.pixels == h.pixels);

    // Written before pixel counts were kept: the entry ends after the origin.
    index::HashedItem older = h;
    older.pixels = 0;
    const std::string older_bytes = index::encode_entry(older);
    const auto older_back =
        std::get<index::HashedItem>(index::decode_entry(older_bytes.substr(0, older_bytes.size() - 1)));
    BOOST_TEST(older_back.pixels == 0U);
    BOOST_TEST(older_back.origin == h.origin);

    index::HashedItem degenerate = h;
    degenerate.degenerate = true;
    degenerate.feature.assign(768, std::numeric_limits<float>::quiet_NaN());
    const auto nan_back = std::get<index::HashedItem>(index::decode_entry(index::encode_entry(degenerate)));
    BOOST_TEST(nan_back.degenerate);
    BOOST_TEST(bits_of(nan_back.feature) == bits_of(degenerate.feature), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_rejected_item_comes_back_with_its_reason)
{
    const index::RejectedItem x{"", 0, "broken.png", "not an image: unknown format (first bytes 00 01 02 03)", "h1"};
    const auto back = std::get<index::RejectedItem>(index::decode_entry(index::encode_entry(x)));
    BOOST_TEST(back.digest.empty());
    BOOST_TEST(back.size == 0U);
    BOOST_TEST(back.source == x.source);
    BOOST_TEST(back.reason == x.reason);
    BOOST_TEST(back.origin == x.origin);
}

BOOST_AUTO_TEST_CASE(control_entries_share_the_control_encoding)
{
    index::RulesChange rules;
    rules.rules.match.sim_threshold = 0.9;
    rules.rules.match.probe_radius = 2;
    rules.rules.exact_copy = true;
    const std::vector<index::EntryBody> bodies{
        rules, index::OperatorOverride{42, index::Override::released},
        index::RebalanceRequest{std::uint64_t{10}, index::OverSample::similarity, index::UnderSample::inverse, 7},
        index::VanishedItem{77}, index::ExpireItems{{3, 5, 1'000'000'000'000}, 1'767'225'600'000}};
    for (const auto& body : bodies) {
        const std::string bytes = index::encode_entry(body);
        BOOST_TEST(bytes == index::encode_control(body));
        const auto back = index::decode_entry(bytes);
        BOOST_TEST(back.index() == body.index());
        BOOST_TEST(index::encode_entry(back) == bytes);
    }
}

BOOST_AUTO_TEST_CASE(bytes_that_are_not_a_whole_entry_are_refused)
{
    const std::string whole = index::encode_entry(hashed_item());
    BOOST_CHECK_THROW((void)index::decode_entry(""), index::CorruptRecord);
    BOOST_CHECK_THROW((void)index::decode_entry(std::string(1, '\x09')), index::CorruptRecord);
    // (The last byte, the pixel count, may be absent: entries written before it.)
    for (const std::size_t cut : {std::size_t{1}, std::size_t{10}, whole.size() - 2}) {
        BOOST_CHECK_THROW((void)index::decode_entry(whole.substr(0, cut)), index::CorruptRecord);
    }
    BOOST_CHECK_THROW((void)index::decode_entry(whole + "x"), index::CorruptRecord);
}

BOOST_AUTO_TEST_CASE(an_expire_entry_comes_back_with_its_items_and_time)
{
    const index::ExpireItems x{{7, 3, 123'456'789}, 1'767'225'600'123};
    const std::string bytes = index::encode_entry(x);
    BOOST_TEST(bytes.front() == '\x07');
    BOOST_TEST(index::kind_name(index::EntryBody(x)) == "expire");
    const auto back = std::get<index::ExpireItems>(index::decode_entry(bytes));
    BOOST_TEST((back == x));
    BOOST_TEST(
        std::get<index::ExpireItems>(index::decode_control(index::encode_control(index::ExpireItems{}))).items.empty());
    // Cut anywhere, the entry is refused rather than read short.
    for (std::size_t cut = 1; cut < bytes.size(); ++cut) {
        BOOST_CHECK_THROW((void)index::decode_entry(bytes.substr(0, cut)), index::CorruptRecord);
    }
}

BOOST_AUTO_TEST_SUITE_END()
