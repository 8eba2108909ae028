// Structural checks before decoding: truncated files and decompression bombs
// are refused; complete files (with trailers) pass.
#define BOOST_TEST_MODULE image_header
#include <boost/test/unit_test.hpp>

#include <string>
#include <utility>

#include <zlib.h>

#include <opencv2/imgcodecs.hpp>

#include "index/image/decode.hpp"
#include "index/image/image_header.hpp"
#include "test_support.hpp"

using namespace ndrd;

namespace {

std::vector<std::byte> image_bytes(const std::string& name)
{
    return test::read_bytes(test::reference() / "images" / name);
}

// The DecodeError decode_image throws, as (kind, message); empty if it decodes.
std::pair<std::string, std::string> decode_failure(std::span<const std::byte> bytes, std::uint64_t max_pixels)
{
    try {
        (void)index::decode_image(bytes, max_pixels);
    } catch (const index::DecodeError& e) {
        return {std::string(e.kind()), e.what()};
    }
    return {};
}

std::string decode_error(std::span<const std::byte> bytes, std::uint64_t max_pixels = 64'000'000)
{
    return decode_failure(bytes, max_pixels).second;
}

// Bytes in either byte order, for hand-built PNG, TIFF and WebP files.
struct Writer {
    std::vector<std::byte> out;
    bool big_endian = false;
    void put(std::uint64_t v, int size)
    {
        for (int i = 0; i < size; ++i) {
            const int shift = 8 * (big_endian ? size - 1 - i : i);
            out.push_back(static_cast<std::byte>((v >> shift) & 0xFFU));
        }
    }
    void text(std::string_view s)
    {
        for (const char c : s)
            out.push_back(static_cast<std::byte>(c));
    }
};

void put_chunk(Writer& png, std::string_view type, const std::vector<std::byte>& data)
{
    Writer body;
    body.text(type);
    body.out.insert(body.out.end(), data.begin(), data.end());
    png.put(data.size(), 4);
    png.out.insert(png.out.end(), body.out.begin(), body.out.end());
    png.put(crc32(0, reinterpret_cast<const Bytef*>(body.out.data()), static_cast<uInt>(body.out.size())), 4);
}

// A 100-byte PNG that declares width x height pixels.
std::vector<std::byte> bomb_png(std::uint32_t width, std::uint32_t height)
{
    Writer png{.out = {}, .big_endian = true};
    png.text("\x89PNG\r\n\x1A\n");
    Writer ihdr{.out = {}, .big_endian = true};
    ihdr.put(width, 4);
    ihdr.put(height, 4);
    for (const int c : {8, 2, 0, 0, 0})
        ihdr.put(static_cast<std::uint64_t>(c), 1); // 8-bit RGB
    put_chunk(png, "IHDR", ihdr.out);
    put_chunk(png, "IDAT", std::vector<std::byte>(16, std::byte{0}));
    put_chunk(png, "IEND", {});
    return png.out;
}

// An uncompressed 8-bit grey TIFF of width x height, as one strip; the pixel
// data is only written when it is small (a bomb carries 16 bytes).
// `dim_type` is the TIFF type of the size entries (3 SHORT, 4 LONG, 16 LONG8).
std::vector<std::byte> tiff(bool big_endian, bool bigtiff, std::uint64_t width, std::uint64_t height, int dim_type = 4)
{
    Writer w{.out = {}, .big_endian = big_endian};
    w.text(big_endian ? "MM" : "II");
    const int offset_size = bigtiff ? 8 : 4;
    if (bigtiff) {
        w.put(0x2B, 2);
        w.put(8, 2);
        w.put(0, 2);
    } else {
        w.put(0x2A, 2);
    }
    const std::uint64_t pixels = width <= 64 && height <= 64 ? width * height : 16;
    const std::uint64_t data_at = bigtiff ? 16 : 8;
    w.put(data_at + pixels, offset_size); // the directory follows the pixels
    for (std::uint64_t i = 0; i < pixels; ++i)
        w.put(i * 37 % 251, 1);
    struct Entry {
        int tag;
        int type;
        std::uint64_t value;
    };
    const std::vector<Entry> entries{{256, dim_type, width},
                                     {257, dim_type, height},
                                     {258, 3, 8},                      // BitsPerSample
                                     {259, 3, 1},                      // no compression
                                     {262, 3, 1},                      // black is zero
                                     {273, bigtiff ? 16 : 4, data_at}, // StripOffsets
                                     {277, 3, 1},                      // SamplesPerPixel
                                     {278, 4, height},                 // RowsPerStrip
                                     {279, bigtiff ? 16 : 4, pixels}}; // StripByteCounts
    w.put(entries.size(), bigtiff ? 8 : 2);
    for (const auto& e : entries) {
        w.put(static_cast<std::uint64_t>(e.tag), 2);
        w.put(static_cast<std::uint64_t>(e.type), 2);
        w.put(1, offset_size);
        const int size = e.type == 3 ? 2 : e.type == 4 ? 4 : 8;
        w.put(e.value, size); // left-justified in the value field
        w.put(0, offset_size - size < 0 ? 0 : offset_size - size);
    }
    w.put(0, offset_size); // no next directory
    return w.out;
}

// A WebP whose first chunk is `chunk` ("VP8 ", "VP8L" or "VP8X") declaring
// width x height, padded to OpenCV's 32-byte header: no decodable pixels.
std::vector<std::byte> webp_header(std::string_view chunk, std::uint32_t width, std::uint32_t height)
{
    Writer w;
    w.text("RIFF");
    w.put(24, 4);
    w.text("WEBP");
    w.text(chunk);
    w.put(chunk == "VP8X" ? 10 : 12, 4); // libwebp wants VP8X's exact size
    if (chunk == "VP8X") {
        w.put(0, 4); // flags
        w.put(width - 1, 3);
        w.put(height - 1, 3);
    } else if (chunk == "VP8L") {
        w.put(0x2F, 1);
        w.put((width - 1) | (height - 1) << 14U, 4);
    } else {
        w.put(0x10, 3); // frame tag: a key frame, shown, profile 0
        w.text("\x9D\x01\x2A");
        w.put(width, 2);
        w.put(height, 2);
    }
    w.out.resize(32, std::byte{0});
    return w.out;
}

std::vector<std::byte> text_bytes(std::string_view s)
{
    Writer w;
    w.text(s);
    return w.out;
}

std::string decode_error_kind(std::span<const std::byte> bytes)
{
    return decode_failure(bytes, 64'000'000).first;
}

} // namespace

BOOST_AUTO_TEST_SUITE(image_structure)

BOOST_AUTO_TEST_CASE(every_reference_jpeg_and_png_is_complete_with_its_declared_size)
{
    int checked = 0;
    for (const auto& entry : std::filesystem::directory_iterator(test::reference() / "images")) {
        const auto bytes = test::read_bytes(entry.path());
        const auto h = index::inspect_image(bytes);
        BOOST_TEST((h.format != index::ImageHeader::Format::unknown), entry.path().filename());
        BOOST_TEST(h.complete, entry.path().filename() << ": " << h.problem);
        const auto img = index::decode_image(bytes);
        BOOST_TEST(h.width == static_cast<std::uint64_t>(img.cols), entry.path().filename());
        BOOST_TEST(h.height == static_cast<std::uint64_t>(img.rows), entry.path().filename());
        ++checked;
    }
    BOOST_TEST(checked == 65);
}

BOOST_AUTO_TEST_CASE(truncated_jpeg_that_opencv_would_decode_is_rejected)
{
    auto bytes = image_bytes("rocket.jpg");
    bytes.resize(bytes.size() * 2 / 3);
    BOOST_TEST(decode_error(bytes).find("truncated JPEG") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(truncated_png_is_rejected)
{
    auto bytes = image_bytes("coffee.png");
    bytes.resize(bytes.size() - 20);
    BOOST_TEST(decode_error(bytes).find("truncated PNG") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(data_after_the_end_of_image_is_allowed)
{
    auto bytes = image_bytes("rocket.jpg");
    const std::string trailer = "ftypmp42 a motion-photo video would follow";
    for (char c : trailer)
        bytes.push_back(static_cast<std::byte>(c));
    BOOST_TEST(decode_error(bytes).empty());
}

BOOST_AUTO_TEST_CASE(decompression_bomb_is_refused_from_the_header)
{
    const auto bomb = bomb_png(50000, 50000);
    BOOST_TEST(bomb.size() < 200U);
    const auto h = index::inspect_image(bomb);
    BOOST_TEST(h.width == 50000U);
    BOOST_TEST(h.height == 50000U);
    const auto err = decode_error(bomb);
    BOOST_TEST(err.find("50000x50000") != std::string::npos, err);
    BOOST_TEST(err.find("max_pixels") != std::string::npos, err);
}

BOOST_AUTO_TEST_CASE(every_format_opencv_writes_declares_the_size_opencv_decodes)
{
    // An odd size, so that no width/height mix-up or off-by-one passes.
    cv::Mat img(23, 37, CV_8UC3);
    cv::randu(img, 0, 255);
    cv::Mat gray;
    cv::extractChannel(img, gray, 0);
    const std::vector<std::pair<std::string, std::vector<int>>> cases{{".jpg", {}},
                                                                      {".png", {}},
                                                                      {".tif", {}},
                                                                      {".bmp", {}},
                                                                      {".webp", {cv::IMWRITE_WEBP_QUALITY, 90}},
                                                                      {".webp", {}}, // lossy (VP8), lossless (VP8L)
                                                                      {".ppm", {}},
                                                                      {".pgm", {}},
                                                                      {".pbm", {}},
                                                                      {".ppm", {cv::IMWRITE_PXM_BINARY, 0}}};
    for (const auto& [ext, params] : cases) {
        BOOST_TEST_CONTEXT(ext << " " << params.size())
        {
            std::vector<unsigned char> encoded;
            BOOST_TEST_REQUIRE(
                cv::imencode(ext, ext == ".ppm" || ext == ".jpg" || ext == ".webp" ? img : gray, encoded, params));
            const auto bytes = std::as_bytes(std::span(encoded));
            if (ext == ".webp") {
                const std::string chunk(reinterpret_cast<const char*>(encoded.data()) + 12, 4); // NOLINT
                BOOST_TEST(chunk == (params.empty() ? "VP8L" : "VP8 "));
            }
            const auto h = index::inspect_image(bytes);
            BOOST_TEST(h.complete, h.problem);
            BOOST_TEST(h.width == 37U);
            BOOST_TEST(h.height == 23U);
            BOOST_TEST(index::decode_image(bytes).cols == 37);
        }
    }
}

BOOST_AUTO_TEST_CASE(tiffs_in_both_byte_orders_and_bigtiff_are_sized_as_libtiff_reads_them)
{
    for (const bool big_endian : {false, true}) {
        for (const bool bigtiff : {false, true}) {
            for (const int dim_type : bigtiff ? std::vector{3, 4, 16} : std::vector{3, 4}) {
                BOOST_TEST_CONTEXT("big-endian " << big_endian << ", BigTIFF " << bigtiff << ", type " << dim_type)
                {
                    const auto bytes = tiff(big_endian, bigtiff, 13, 7, dim_type);
                    const auto h = index::inspect_image(bytes);
                    BOOST_TEST(h.width == 13U);
                    BOOST_TEST(h.height == 7U);
                    // libtiff, through OpenCV, agrees on the hand-built file.
                    const cv::Mat decoded = cv::imdecode(
                        cv::Mat(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<std::byte*>(bytes.data())),
                        cv::IMREAD_UNCHANGED);
                    BOOST_TEST_REQUIRE(!decoded.empty());
                    BOOST_TEST(decoded.cols == 13);
                    BOOST_TEST(decoded.rows == 7);
                }
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(tiff_webp_and_pnm_bombs_are_refused_from_the_header)
{
    // Each is a few dozen bytes declaring more than max_pixels; OpenCV's own
    // limit (2^30 pixels) would let most of them allocate gigabytes.
    const std::vector<std::tuple<std::string, std::vector<std::byte>, std::uint64_t, std::uint64_t>> bombs{
        {"TIFF", tiff(false, false, 30000, 30000), 30000, 30000},
        {"big-endian TIFF", tiff(true, false, 65535, 65535, 3), 65535, 65535},
        {"BigTIFF, 64-bit sizes", tiff(false, true, 1ULL << 40U, 1ULL << 40U, 16), 1ULL << 40U, 1ULL << 40U},
        {"WebP VP8", webp_header("VP8 ", 16383, 16383), 16383, 16383},
        {"WebP VP8L", webp_header("VP8L", 16384, 16384), 16384, 16384},
        {"WebP VP8X", webp_header("VP8X", 65536, 65535), 65536, 65535}, // libwebp's largest canvas
        {"PPM", text_bytes("P6\n# a comment\n40000 40000\n255\n"), 40000, 40000},
        {"PBM", text_bytes("P4 90000\t80000 "), 90000, 80000}};
    for (const auto& [name, bytes, width, height] : bombs) {
        BOOST_TEST_CONTEXT(name)
        {
            const auto h = index::inspect_image(bytes);
            BOOST_TEST(h.width == width);
            BOOST_TEST(h.height == height);
            BOOST_TEST(decode_error_kind(bytes) == "too_many_pixels");
        }
    }
}

BOOST_AUTO_TEST_CASE(a_header_without_a_readable_size_is_corrupt)
{
    auto cut_tiff = tiff(false, false, 13, 7);
    cut_tiff.resize(8 + 13 * 7 + 2 + 12); // the directory ends after its first entry
    auto no_start_code = webp_header("VP8 ", 640, 480);
    no_start_code[23] = std::byte{0};
    const std::vector<std::pair<std::string, std::vector<std::byte>>> files{
        {"TIFF without its height", cut_tiff},
        {"TIFF directory past the end",
         [] {
             auto t = tiff(false, false, 13, 7);
             t[4] = std::byte{0xFF};
             return t;
         }()},
        {"WebP VP8 without a key frame", no_start_code},
        {"PPM with no height", text_bytes("P6\n640 # only one number\n")},
        {"PPM with letters", text_bytes("P3\nwide high 255\n")},
        {"PPM over INT_MAX", text_bytes("P6 99999999999 2 255\n")}};
    for (const auto& [name, bytes] : files) {
        BOOST_TEST_CONTEXT(name)
        {
            BOOST_TEST(!index::inspect_image(bytes).complete);
            BOOST_TEST(decode_error_kind(bytes) == "corrupt");
            BOOST_TEST(decode_error(bytes).find("no readable width and height") != std::string::npos);
        }
    }
}

BOOST_AUTO_TEST_CASE(max_pixels_is_a_limit_not_a_constant)
{
    const auto bytes = image_bytes("coffee.png"); // 600 x 400
    BOOST_TEST(decode_error(bytes, 240000).empty());
    BOOST_TEST(decode_error(bytes, 239999).find("max_pixels 239999") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(random_bytes_named_like_an_image_are_not_decodable)
{
    std::vector<std::byte> noise(4096);
    std::uint32_t x = 12345;
    for (auto& b : noise) {
        x = x * 1664525U + 1013904223U;
        b = static_cast<std::byte>(x >> 24);
    }
    BOOST_TEST(!decode_error(noise).empty());
    // JPEG magic followed by garbage: a structural error, never a crash.
    noise[0] = std::byte{0xFF};
    noise[1] = std::byte{0xD8};
    noise[2] = std::byte{0xFF};
    BOOST_TEST(!decode_error(noise).empty());
}

BOOST_AUTO_TEST_SUITE_END()
