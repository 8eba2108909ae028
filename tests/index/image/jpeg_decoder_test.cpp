// The TurboJPEG decode gives exactly cv::imdecode's pixels, at full size and
// at every reduced scale, for every chroma subsampling and for progressive
// files; and it declines (nullopt, so OpenCV decides) grayscale, damaged and
// non-JPEG input.
#define BOOST_TEST_MODULE jpeg_decoder
#include <boost/test/unit_test.hpp>

#include <turbojpeg.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "index/image/jpeg_decoder.hpp"
#include "test_support.hpp"

using namespace ndrd;

namespace {

// A deterministic colourful image with fine detail, so that every DCT
// coefficient and the chroma upsampling matter.
cv::Mat pattern(int rows, int cols)
{
    cv::Mat m(rows, cols, CV_8UC3);
    std::uint32_t state = 12345;
    for (int y = 0; y < rows; ++y) {
        for (int x = 0; x < cols; ++x) {
            state = state * 1664525U + 1013904223U;
            const auto noise = static_cast<int>(state >> 27U);
            m.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<std::uint8_t>((x * 7 + noise) & 0xFF),
                                              static_cast<std::uint8_t>((y * 5 + x * 3) & 0xFF),
                                              static_cast<std::uint8_t>(((x ^ y) * 11 + noise * 3) & 0xFF));
        }
    }
    return m;
}

struct TjFree {
    void operator()(unsigned char* p) const { tjFree(p); }
};
struct TjDestroy {
    void operator()(void* h) const { (void)tjDestroy(h); }
};

// Encoded with TurboJPEG's encoder, which (unlike OpenCV 4.6's) can choose
// the chroma subsampling.
std::vector<std::byte> encode(const cv::Mat& bgr, int subsampling, int flags, int quality = 90)
{
    const std::unique_ptr<void, TjDestroy> tj(tjInitCompress());
    BOOST_TEST_REQUIRE(tj != nullptr);
    unsigned char* out = nullptr;
    unsigned long size = 0;
    const int rc =
        tjCompress2(tj.get(), bgr.data, bgr.cols, 0, bgr.rows, TJPF_BGR, &out, &size, subsampling, quality, flags);
    const std::unique_ptr<unsigned char, TjFree> owned(out);
    BOOST_TEST_REQUIRE(rc == 0, tjGetErrorStr2(tj.get()));
    const auto* first = reinterpret_cast<const std::byte*>(out); // NOLINT(*-reinterpret-cast)
    return {first, first + size};
}

cv::Mat opencv_decode(const std::vector<std::byte>& bytes, int scale)
{
    const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8UC1,
                         const_cast<std::byte*>(bytes.data())); // NOLINT(cppcoreguidelines-pro-type-const-cast)
    switch (scale) {
    case 2: return cv::imdecode(buffer, cv::IMREAD_REDUCED_COLOR_2 | cv::IMREAD_IGNORE_ORIENTATION);
    case 4: return cv::imdecode(buffer, cv::IMREAD_REDUCED_COLOR_4 | cv::IMREAD_IGNORE_ORIENTATION);
    case 8: return cv::imdecode(buffer, cv::IMREAD_REDUCED_COLOR_8 | cv::IMREAD_IGNORE_ORIENTATION);
    default: return cv::imdecode(buffer, cv::IMREAD_UNCHANGED);
    }
}

// Same size, type and every byte.
void check_same_as_opencv(const std::vector<std::byte>& bytes, int scale, const std::string& what)
{
    const auto ours = index::decode_jpeg_bgr(bytes, scale);
    const cv::Mat theirs = opencv_decode(bytes, scale);
    BOOST_TEST_REQUIRE(!theirs.empty(), what);
    BOOST_TEST_REQUIRE(ours.has_value(), what);
    BOOST_TEST_REQUIRE(ours->type() == theirs.type(), what);
    BOOST_TEST_REQUIRE(ours->size() == theirs.size(), what << ": " << ours->size() << " vs " << theirs.size());
    BOOST_TEST(cv::norm(*ours, theirs, cv::NORM_INF) == 0.0, what);
}

} // namespace

BOOST_AUTO_TEST_SUITE(jpeg_decoder)

BOOST_AUTO_TEST_CASE(pixels_equal_opencvs_for_every_subsampling_size_scale_and_progressive)
{
    const std::vector<cv::Size> sizes = {{1, 1}, {7, 5}, {17, 9}, {64, 48}, {333, 251}, {1001, 733}};
    const std::vector<std::pair<int, const char*>> subsamplings = {{TJSAMP_444, "4:4:4"},
                                                                   {TJSAMP_422, "4:2:2"},
                                                                   {TJSAMP_420, "4:2:0"},
                                                                   {TJSAMP_440, "4:4:0"},
                                                                   {TJSAMP_411, "4:1:1"}};
    for (const auto& size : sizes) {
        const cv::Mat image = pattern(size.height, size.width);
        for (const auto& [subsampling, name] : subsamplings) {
            for (const int flags : {0, TJFLAG_PROGRESSIVE}) {
                const auto bytes = encode(image, subsampling, flags);
                for (const int scale : {1, 2, 4, 8}) {
                    check_same_as_opencv(bytes, scale,
                                         std::to_string(size.width) + "x" + std::to_string(size.height) + " " + name +
                                             (flags != 0 ? " progressive" : "") + " 1/" + std::to_string(scale));
                }
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(pixels_equal_opencvs_on_the_reference_jpegs)
{
    int seen = 0;
    for (const auto& entry : std::filesystem::directory_iterator(test::fixtures() / "reference" / "images")) {
        if (entry.path().extension() != ".jpg") {
            continue;
        }
        const auto bytes = test::read_bytes(entry.path());
        if (opencv_decode(bytes, 1).channels() == 1) { // a grayscale JPEG: OpenCV's to decode
            BOOST_TEST(!index::decode_jpeg_bgr(bytes).has_value(), entry.path().filename());
            continue;
        }
        for (const int scale : {1, 2, 4, 8}) {
            check_same_as_opencv(bytes, scale, entry.path().filename().string() + " 1/" + std::to_string(scale));
        }
        ++seen;
    }
    BOOST_TEST(seen >= 5);
}

BOOST_AUTO_TEST_CASE(grayscale_jpeg_is_left_to_opencv)
{
    const auto bytes = encode(pattern(40, 30), TJSAMP_GRAY, 0);
    BOOST_TEST(!index::decode_jpeg_bgr(bytes).has_value());
    BOOST_TEST(!opencv_decode(bytes, 1).empty()); // a valid file, which OpenCV decodes to one channel
}

BOOST_AUTO_TEST_CASE(damaged_and_foreign_input_is_left_to_opencv)
{
    auto bytes = encode(pattern(200, 160), TJSAMP_420, 0);
    const std::vector<std::byte> truncated(bytes.begin(),
                                           bytes.begin() + static_cast<std::ptrdiff_t>(bytes.size() / 2));
    BOOST_TEST(!index::decode_jpeg_bgr(truncated).has_value(), "a warning (premature end) must not pass");
    auto corrupt = bytes;
    for (std::size_t i = bytes.size() / 3; i < bytes.size() / 3 + 64; ++i) {
        corrupt[i] = std::byte{0xFF};
    }
    BOOST_TEST(!index::decode_jpeg_bgr(corrupt).has_value());
    BOOST_TEST(!index::decode_jpeg_bgr({}).has_value());
    const std::vector<std::byte> text = {std::byte{'h'}, std::byte{'i'}, std::byte{'!'}};
    BOOST_TEST(!index::decode_jpeg_bgr(text).has_value());
    BOOST_TEST(!index::decode_jpeg_bgr(bytes, 3).has_value(), "only 1, 2, 4 and 8 are libjpeg's scales here");
    BOOST_TEST(index::decode_jpeg_bgr(bytes, 1).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
