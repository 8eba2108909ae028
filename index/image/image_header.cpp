// Structural checks of JPEG and PNG files, the declared size of the other
// formats ndrd decodes (see image_header.hpp).
#include "index/image/image_header.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string_view>

#include <webp/decode.h>

namespace ndrd::index {

namespace {

unsigned byte_at(std::span<const std::byte> b, std::size_t i)
{
    return static_cast<unsigned>(b[i]);
}

std::uint32_t be16(std::span<const std::byte> b, std::size_t i)
{
    return byte_at(b, i) << 8U | byte_at(b, i + 1);
}

std::uint32_t be32(std::span<const std::byte> b, std::size_t i)
{
    return be16(b, i) << 16U | be16(b, i + 2);
}

int exif_orientation(std::span<const std::byte> exif); // below, beside the TIFF reader

bool is_sof(unsigned m)
{
    return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

// Walks the marker segments; entropy-coded data after SOS is skipped up to
// the next real marker (FF00 is a stuffed byte, FFD0-FFD7 are restarts).
// Data after EOI (camera trailers, motion-photo videos) is allowed.
ImageHeader inspect_jpeg(std::span<const std::byte> b)
{
    ImageHeader h;
    h.format = ImageHeader::Format::jpeg;
    std::size_t i = 2;
    while (true) {
        // Entropy data (or padding) up to a marker: most of the file, so
        // memchr rather than a byte loop (which was 2-4% of a hash).
        if (i < b.size()) {
            const void* ff = std::memchr(b.data() + i, 0xFF, b.size() - i);
            i = ff != nullptr ? static_cast<std::size_t>(static_cast<const std::byte*>(ff) - b.data()) : b.size();
        }
        while (i < b.size() && byte_at(b, i) == 0xFF)
            ++i; // fill bytes
        if (i >= b.size()) {
            h.problem = "truncated JPEG: the file ends before the end-of-image marker";
            return h;
        }
        const unsigned m = byte_at(b, i++);
        if (m == 0x00 || (m >= 0xD0 && m <= 0xD7) || m == 0x01) {
            continue; // stuffed byte, restart marker, TEM: no length
        }
        if (m == 0xD9) {
            h.complete = true;
            return h;
        }
        if (i + 2 > b.size()) {
            h.problem = "truncated JPEG: a marker segment is cut off";
            return h;
        }
        const std::size_t len = be16(b, i);
        if (len < 2) {
            h.problem = "corrupt JPEG: bad segment length";
            return h;
        }
        if (is_sof(m) && i + 7 <= b.size()) {
            h.height = be16(b, i + 3);
            h.width = be16(b, i + 5);
        }
        if (m == 0xE1 && h.orientation == 1 && i + len <= b.size()) { // APP1: Exif (or XMP, which says no "Exif")
            const auto data = b.subspan(i + 2, len - 2);
            if (data.size() >= 6 && std::memcmp(data.data(), "Exif\0\0", 6) == 0) {
                h.orientation = exif_orientation(data);
            }
        }
        i += len;
    }
}

ImageHeader inspect_png(std::span<const std::byte> b)
{
    ImageHeader h;
    h.format = ImageHeader::Format::png;
    std::size_t i = 8;
    if (b.size() >= 24) {
        h.width = be32(b, 16);
        h.height = be32(b, 20);
    }
    while (i + 8 <= b.size()) {
        const std::uint64_t len = be32(b, i);
        const bool iend = byte_at(b, i + 4) == 'I' && byte_at(b, i + 5) == 'E' && byte_at(b, i + 6) == 'N' &&
                          byte_at(b, i + 7) == 'D';
        const std::uint64_t next = i + 12 + len; // length, type, data, CRC
        if (next > b.size()) {
            break;
        }
        if (iend) {
            h.complete = true;
            return h;
        }
        if (byte_at(b, i + 4) == 'e' && byte_at(b, i + 5) == 'X' && byte_at(b, i + 6) == 'I' &&
            byte_at(b, i + 7) == 'f') {
            h.orientation = exif_orientation(b.subspan(i + 8, static_cast<std::size_t>(len)));
        }
        i = static_cast<std::size_t>(next);
    }
    h.problem = "truncated PNG: the file ends before the IEND chunk";
    return h;
}

bool starts_with(std::span<const std::byte> b, std::string_view prefix, std::size_t at = 0)
{
    if (b.size() < at + prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if (byte_at(b, at + i) != static_cast<unsigned char>(prefix[i])) return false;
    }
    return true;
}

// The same signatures OpenCV 4.6's decoders check, so the decoder OpenCV
// picks is the one named here (BMP, the only earlier one in its list, is
// one of ours).
ImageHeader::Format signature_format(std::span<const std::byte> b)
{
    using F = ImageHeader::Format;
    using namespace std::string_view_literals;
    if (starts_with(b, "II\x2A\x00"sv) || starts_with(b, "MM\x00\x2A"sv) || starts_with(b, "II\x2B\x00"sv) ||
        starts_with(b, "MM\x00\x2B"sv)) {
        return F::tiff;
    }
    if (starts_with(b, "BM")) return F::bmp;
    if (starts_with(b, "RIFF") && starts_with(b, "WEBP", 8)) return F::webp;
    if (b.size() >= 3 && byte_at(b, 0) == 'P' && byte_at(b, 1) >= '1' && byte_at(b, 1) <= '6') {
        const unsigned c = byte_at(b, 2);
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') return F::pnm;
    }
    return F::unknown;
}

std::uint32_t le16(std::span<const std::byte> b, std::size_t i)
{
    return byte_at(b, i) | byte_at(b, i + 1) << 8U;
}

std::uint32_t le32(std::span<const std::byte> b, std::size_t i)
{
    return le16(b, i) | le16(b, i + 2) << 16U;
}

// A BMP's declared size, read as OpenCV 4.6's BmpDecoder reads it: a header
// of 36 bytes or more holds 32-bit signed width and height (a negative height
// means top-down rows; OpenCV takes its absolute value), the 12-byte OS/2
// header 16-bit ones. Other header sizes declare nothing (0 x 0).
void read_bmp_size(std::span<const std::byte> b, ImageHeader& h)
{
    if (b.size() < 18) return;
    const std::uint32_t header_size = le32(b, 14);
    const auto magnitude = [](std::uint32_t v) {
        const auto s = static_cast<std::int64_t>(static_cast<std::int32_t>(v));
        return static_cast<std::uint64_t>(s < 0 ? -s : s);
    };
    if (header_size >= 36 && b.size() >= 26) {
        h.width = magnitude(le32(b, 18));
        h.height = magnitude(le32(b, 22));
    } else if (header_size == 12 && b.size() >= 22) {
        h.width = le16(b, 18);
        h.height = le16(b, 20);
    }
}

// A TIFF's first directory, as libtiff (OpenCV's TiffDecoder) reads it: the
// ImageWidth (256), ImageLength (257) and Orientation (274) entries, in the
// byte order the header names, for classic TIFF and BigTIFF alike. OpenCV
// decodes only this first page. An EXIF block is a TIFF structure too: the
// same reading finds a JPEG's, PNG's or WebP's orientation.
struct TiffDirectory {
    std::uint64_t width = 0, height = 0, orientation = 0;
};

TiffDirectory read_tiff_directory(std::span<const std::byte> b)
{
    TiffDirectory d;
    if (b.size() < 8 ||
        !((byte_at(b, 0) == 'I' && byte_at(b, 1) == 'I') || (byte_at(b, 0) == 'M' && byte_at(b, 1) == 'M'))) {
        return d;
    }
    const bool little = byte_at(b, 0) == 'I';
    const auto u16 = [&](std::size_t i) -> std::uint64_t {
        return little ? le16(b, i) : be16(b, i);
    };
    const auto u32 = [&](std::size_t i) -> std::uint64_t {
        return little ? le32(b, i) : be32(b, i);
    };
    const auto u64 = [&](std::size_t i) -> std::uint64_t {
        return little ? u32(i) | u32(i + 4) << 32U : u32(i) << 32U | u32(i + 4);
    };
    const bool big = byte_at(b, 2) == 0x2B || byte_at(b, 3) == 0x2B;
    if (b.size() < (big ? 16U : 8U)) return d;
    const std::uint64_t ifd = big ? u64(8) : u32(4);
    const std::uint64_t count_size = big ? 8 : 2;
    const std::uint64_t entry_size = big ? 20 : 12;
    if (ifd > b.size() || b.size() - ifd < count_size) return d;
    const std::uint64_t entries = big ? u64(ifd) : u16(ifd);
    const std::uint64_t room = (b.size() - ifd - count_size) / entry_size;
    for (std::uint64_t n = 0; n < std::min(entries, room); ++n) {
        const auto e = static_cast<std::size_t>(ifd + count_size + n * entry_size);
        const std::uint64_t tag = u16(e);
        if (tag != 256 && tag != 257 && tag != 274) continue;
        const std::size_t value = e + (big ? 12U : 8U); // left-justified in the entry
        std::uint64_t v = 0;
        switch (u16(e + 2)) { // the integer types libtiff accepts for these tags
        case 1:
        case 6: v = byte_at(b, value); break; // (S)BYTE
        case 3:
        case 8: v = u16(value); break; // (S)SHORT
        case 4:
        case 9: v = u32(value); break; // (S)LONG
        case 16:
        case 17: v = big ? u64(value) : 0; break; // (S)LONG8, BigTIFF only
        default: break;
        }
        (tag == 256 ? d.width : tag == 257 ? d.height : d.orientation) = v;
    }
    return d;
}

// The orientation an EXIF block declares: a TIFF structure, after the
// "Exif\0\0" identifier when it has one (JPEG always, WebP sometimes).
int exif_orientation(std::span<const std::byte> exif)
{
    using namespace std::string_view_literals;
    if (starts_with(exif, "Exif\0\0"sv)) exif = exif.subspan(6);
    const std::uint64_t o = read_tiff_directory(exif).orientation;
    return o >= 1 && o <= 8 ? static_cast<int>(o) : 1;
}

// A WebP's size, from libwebp's WebPGetFeatures on the first 32 bytes: the
// very check OpenCV 4.6's WebPDecoder makes to claim a file. A RIFF/WEBP
// file that fails it is not OpenCV's WebP, and OpenCV offers it to its later
// decoders: with "DICM" at offset 128, to GDCM, whose failed assertion aborts
// the process (found by decode_fuzz). Such a file declares no size here.
void read_webp_size(std::span<const std::byte> b, ImageHeader& h)
{
    constexpr std::size_t opencv_header = 32;
    WebPBitstreamFeatures features{};
    if (b.size() < opencv_header ||
        WebPGetFeatures(reinterpret_cast<const std::uint8_t*>(b.data()), opencv_header, &features) != // NOLINT
            VP8_STATUS_OK) {
        return;
    }
    h.width = static_cast<std::uint64_t>(std::max(features.width, 0));
    h.height = static_cast<std::uint64_t>(std::max(features.height, 0));
}

// The orientation in a WebP's EXIF chunk (extended format): RIFF chunks
// after "WEBP", each a four-character code, a little-endian size and the
// data padded to an even length.
int webp_orientation(std::span<const std::byte> b)
{
    std::size_t i = 12;
    while (i + 8 <= b.size()) {
        const std::uint64_t size = le32(b, i + 4);
        if (size > b.size() - i - 8) break;
        if (starts_with(b, "EXIF", i)) {
            return exif_orientation(b.subspan(i + 8, static_cast<std::size_t>(size)));
        }
        i += 8 + static_cast<std::size_t>(size) + (size & 1U);
    }
    return 1;
}

// A PNM's size, as OpenCV 4.6's PxMDecoder reads it: after "P1".."P6", two
// decimal numbers separated by whitespace and '#' comments (to the end of the
// line). A number over INT_MAX is an error there; here it declares nothing.
void read_pnm_size(std::span<const std::byte> b, ImageHeader& h)
{
    std::size_t i = 2;
    const auto number = [&]() -> std::uint64_t {
        while (i < b.size()) {
            const unsigned c = byte_at(b, i);
            if (c == '#') {
                while (i < b.size() && byte_at(b, i) != '\n' && byte_at(b, i) != '\r')
                    ++i;
            } else if (c == ' ' || (c >= '\t' && c <= '\r')) {
                ++i;
            } else {
                break;
            }
        }
        std::uint64_t v = 0;
        const std::size_t start = i;
        while (i < b.size() && byte_at(b, i) >= '0' && byte_at(b, i) <= '9') {
            v = v * 10 + (byte_at(b, i++) - '0');
            if (v > static_cast<std::uint64_t>(std::numeric_limits<int>::max())) return 0;
        }
        return i > start ? v : 0;
    };
    const std::uint64_t width = number();
    const std::uint64_t height = width != 0 ? number() : 0;
    if (width != 0 && height != 0) {
        h.width = width;
        h.height = height;
    }
}

} // namespace

ImageHeader inspect_image(std::span<const std::byte> bytes)
{
    using namespace std::string_view_literals;
    if (starts_with(bytes, "\xFF\xD8\xFF"sv)) {
        return inspect_jpeg(bytes);
    }
    if (starts_with(bytes, "\x89PNG\r\n\x1A\n"sv)) {
        return inspect_png(bytes);
    }
    ImageHeader h;
    h.format = signature_format(bytes);
    // Every format is sized before decoding, so that max_pixels refuses a
    // decompression bomb before OpenCV allocates for it: a 50-byte BMP
    // declaring 21060 x 40960 made OpenCV allocate 2.6 GB (found by
    // decode_fuzz), and OpenCV's own limit is 2^30 pixels.
    std::string_view name;
    switch (h.format) {
    case ImageHeader::Format::tiff: {
        const TiffDirectory d = read_tiff_directory(bytes);
        h.width = d.width;
        h.height = d.height;
        h.orientation = d.orientation >= 1 && d.orientation <= 8 ? static_cast<int>(d.orientation) : 1;
        name = "TIFF";
        break;
    }
    case ImageHeader::Format::bmp:
        read_bmp_size(bytes, h);
        name = "BMP";
        break;
    case ImageHeader::Format::webp:
        read_webp_size(bytes, h);
        h.orientation = webp_orientation(bytes);
        name = "WebP";
        break;
    case ImageHeader::Format::pnm:
        read_pnm_size(bytes, h);
        name = "PNM";
        break;
    default: return h; // unknown
    }
    h.complete = h.width != 0 && h.height != 0;
    if (!h.complete) {
        // OpenCV's decoder would refuse the header as well; a size ndrd
        // cannot read is a size max_pixels cannot hold.
        h.problem = "corrupt " + std::string(name) + ": the header declares no readable width and height";
    }
    return h;
}

} // namespace ndrd::index
