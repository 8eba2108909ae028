// Structural checks before decoding: truncated files and decompression bombs
// are refused; complete files (with trailers) pass.
#define BOOST_TEST_MODULE image_header
#include <boost/test/unit_test.hpp>

#include <zlib.h>

#include "index/decode.hpp"
#include "index/image_header.hpp"
#include "test_support.hpp"

using namespace ndrd;

namespace {

std::vector<std::byte> image_bytes(const std::string& name)
{
    return test::read_bytes(test::reference() / "images" / name);
}

std::string decode_error(std::span<const std::byte> bytes, std::uint64_t max_pixels = 64'000'000)
{
    try {
        (void)index::decode_image(bytes, max_pixels);
    } catch (const index::DecodeError& e) {
        return e.what();
    }
    return {};
}

void put_be32(std::vector<std::byte>& out, std::uint32_t v)
{
    for (int s = 24; s >= 0; s -= 8)
        out.push_back(static_cast<std::byte>((v >> s) & 0xFFU));
}

void put_chunk(std::vector<std::byte>& out, const char* type, const std::vector<std::byte>& data)
{
    put_be32(out, static_cast<std::uint32_t>(data.size()));
    std::vector<std::byte> body;
    for (int i = 0; i < 4; ++i)
        body.push_back(static_cast<std::byte>(type[i]));
    body.insert(body.end(), data.begin(), data.end());
    out.insert(out.end(), body.begin(), body.end());
    put_be32(out, static_cast<std::uint32_t>(
                      crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
}

// A 100-byte PNG that declares width x height pixels.
std::vector<std::byte> bomb_png(std::uint32_t width, std::uint32_t height)
{
    std::vector<std::byte> png;
    for (const int c : {0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A})
        png.push_back(static_cast<std::byte>(c));
    std::vector<std::byte> ihdr;
    put_be32(ihdr, width);
    put_be32(ihdr, height);
    for (const int c : {8, 2, 0, 0, 0})
        ihdr.push_back(static_cast<std::byte>(c)); // 8-bit RGB
    put_chunk(png, "IHDR", ihdr);
    put_chunk(png, "IDAT", std::vector<std::byte>(16, std::byte{0}));
    put_chunk(png, "IEND", {});
    return png;
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
