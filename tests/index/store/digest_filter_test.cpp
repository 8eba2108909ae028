// The in-memory digest fingerprints: every added digest is found, digests
// never added are almost never "maybe", adding twice counts once, and
// malformed digests are refused or never match.
#define BOOST_TEST_MODULE digest_filter
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "index/hash/split_mix64.hpp"
#include "index/store/digest_filter.hpp"

using ndrd::index::DigestFilter;

namespace {

std::string random_digest(ndrd::index::SplitMix64& rng)
{
    std::string d(DigestFilter::digest_bytes, '\0');
    for (std::size_t i = 0; i < d.size(); i += 8) {
        const std::uint64_t v = rng.next();
        std::memcpy(d.data() + i, &v, 8);
    }
    return d;
}

} // namespace

BOOST_AUTO_TEST_SUITE(digest_filter)

BOOST_AUTO_TEST_CASE(every_added_digest_is_found_and_others_almost_never)
{
    DigestFilter filter;
    ndrd::index::SplitMix64 rng(11);
    std::vector<std::string> added;
    for (int i = 0; i < 200'000; ++i) {
        added.push_back(random_digest(rng));
        filter.add(added.back());
    }
    for (const auto& d : added) {
        BOOST_TEST_REQUIRE(filter.may_contain(d));
    }
    // 32 bits of fingerprint: 200k digests answer "maybe" for about
    // 200k / 2^32 of the others, i.e. ~5 in 100k.
    int maybe = 0;
    for (int i = 0; i < 100'000; ++i) {
        maybe += filter.may_contain(random_digest(rng)) ? 1 : 0;
    }
    BOOST_TEST(maybe <= 30);
    BOOST_TEST(filter.size() <= added.size());
    BOOST_TEST(filter.size() >= added.size() - 30);
}

BOOST_AUTO_TEST_CASE(a_digest_differing_in_its_fingerprint_bytes_is_not_found)
{
    DigestFilter filter;
    const std::string d = "0123456789abcdef";
    filter.add(d);
    for (const std::size_t i : {0U, 1U, 2U, 3U}) {
        std::string other = d;
        other[i] = static_cast<char>(other[i] ^ 0x10);
        BOOST_TEST(!filter.may_contain(other), "byte " << i);
    }
    // The rest of the digest is not kept: RocksDB's entry decides.
    std::string tail = d;
    tail.back() = 'x';
    BOOST_TEST(filter.may_contain(tail));
}

BOOST_AUTO_TEST_CASE(adding_a_digest_again_keeps_one_fingerprint)
{
    DigestFilter filter;
    const std::string d(16, '\x42');
    filter.add(d);
    filter.add(d);
    BOOST_TEST(filter.size() == 1U);
    BOOST_TEST(filter.may_contain(d));
}

BOOST_AUTO_TEST_CASE(a_digest_of_the_wrong_length_is_refused_and_never_matches)
{
    DigestFilter filter;
    BOOST_CHECK_THROW(filter.add("short"), std::invalid_argument);
    BOOST_CHECK_THROW(filter.add(std::string(17, 'a')), std::invalid_argument);
    filter.add(std::string(16, 'a'));
    BOOST_TEST(!filter.may_contain(std::string(15, 'a')));
    BOOST_TEST(!filter.may_contain(""));
    BOOST_TEST(filter.size() == 1U);
}

BOOST_AUTO_TEST_SUITE_END()
