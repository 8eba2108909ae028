// The gradient feature against Datumaro's own numbers, and its quirks.
#define BOOST_TEST_MODULE feature
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <vector>

#include "reference_data.hpp"

using namespace ndrd;

BOOST_AUTO_TEST_SUITE(gradient_feature)

BOOST_AUTO_TEST_CASE(every_reference_image_matches_datumaro_within_1e_5)
{
    const auto golden = test::golden_features();
    BOOST_REQUIRE_EQUAL(golden.size(), 65U);
    double worst = 0.0;
    std::string worst_file;
    double worst_resize_path = 0.0; // the area-weight and cv::resize paths: Datumaro's numbers
    int fast = 0;
    int area = 0;
    for (const auto& [file, expected] : golden) {
        const auto f = test::feature_of(file);
        const auto image = index::decode_image(test::read_bytes(test::reference() / "images" / file));
        const bool block_sums = index::uses_block_sums(image, {8, 8});
        fast += block_sums ? 1 : 0;
        area += index::uses_area_weights(image, {8, 8}) ? 1 : 0;
        BOOST_REQUIRE_EQUAL(f.values.size(), 768U);
        if (expected.empty()) {
            BOOST_TEST(f.degenerate, file << " is NaN in Datumaro: must be flagged degenerate");
            continue;
        }
        BOOST_TEST(!f.degenerate, file);
        for (std::size_t i = 0; i < expected.size(); ++i) {
            const double d = std::abs(f.values[i] - expected[i]);
            if (d > worst) {
                worst = d;
                worst_file = file;
            }
            if (!block_sums) worst_resize_path = std::max(worst_resize_path, d);
        }
    }
    BOOST_TEST_MESSAGE("max abs feature difference: " << worst << " (" << worst_file << "); " << fast
                                                      << " images on the integer block-sum path, " << area
                                                      << " on the area-weight path; max on the "
                                                         "area-weight and cv::resize paths: "
                                                      << worst_resize_path);
    BOOST_TEST(worst <= 1e-5);
    // Both paths are exercised by the reference set.
    BOOST_TEST(fast >= 20);
    BOOST_TEST(fast < 64);
    BOOST_TEST(area >= 20);
    // OpenCV's INTER_AREA on float64, as Datumaro: near bit-exact.
    BOOST_TEST(worst_resize_path <= 1e-12);
}

BOOST_AUTO_TEST_CASE(features_are_unit_length)
{
    const auto f = test::feature_of("chelsea.png");
    double n = 0;
    for (double v : f.values)
        n += v * v;
    BOOST_TEST(std::abs(n - 1.0) < 1e-12);
}

BOOST_AUTO_TEST_CASE(gray_bgr_and_gray_alpha_give_identical_features)
{
    const auto gray = test::feature_of("synth_gray8.png");
    BOOST_TEST(gray.values == test::feature_of("synth_gray8_as_bgr.png").values, boost::test_tools::per_element());
    BOOST_TEST(gray.values == test::feature_of("synth_gray_alpha.png").values, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(alpha_channel_is_dropped)
{
    BOOST_TEST(test::feature_of("synth_bgr.png").values == test::feature_of("synth_bgra_alpha.png").values,
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(exif_orientation_is_ignored_like_datumaro)
{
    const auto bytes = test::read_bytes(test::reference() / "images" / "synth_exif_orient6.jpg");
    const auto img = index::decode_image(bytes);
    BOOST_TEST(img.rows == 106);
    BOOST_TEST(img.cols == 160);
}

BOOST_AUTO_TEST_CASE(sixteen_bit_depth_is_used_unscaled_and_matches_8_bit)
{
    const auto g8 = test::feature_of("synth_gray8.png");
    const auto g16 = test::feature_of("synth_gray16.png");
    const auto img = index::decode_image(test::read_bytes(test::reference() / "images" / "synth_gray16.png"));
    BOOST_TEST(img.depth() == CV_16U);
    // 8-bit takes the block-sum path, 16-bit Datumaro's resize path.
    for (std::size_t i = 0; i < g8.values.size(); ++i) {
        BOOST_TEST(std::abs(g8.values[i] - g16.values[i]) < 1e-6);
    }
}

BOOST_AUTO_TEST_CASE(block_sums_agree_with_the_resize_path_on_every_integer_scale_image)
{
    // The same pixels as 16-bit (x257) go through cv::resize on CV_64F; the
    // feature is scale-free, so only the two computations differ.
    int compared = 0;
    double worst = 0;
    for (const auto& entry : std::filesystem::directory_iterator(test::reference() / "images")) {
        const auto image = index::decode_image(test::read_bytes(entry.path()));
        if (!index::uses_block_sums(image, {8, 8})) continue;
        cv::Mat wide;
        image.convertTo(wide, CV_16UC3, 257.0);
        const auto fast = index::compute_feature(image, {8, 8});
        const auto slow = index::compute_feature(wide, {8, 8});
        BOOST_TEST(fast.degenerate == slow.degenerate);
        for (std::size_t i = 0; i < fast.values.size(); ++i) {
            worst = std::max(worst, std::abs(fast.values[i] - slow.values[i]));
        }
        ++compared;
    }
    BOOST_TEST_MESSAGE(compared << " images, max abs difference " << worst);
    BOOST_TEST(compared >= 20);
    BOOST_TEST(worst < 1e-6);
}

BOOST_AUTO_TEST_CASE(area_weights_give_the_bits_of_cv_resize_on_sides_off_the_grid)
{
    // The same pixels as float64 in [0, 1] take Datumaro's own path:
    // convertTo(CV_64F) and cv::resize(INTER_AREA). Equality is exact: an
    // exact area average instead of OpenCV's float32 weights, or another
    // order of additions, changes the last bits.
    cv::RNG rng(20261127);
    std::vector<cv::Size> sizes{{500, 375}, {240, 135}, {9, 9}, {8, 17}, {17, 8}, {4000 / 8 + 3, 11}};
    for (int i = 0; i < 60; ++i) {
        sizes.emplace_back(rng.uniform(8, 700), rng.uniform(8, 700));
    }
    int compared = 0;
    for (const cv::Size size : sizes) {
        cv::Mat image(size, CV_8UC3);
        rng.fill(image, cv::RNG::UNIFORM, 0, 256);
        if (index::uses_block_sums(image, {8, 8})) continue;
        BOOST_TEST_REQUIRE(index::uses_area_weights(image, {8, 8}));
        cv::Mat unit;
        image.convertTo(unit, CV_64FC3, 1.0 / 255.0);
        BOOST_TEST_REQUIRE(!index::uses_area_weights(unit, {8, 8}));
        const auto fast = index::compute_feature(image, {8, 8});
        const auto reference = index::compute_feature(unit, {8, 8});
        BOOST_TEST_CONTEXT("image " << size.width << "x" << size.height)
        {
            BOOST_TEST(fast.values == reference.values, boost::test_tools::per_element());
        }
        ++compared;
    }
    BOOST_TEST(compared >= 50);
}

BOOST_AUTO_TEST_CASE(images_under_the_grid_size_keep_cv_resize)
{
    // Under 8 pixels on a side OpenCV interpolates instead of decimating;
    // that fallback stays with cv::resize.
    cv::Mat image(5, 300, CV_8UC3);
    cv::randu(image, 0, 256);
    BOOST_TEST(!index::uses_area_weights(image, {8, 8}));
    BOOST_TEST(!index::uses_block_sums(image, {8, 8}));
    BOOST_TEST(index::compute_feature(image, {8, 8}).values.size() == 768U);
}

BOOST_AUTO_TEST_CASE(blocks_taller_than_a_32_bit_column_sum_holds_stay_exact)
{
    // 70000-row blocks of bright pixels: a 32-bit column sum of squares
    // overflows after 66051 rows of 255, so the fast path must flush early.
    cv::Mat image(8 * 70000, 8, CV_8UC3);
    cv::randu(image, 250, 256);
    BOOST_TEST_REQUIRE(index::uses_block_sums(image, {8, 8}));
    cv::Mat wide;
    image.convertTo(wide, CV_16UC3, 257.0);
    const auto fast = index::compute_feature(image, {8, 8});
    const auto slow = index::compute_feature(wide, {8, 8});
    double worst = 0;
    for (std::size_t i = 0; i < fast.values.size(); ++i) {
        worst = std::max(worst, std::abs(fast.values[i] - slow.values[i]));
    }
    BOOST_TEST(worst < 1e-6);
}

BOOST_AUTO_TEST_CASE(all_black_image_is_degenerate_zero_vector)
{
    const auto f = test::feature_of("synth_black.png");
    BOOST_TEST(f.degenerate);
    for (double v : f.values)
        BOOST_TEST(v == 0.0);
}

BOOST_AUTO_TEST_CASE(grid_shape_sets_feature_dimension)
{
    const auto bytes = test::read_bytes(test::reference() / "images" / "coffee.png");
    const auto f = index::compute_feature(index::decode_image(bytes), index::Grid{4, 6});
    BOOST_TEST(f.values.size() == 4U * 6U * 12U);
}

BOOST_AUTO_TEST_CASE(truncated_jpeg_is_a_decode_error)
{
    const auto bytes = test::read_bytes(test::reference() / "images_undecodable" / "truncated.jpg");
    BOOST_CHECK_THROW(index::decode_image(bytes), index::DecodeError);
}

BOOST_AUTO_TEST_CASE(text_and_empty_input_are_decode_errors)
{
    const std::string text = "hello, this is not an image\n";
    const auto* p = reinterpret_cast<const std::byte*>(text.data());
    BOOST_CHECK_THROW(index::decode_image({p, text.size()}), index::DecodeError);
    BOOST_CHECK_THROW(index::decode_image({}), index::DecodeError);
}

BOOST_AUTO_TEST_CASE(two_channel_image_is_rejected_with_reason)
{
    const cv::Mat two(4, 4, CV_8UC2, cv::Scalar(1, 2));
    try {
        (void)index::to_three_channels(two);
        BOOST_FAIL("expected DecodeError");
    } catch (const index::DecodeError& e) {
        BOOST_TEST(std::string(e.what()).find("channel count 2") != std::string::npos);
    }
}

BOOST_AUTO_TEST_SUITE_END()
