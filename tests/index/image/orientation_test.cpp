// EXIF orientation: the tag read from JPEG (both byte orders), PNG, WebP and
// TIFF; decode_image(apply) shows each of the eight orientations upright,
// as OpenCV's own EXIF handling does; decode_image(ignore) keeps the pixels
// as stored, as Datumaro does.
#define BOOST_TEST_MODULE exif_orientation
#include <boost/test/unit_test.hpp>

#include <cstring>
#include <span>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "index/image/decode.hpp"
#include "index/image/image_header.hpp"
#include "oriented_images.hpp"
#include "test_support.hpp"

using namespace ndrd;
using index::ExifOrientation;

namespace {

std::span<const std::byte> bytes_of(const std::string& s)
{
    return std::as_bytes(std::span(s.data(), s.size()));
}

// A small, asymmetric picture (no flip or turn of it equals another).
cv::Mat upright()
{
    const cv::Mat image = cv::imread(test::reference_image("chelsea.png").string(), cv::IMREAD_COLOR);
    cv::Mat small;
    cv::resize(image(cv::Rect(0, 0, 300, 200)), small, cv::Size(90, 60), 0, 0, cv::INTER_AREA);
    return small;
}

bool same(const cv::Mat& a, const cv::Mat& b)
{
    return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

} // namespace

BOOST_AUTO_TEST_SUITE(exif_orientation)

BOOST_AUTO_TEST_CASE(the_tag_is_read_from_every_format_that_carries_it)
{
    const cv::Mat up = upright();
    for (int tag = 1; tag <= 8; ++tag) {
        BOOST_TEST(index::inspect_image(bytes_of(test::jpeg_with_orientation(up, tag))).orientation == tag);
        BOOST_TEST(index::inspect_image(bytes_of(test::png_with_orientation(up, tag))).orientation == tag);
        BOOST_TEST(index::inspect_image(bytes_of(test::webp_with_orientation(up, tag))).orientation == tag);
        for (const bool big : {false, true}) {
            const auto h = index::inspect_image(bytes_of(test::tiff_header(640, 480, tag, big)));
            BOOST_TEST(h.orientation == tag);
            BOOST_TEST(h.width == 640U);
            BOOST_TEST(h.height == 480U);
        }
    }
}

BOOST_AUTO_TEST_CASE(a_missing_or_invalid_tag_means_as_stored)
{
    const cv::Mat up = upright();
    std::vector<unsigned char> plain;
    cv::imencode(".jpg", up, plain);
    const std::string jpeg(plain.begin(), plain.end());
    BOOST_TEST(index::inspect_image(bytes_of(jpeg)).orientation == 1);
    BOOST_TEST(index::inspect_image(bytes_of(test::jpeg_with_orientation(up, 9))).orientation == 1);
    BOOST_TEST(index::inspect_image(bytes_of(test::jpeg_with_orientation(up, 0))).orientation == 1);
    BOOST_TEST(index::inspect_image(bytes_of(test::tiff_header(8, 8, 200))).orientation == 1);
}

BOOST_AUTO_TEST_CASE(apply_shows_every_orientation_upright_and_ignore_keeps_the_stored_pixels)
{
    const cv::Mat up = upright();
    for (int tag = 1; tag <= 8; ++tag) {
        for (const std::string& file : {test::png_with_orientation(up, tag), test::webp_with_orientation(up, tag)}) {
            BOOST_TEST(same(index::decode_image(bytes_of(file), 64'000'000, std::nullopt, ExifOrientation::apply), up),
                       "tag " << tag);
            BOOST_TEST(same(index::decode_image(bytes_of(file)), test::stored_for(up, tag)), "tag " << tag);
        }
    }
}

BOOST_AUTO_TEST_CASE(jpeg_orientation_agrees_with_opencvs_own_exif_handling)
{
    const cv::Mat up = upright();
    for (int tag = 1; tag <= 8; ++tag) {
        const std::string jpeg = test::jpeg_with_orientation(up, tag);
        const cv::Mat buffer(1, static_cast<int>(jpeg.size()), CV_8UC1, const_cast<char*>(jpeg.data()));
        const cv::Mat opencv = cv::imdecode(buffer, cv::IMREAD_COLOR); // applies the EXIF orientation
        const cv::Mat ours = index::decode_image(bytes_of(jpeg), 64'000'000, std::nullopt, ExifOrientation::apply);
        BOOST_TEST(same(ours, opencv), "tag " << tag);
    }
}

BOOST_AUTO_TEST_CASE(a_reduced_decode_turns_the_grid_with_the_image)
{
    cv::Mat tall(1600, 800, CV_8UC3, cv::Scalar(10, 20, 30)); // upright: taller than wide
    cv::rectangle(tall, cv::Rect(100, 100, 200, 700), cv::Scalar(200, 100, 50), cv::FILLED);
    const std::string jpeg = test::jpeg_with_orientation(tall, 6); // stored 1600 wide, 800 high
    // The scale is chosen on the upright image: 4 columns x 8 rows over 800 x
    // 1600 allow 1/8 (every block 25 x 25). Chosen on the stored 1600 x 800,
    // the 8 rows would have only 800 / 8 / 8 = 12.5 pixels each at 1/8, and
    // it would be 1/4.
    const cv::Mat reduced = index::decode_image(bytes_of(jpeg), 64'000'000, cv::Size(4, 8), ExifOrientation::apply);
    BOOST_TEST(reduced.cols == 100);
    BOOST_TEST(reduced.rows == 200);
    // 7 columns x 13 rows: 1/4 upright; 1/2 had the grid not been turned.
    const cv::Mat narrow = index::decode_image(bytes_of(jpeg), 64'000'000, cv::Size(7, 13), ExifOrientation::apply);
    BOOST_TEST(narrow.cols == 200);
    BOOST_TEST(narrow.rows == 400);
}

BOOST_AUTO_TEST_SUITE_END()
