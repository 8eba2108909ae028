// Keys with the fixed projections equal Datumaro's _project output.
#define BOOST_TEST_MODULE key
#include <boost/test/unit_test.hpp>

#include "index/hash/key.hpp"
#include "reference_data.hpp"

using namespace ndrd;

BOOST_AUTO_TEST_SUITE(hash_key)

BOOST_AUTO_TEST_CASE(keys_equal_datumaro_for_32_and_16_bits)
{
    const auto p32 = test::golden_projection(32);
    const auto p16 = test::golden_projection(16);
    int checked = 0;
    for (const auto& row : test::read_csv(test::reference() / "keys.csv")) {
        const auto f = test::feature_of(row.at(0));
        if (row.at(1) == "nan") {
            // Datumaro's NaN feature sets no bit; our degenerate feature keeps that key.
            BOOST_TEST(index::compute_key(f, p32).hex() == "00000000");
            continue;
        }
        BOOST_TEST(index::compute_key(f, p32).hex() == row.at(1), row.at(0));
        BOOST_TEST(index::compute_key(f, p16).hex() == row.at(2), row.at(0));
        ++checked;
    }
    BOOST_TEST(checked == 64);
}

BOOST_AUTO_TEST_CASE(hex_round_trips_and_pads_odd_bit_counts)
{
    const auto k = index::Key::from_hex("5c1172d0");
    BOOST_TEST(k.bytes.size() == 4U);
    BOOST_TEST(k.hex() == "5c1172d0");
    // 12 bits -> 2 bytes, the last 4 bits zero (numpy.packbits pads with zeros).
    const auto p = index::Projection::generate(1, 768, 12);
    const auto f = test::feature_of("coffee.png");
    const auto key = index::compute_key(f, p);
    BOOST_TEST(key.bytes.size() == 2U);
    BOOST_TEST((static_cast<unsigned char>(key.bytes[1]) & 0x0fU) == 0U);
}

BOOST_AUTO_TEST_CASE(zero_dot_product_sets_the_bit)
{
    index::Feature f;
    f.values.assign(768, 0.0);
    f.values[0] = 1.0;
    std::vector<double> m(std::size_t{768} * 8, 0.0);
    m[0 * 8 + 0] = -1.0; // bit 0: negative
    m[1 * 8 + 1] = 1.0;  // bit 1: dot 0 -> set
    const index::Projection p(768, 8, m);
    BOOST_TEST(index::compute_key(f, p).hex() == "7f");
}

BOOST_AUTO_TEST_CASE(wrong_feature_dimension_is_refused)
{
    index::Feature f;
    f.values.assign(100, 0.1);
    BOOST_CHECK_THROW((void)index::compute_key(f, test::golden_projection(32)), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
