// The projection matrix: seeded generation, exact storage round trip, and the
// text import with errors that point at the offending line.
#define BOOST_TEST_MODULE projection
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "index/hash/projection.hpp"
#include "test_support.hpp"

using namespace ndrd;
using index::Projection;
using index::ProjectionError;

namespace {

// The message of the ProjectionError `fn` throws ("" if it throws nothing).
template <typename Fn> std::string error_of(Fn&& fn)
{
    try {
        fn();
    } catch (const ProjectionError& e) {
        return e.what();
    }
    return {};
}

bool contains(const std::string& haystack, const std::string& needle)
{
    return haystack.find(needle) != std::string::npos;
}

} // namespace

BOOST_AUTO_TEST_SUITE(projection_generate)

BOOST_AUTO_TEST_CASE(same_seed_gives_identical_bytes)
{
    const auto a = Projection::generate(42, 768, 32);
    const auto b = Projection::generate(42, 768, 32);
    BOOST_TEST(a.rows() == 768);
    BOOST_TEST(a.cols() == 32);
    BOOST_TEST(a.serialize() == b.serialize());
    // Bitwise, not merely ==: -0.0 == 0.0 would hide a difference.
    BOOST_TEST(std::memcmp(a.data().data(), b.data().data(), a.data().size_bytes()) == 0);
}

BOOST_AUTO_TEST_CASE(different_seeds_give_different_matrices)
{
    const auto a = Projection::generate(1, 768, 32);
    const auto b = Projection::generate(2, 768, 32);
    BOOST_TEST(a.serialize() != b.serialize());
    // Not just one entry: the streams are unrelated.
    int equal = 0;
    for (std::size_t i = 0; i < a.data().size(); ++i) {
        equal += a.data()[i] == b.data()[i] ? 1 : 0;
    }
    BOOST_TEST(equal == 0);
}

BOOST_AUTO_TEST_CASE(seed_zero_is_a_valid_seed)
{
    const auto p = Projection::generate(0, 768, 32);
    BOOST_TEST(p.orthonormality_error() < 1e-12);
    BOOST_TEST(p.serialize() != Projection::generate(1, 768, 32).serialize());
}

BOOST_AUTO_TEST_CASE(columns_are_orthonormal_for_every_supported_shape)
{
    for (const auto& [rows, cols] : {std::pair{768, 32}, {768, 16}, {768, 48}, {12, 12}}) {
        const auto p = Projection::generate(20261124, rows, cols);
        BOOST_TEST(p.rows() == rows);
        BOOST_TEST(p.cols() == cols);
        const double err = p.orthonormality_error();
        BOOST_TEST_MESSAGE(rows << "x" << cols << " orthonormality error " << err);
        BOOST_TEST(err < 1e-12, rows << "x" << cols << ": " << err);
    }
}

BOOST_AUTO_TEST_CASE(more_columns_than_rows_is_refused)
{
    const auto msg = error_of([] { (void)Projection::generate(1, 12, 13); });
    BOOST_TEST(contains(msg, "13"), msg);
    BOOST_TEST(contains(msg, "12"), msg);
}

BOOST_AUTO_TEST_CASE(orthonormality_error_detects_a_non_orthonormal_matrix)
{
    // The measure itself must be able to say "no".
    const Projection scaled(2, 2, {2.0, 0.0, 0.0, 1.0});
    BOOST_TEST(std::abs(scaled.orthonormality_error() - 3.0) < 1e-15);
    const Projection skew(2, 2, {1.0, 1.0, 0.0, 0.0});
    BOOST_TEST(std::abs(skew.orthonormality_error() - 1.0) < 1e-15);
}

BOOST_AUTO_TEST_CASE(shape_not_matching_data_is_refused)
{
    BOOST_CHECK_THROW(Projection(2, 3, std::vector<double>(5)), ProjectionError);
    BOOST_CHECK_THROW(Projection(0, 3, {}), ProjectionError);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(projection_storage)

BOOST_AUTO_TEST_CASE(serialize_deserialize_round_trips_exactly)
{
    const auto p = Projection::generate(99, 768, 32);
    const auto bytes = p.serialize();
    BOOST_TEST(bytes.size() == 8U + std::size_t{768} * 32U * sizeof(double));
    const auto q = Projection::deserialize(bytes);
    BOOST_TEST(q.rows() == 768);
    BOOST_TEST(q.cols() == 32);
    BOOST_TEST((q == p));
    BOOST_TEST(std::memcmp(q.data().data(), p.data().data(), p.data().size_bytes()) == 0);
    BOOST_TEST(q.serialize() == bytes);
}

BOOST_AUTO_TEST_CASE(special_values_survive_the_round_trip_bit_for_bit)
{
    const Projection p(1, 4, {-0.0, std::numeric_limits<double>::denorm_min(), 0.1, -1e308});
    const auto q = Projection::deserialize(p.serialize());
    BOOST_TEST(std::memcmp(q.data().data(), p.data().data(), p.data().size_bytes()) == 0);
    BOOST_TEST(std::signbit(q.at(0, 0)));
}

BOOST_AUTO_TEST_CASE(truncated_or_oversized_storage_is_refused)
{
    const auto bytes = Projection::generate(3, 12, 4).serialize();
    BOOST_CHECK_THROW(Projection::deserialize(bytes.substr(0, 7)), ProjectionError);
    BOOST_CHECK_THROW(Projection::deserialize(bytes.substr(0, bytes.size() - 1)), ProjectionError);
    BOOST_CHECK_THROW(Projection::deserialize(bytes + "x"), ProjectionError);
    BOOST_CHECK_THROW(Projection::deserialize({}), ProjectionError);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(projection_parse_text)

BOOST_AUTO_TEST_CASE(reference_768x32_file_parses_and_is_orthonormal)
{
    const auto text = test::read_file(test::reference() / "projection_768x32.txt");
    const auto p = Projection::parse_text(text, 768, 32, "projection_768x32.txt");
    BOOST_TEST(p.rows() == 768);
    BOOST_TEST(p.cols() == 32);
    const double err = p.orthonormality_error();
    BOOST_TEST_MESSAGE("reference projection orthonormality error " << err);
    BOOST_TEST(err < 1e-12);
    // First value of the file, read exactly (%.17g round-trips a double).
    BOOST_TEST(p.at(0, 0) == 0.036445879956624558);
    BOOST_TEST(p.at(0, 1) == 0.019892916072041328);
}

BOOST_AUTO_TEST_CASE(reference_768x16_is_the_first_16_columns_of_768x32)
{
    const auto p32 =
        Projection::parse_text(test::read_file(test::reference() / "projection_768x32.txt"), 768, 32, "p32");
    const auto p16 =
        Projection::parse_text(test::read_file(test::reference() / "projection_768x16.txt"), 768, 16, "p16");
    for (int r = 0; r < 768; ++r) {
        for (int c = 0; c < 16; ++c) {
            BOOST_TEST_REQUIRE(p16.at(r, c) == p32.at(r, c), "row " << r << " col " << c);
        }
    }
}

BOOST_AUTO_TEST_CASE(reference_file_with_the_wrong_hash_dim_names_line_1)
{
    const auto text = test::read_file(test::reference() / "projection_768x32.txt");
    const auto msg = error_of([&] { (void)Projection::parse_text(text, 768, 16, "p.txt"); });
    BOOST_TEST(contains(msg, "p.txt:1:"), msg);
    BOOST_TEST(contains(msg, "expected 16"), msg);
    BOOST_TEST(contains(msg, "found 32"), msg);
}

BOOST_AUTO_TEST_CASE(commas_tabs_crlf_and_blank_lines_are_accepted)
{
    const std::string text = "1, 0\t0\r\n\n  0 1 0 \r\n0,0,1\n\n";
    const auto p = Projection::parse_text(text, 3, 3, "t");
    BOOST_TEST(p.orthonormality_error() == 0.0);
    BOOST_TEST(p.at(1, 1) == 1.0);
    BOOST_TEST(p.at(2, 2) == 1.0);
    BOOST_TEST(p.at(0, 1) == 0.0);
}

BOOST_AUTO_TEST_CASE(wrong_count_on_a_line_names_that_line)
{
    const std::string text = "1 2 3\n4 5 6\n7 8\n10 11 12\n";
    const auto msg = error_of([&] { (void)Projection::parse_text(text, 4, 3, "m.txt"); });
    BOOST_TEST(contains(msg, "m.txt:3:"), msg);
    BOOST_TEST(contains(msg, "expected 3"), msg);
    BOOST_TEST(contains(msg, "found 2"), msg);

    const std::string extra = "1 2 3\n4 5 6 7\n";
    const auto msg2 = error_of([&] { (void)Projection::parse_text(extra, 2, 3, "m.txt"); });
    BOOST_TEST(contains(msg2, "m.txt:2:"), msg2);
    BOOST_TEST(contains(msg2, "found 4"), msg2);
}

BOOST_AUTO_TEST_CASE(line_numbers_count_blank_lines)
{
    const std::string text = "1 2\n\n\n3 x\n";
    const auto msg = error_of([&] { (void)Projection::parse_text(text, 2, 2, "b.txt"); });
    BOOST_TEST(contains(msg, "b.txt:4:"), msg);
}

BOOST_AUTO_TEST_CASE(non_number_names_its_line_and_the_text)
{
    const std::string text = "1 2 3\n4 five 6\n7 8 9\n";
    const auto msg = error_of([&] { (void)Projection::parse_text(text, 3, 3, "n.txt"); });
    BOOST_TEST(contains(msg, "n.txt:2:"), msg);
    BOOST_TEST(contains(msg, "five"), msg);

    const auto msg2 = error_of([&] { (void)Projection::parse_text("1 2\n3 4abc\n", 2, 2, "n.txt"); });
    BOOST_TEST(contains(msg2, "n.txt:2:"), msg2);
}

BOOST_AUTO_TEST_CASE(too_few_rows_says_how_many_were_expected_and_found)
{
    const std::string text = "1 2\n3 4\n5 6\n";
    const auto msg = error_of([&] { (void)Projection::parse_text(text, 4, 2, "f.txt"); });
    BOOST_TEST(!msg.empty());
    BOOST_TEST(contains(msg, "f.txt"), msg);
    BOOST_TEST(contains(msg, "expected 4 rows"), msg);
    BOOST_TEST(contains(msg, "found 3"), msg);

    const auto empty = error_of([&] { (void)Projection::parse_text("", 4, 2, "e.txt"); });
    BOOST_TEST(contains(empty, "found 0"), empty);
}

BOOST_AUTO_TEST_CASE(too_many_rows_names_the_first_extra_line)
{
    const std::string text = "1 2\n3 4\n5 6\n\n7 8\n";
    const auto msg = error_of([&] { (void)Projection::parse_text(text, 3, 2, "x.txt"); });
    BOOST_TEST(contains(msg, "x.txt:5:"), msg);
    BOOST_TEST(contains(msg, "more than 3 rows"), msg);
}

BOOST_AUTO_TEST_CASE(nan_and_infinity_are_refused_with_their_line)
{
    for (const std::string bad : {"nan", "NaN", "inf", "-inf", "infinity", "1e400"}) {
        const std::string text = "1 0\n0 " + bad + "\n";
        const auto msg = error_of([&] { (void)Projection::parse_text(text, 2, 2, "i.txt"); });
        BOOST_TEST(contains(msg, "i.txt:2:"), bad << ": " << msg);
        BOOST_TEST(contains(msg, "finite"), bad << ": " << msg);
    }
}

BOOST_AUTO_TEST_SUITE_END()
