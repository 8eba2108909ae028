// Decoding the formats users' cameras and scrapers actually produce, beyond
// the reference set: CMYK JPEG is hashed (as Datumaro's OpenCV decodes it),
// images with channel counts Datumaro refuses are decode errors with a
// reason.
#define BOOST_TEST_MODULE decode
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <span>
#include <vector>

#include <opencv2/imgcodecs.hpp>

#include "index/hash/feature.hpp"
#include "index/image/decode.hpp"
#include "index/image/image_header.hpp"
#include "test_support.hpp"

using namespace ndrd;

namespace {

std::vector<std::byte> hostile(const std::string& name)
{
    return test::read_bytes(test::fixtures() / "hostile" / name);
}

} // namespace

BOOST_AUTO_TEST_SUITE(decode)

BOOST_AUTO_TEST_CASE(a_bmp_declaring_more_than_max_pixels_is_refused_before_decoding)
{
    // decode_fuzz's finding: 50 bytes, a BMP header (after a PNG signature at
    // offset 4) declaring 21060 x 40960 pixels; OpenCV allocated 2.6 GB for it.
    const unsigned char bomb[] = {0x42, 0x4d, 0xff, 0x24, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00,
                                  0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0xa0, 0x00, 0x00,
                                  0x32, 0x78, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x59, 0x7a, 0x2b, 0x00, 0xdd,
                                  0x52, 0x2b, 0xe6, 0x9c, 0x00, 0x40, 0x37, 0xb0, 0xd6, 0x9c, 0xfc};
    const auto bytes = std::as_bytes(std::span(bomb));
    const auto header = index::inspect_image(bytes);
    BOOST_TEST((header.format == index::ImageHeader::Format::bmp));
    BOOST_TEST(header.width == 21060U);
    BOOST_TEST(header.height == 40960U);
    BOOST_CHECK_EXCEPTION((void)index::decode_image(bytes, 64'000'000), index::DecodeError,
                          [](const index::DecodeError& e) { return e.kind() == "too_many_pixels"; });
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

BOOST_AUTO_TEST_CASE(file_that_made_gdcm_abort_is_refused_before_opencv)
{
    // Found by decode_fuzz: before the format check, this aborted the process.
    try {
        (void)index::decode_image(hostile("gdcm_abort.jpg"));
        BOOST_FAIL("decoded a file that is no image");
    } catch (const index::DecodeError& e) {
        BOOST_TEST(e.kind() == "unsupported_format");
    }
}

BOOST_AUTO_TEST_CASE(webp_that_opencv_would_hand_to_gdcm_is_refused_before_opencv)
{
    // Found by decode_fuzz: RIFF/WEBP that libwebp's header check refuses,
    // with "DICM" at offset 128. OpenCV's WebP decoder did not claim it, so
    // OpenCV tried GDCM, which aborted the process.
    const auto bytes = hostile("webp_gdcm_abort.webp");
    BOOST_TEST((index::inspect_image(bytes).format == index::ImageHeader::Format::webp));
    try {
        (void)index::decode_image(bytes);
        BOOST_FAIL("decoded a file that is no image");
    } catch (const index::DecodeError& e) {
        BOOST_TEST(e.kind() == "corrupt");
    }
}

BOOST_AUTO_TEST_CASE(every_supported_format_as_opencv_writes_it_decodes)
{
    // The signature table must agree with OpenCV's decoders: a format named
    // there that OpenCV then refuses (or the reverse) would be a silent gap.
    cv::Mat img(24, 32, CV_8UC3);
    cv::randu(img, 0, 255);
    cv::Mat gray;
    cv::extractChannel(img, gray, 0);
    for (const std::string ext : {".jpg", ".png", ".tif", ".bmp", ".webp", ".ppm", ".pgm"}) {
        BOOST_TEST_CONTEXT(ext)
        {
            std::vector<unsigned char> encoded;
            BOOST_TEST_REQUIRE(cv::imencode(ext, ext == ".pgm" ? gray : img, encoded));
            const auto bytes = std::as_bytes(std::span(encoded));
            const cv::Mat decoded = index::decode_image(bytes);
            BOOST_TEST(decoded.rows == 24);
            BOOST_TEST(decoded.cols == 32);
            BOOST_TEST(decoded.channels() == 3);
        }
    }
}

BOOST_AUTO_TEST_CASE(formats_outside_the_list_are_refused_without_decoding)
{
    cv::Mat img(64, 64, CV_8UC3, cv::Scalar(10, 20, 30)); // OpenJPEG wants 64x64 at least
    for (const std::string ext : {".jp2", ".ras", ".pfm", ".hdr", ".pam"}) {
        BOOST_TEST_CONTEXT(ext)
        {
            std::vector<unsigned char> encoded;
            cv::Mat src = img;
            if (ext == ".pfm" || ext == ".hdr") img.convertTo(src, CV_32FC3, 1.0 / 255);
            BOOST_TEST_REQUIRE(cv::imencode(ext, src, encoded));
            BOOST_TEST_REQUIRE(!cv::imdecode(encoded, cv::IMREAD_UNCHANGED).empty()); // OpenCV would take it
            try {
                (void)index::decode_image(std::as_bytes(std::span(encoded)));
                BOOST_FAIL("decoded " << ext);
            } catch (const index::DecodeError& e) {
                BOOST_TEST(e.kind() == "unsupported_format");
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(reduced_scale_keeps_16x16_pixels_per_block)
{
    const cv::Size g = index::Grid{8, 8}.blocks();
    BOOST_TEST(index::reduced_scale(1920, 1080, g) == 8); // 240x135: 30x16 per block
    BOOST_TEST(index::reduced_scale(4000, 3000, g) == 8);
    BOOST_TEST(index::reduced_scale(1024, 768, g) == 4); // 768/8 = 96 < 128
    BOOST_TEST(index::reduced_scale(512, 512, g) == 4);
    BOOST_TEST(index::reduced_scale(300, 300, g) == 2);
    BOOST_TEST(index::reduced_scale(255, 4000, g) == 1);
}

BOOST_AUTO_TEST_CASE(reduced_decode_shrinks_jpeg_only_and_keeps_the_feature_close)
{
    // A smooth synthetic photo stand-in, 1024x768, as JPEG and PNG.
    cv::Mat img(768, 1024, CV_8UC3);
    cv::RNG rng(5);
    for (int y = 0; y < img.rows; ++y) {
        for (int x = 0; x < img.cols; ++x) {
            img.at<cv::Vec3b>(y, x) =
                cv::Vec3b(static_cast<std::uint8_t>((x / 4 + y / 8) % 256), static_cast<std::uint8_t>((y / 3) % 256),
                          static_cast<std::uint8_t>(128 + rng.uniform(-20, 20)));
        }
    }
    std::vector<std::uint8_t> jpeg;
    std::vector<std::uint8_t> png;
    BOOST_TEST_REQUIRE(cv::imencode(".jpg", img, jpeg, {cv::IMWRITE_JPEG_QUALITY, 90}));
    BOOST_TEST_REQUIRE(cv::imencode(".png", img, png));
    const auto as_bytes = [](const std::vector<std::uint8_t>& v) {
        return std::span(reinterpret_cast<const std::byte*>(v.data()), v.size()); // NOLINT
    };
    const index::Grid grid{8, 8};
    const cv::Size g = grid.blocks();
    const cv::Mat full = index::decode_image(as_bytes(jpeg));
    const cv::Mat small = index::decode_image(as_bytes(jpeg), 64'000'000, g);
    BOOST_TEST(full.cols == 1024);
    BOOST_TEST(small.cols == 256);
    BOOST_TEST(small.rows == 192);
    BOOST_TEST(small.channels() == 3);
    BOOST_TEST(index::decode_image(as_bytes(png), 64'000'000, g).cols == 1024); // not a JPEG: full
    const auto a = index::compute_feature(full, grid);
    const auto b = index::compute_feature(small, grid);
    double dot = 0;
    for (std::size_t i = 0; i < a.values.size(); ++i) {
        dot += a.values[i] * b.values[i];
    }
    BOOST_TEST_MESSAGE("dot(full, 1/4 decode) = " << dot);
    BOOST_TEST(dot > 0.99);
}

BOOST_AUTO_TEST_SUITE_END()
