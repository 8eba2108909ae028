// Files with EXIF orientation tags for the tests (see oriented_images.hpp).
#include "oriented_images.hpp"

#include <stdexcept>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <zlib.h>

namespace ndrd::test {

namespace {

// Appends `v` in `bytes` bytes, little- or big-endian.
void put(std::string& out, std::uint64_t v, int bytes, bool big_endian)
{
    for (int i = 0; i < bytes; ++i) {
        const int shift = 8 * (big_endian ? bytes - 1 - i : i);
        out += static_cast<char>((v >> shift) & 0xFFU);
    }
}

std::string encode(const cv::Mat& image, const std::string& ext, const std::vector<int>& params = {})
{
    std::vector<unsigned char> buf;
    if (!cv::imencode(ext, image, buf, params)) throw std::runtime_error("cannot encode " + ext);
    return {buf.begin(), buf.end()};
}

// A TIFF directory of (tag, SHORT or LONG value) entries at offset 8.
std::string tiff(const std::vector<std::pair<int, std::uint32_t>>& entries, bool big_endian)
{
    std::string t = big_endian ? std::string("MM\0*", 4) : std::string("II*\0", 4);
    put(t, 8, 4, big_endian);
    put(t, entries.size(), 2, big_endian);
    for (const auto& [tag, value] : entries) {
        const bool shrt = value <= 0xFFFF;
        put(t, static_cast<std::uint64_t>(tag), 2, big_endian);
        put(t, shrt ? 3 : 4, 2, big_endian); // SHORT or LONG
        put(t, 1, 4, big_endian);
        if (shrt) {
            put(t, value, 2, big_endian); // left-justified in the 4-byte field
            put(t, 0, 2, big_endian);
        } else {
            put(t, value, 4, big_endian);
        }
    }
    put(t, 0, 4, big_endian); // no next directory
    return t;
}

} // namespace

cv::Mat stored_for(const cv::Mat& upright, int tag)
{
    cv::Mat out;
    switch (tag) {
    case 2: cv::flip(upright, out, 1); break;
    case 3: cv::flip(upright, out, -1); break;
    case 4: cv::flip(upright, out, 0); break;
    case 5: cv::transpose(upright, out); break;
    case 6: cv::rotate(upright, out, cv::ROTATE_90_COUNTERCLOCKWISE); break; // shown turned clockwise
    case 7:
        cv::flip(upright, out, -1);
        cv::transpose(out, out);
        break;
    case 8: cv::rotate(upright, out, cv::ROTATE_90_CLOCKWISE); break;
    default: out = upright.clone();
    }
    return out;
}

std::string exif_tiff(int tag, bool big_endian)
{
    return tiff({{274, static_cast<std::uint32_t>(tag)}}, big_endian);
}

std::string jpeg_with_orientation(const cv::Mat& upright, int tag, int quality)
{
    const std::string jpeg = encode(stored_for(upright, tag), ".jpg", {cv::IMWRITE_JPEG_QUALITY, quality});
    const std::string payload = std::string("Exif\0\0", 6) + exif_tiff(tag, false);
    std::string app1 = "\xFF\xE1";
    put(app1, payload.size() + 2, 2, true);
    return jpeg.substr(0, 2) + app1 + payload + jpeg.substr(2); // right after SOI
}

std::string png_with_orientation(const cv::Mat& upright, int tag)
{
    const std::string png = encode(stored_for(upright, tag), ".png");
    const std::string data = exif_tiff(tag, true);
    std::string chunk;
    put(chunk, data.size(), 4, true);
    const std::string body = "eXIf" + data;
    chunk += body;
    put(chunk, crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size())), 4, true);
    constexpr std::size_t after_ihdr = 8 + 25; // signature, IHDR chunk
    return png.substr(0, after_ihdr) + chunk + png.substr(after_ihdr);
}

std::string webp_with_orientation(const cv::Mat& upright, int tag)
{
    const cv::Mat stored = stored_for(upright, tag);
    const std::string simple = encode(stored, ".webp", {cv::IMWRITE_WEBP_QUALITY, 101}); // lossless: VP8L
    const std::string bitstream = simple.substr(12); // the one chunk after "RIFF" size "WEBP"
    std::string vp8x = "VP8X";
    put(vp8x, 10, 4, false);
    vp8x += '\x08'; // flags: EXIF present
    vp8x += std::string(3, '\0');
    put(vp8x, static_cast<std::uint64_t>(stored.cols - 1), 3, false);
    put(vp8x, static_cast<std::uint64_t>(stored.rows - 1), 3, false);
    std::string exif = "EXIF";
    const std::string data = exif_tiff(tag, false);
    put(exif, data.size(), 4, false);
    exif += data;
    if (data.size() % 2 != 0) exif += '\0';
    const std::string body = "WEBP" + vp8x + bitstream + exif;
    std::string riff = "RIFF";
    put(riff, body.size(), 4, false);
    return riff + body;
}

std::string tiff_header(std::uint32_t width, std::uint32_t height, int tag, bool big_endian)
{
    return tiff({{256, width}, {257, height}, {274, static_cast<std::uint32_t>(tag)}}, big_endian);
}

} // namespace ndrd::test
