// Decoding the formats users' cameras and scrapers actually produce, beyond
// the reference set: CMYK JPEG is hashed (as Datumaro's OpenCV decodes it),
// images with channel counts Datumaro refuses are decode errors with a
// reason.
#define BOOST_TEST_MODULE decode
#include <boost/test/unit_test.hpp>

#include <cmath>

#include "index/decode.hpp"
#include "index/feature.hpp"
#include "test_support.hpp"

using namespace ndrd;

namespace {

std::vector<std::byte> hostile(const std::string& name)
{
    return test::read_bytes(test::fixtures() / "hostile" / name);
}

} // namespace

BOOST_AUTO_TEST_SUITE(decode)

BOOST_AUTO_TEST_CASE(configure_decoder_sets_opencvs_pixel_limit)
{
    index::configure_decoder(64'000'000);
    const char* limit = std::getenv("CV_IO_MAX_IMAGE_PIXELS");
    BOOST_TEST_REQUIRE(limit != nullptr);
    BOOST_TEST(std::string(limit) == "64000000");
}

BOOST_AUTO_TEST_CASE(cmyk_jpeg_decodes_to_three_channels_and_hashes)
{
    const cv::Mat image = index::decode_image(hostile("cmyk.jpg"));
    BOOST_TEST(image.channels() == 3);
    BOOST_TEST(image.depth() == CV_8U);
    BOOST_TEST(image.rows == 48);
    BOOST_TEST(image.cols == 64);
    const auto f = index::compute_feature(image, {8, 8});
    BOOST_TEST(!f.degenerate);
    double norm = 0;
    for (const double v : f.values) {
        BOOST_TEST_REQUIRE(std::isfinite(v));
        norm += v * v;
    }
    BOOST_TEST(norm == 1.0, boost::test_tools::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(five_and_two_channel_tiffs_are_decode_errors)
{
    for (const std::string name : {"five_channels.tif", "two_channels.tif"}) {
        BOOST_TEST_CONTEXT(name)
        {
            BOOST_CHECK_THROW((void)index::decode_image(hostile(name)), index::DecodeError);
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
