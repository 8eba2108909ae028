// Structural checks of JPEG and PNG files (see image_header.hpp).
#include "index/image_header.hpp"

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
        while (i < b.size() && byte_at(b, i) != 0xFF)
            ++i; // entropy data (or padding) up to a marker
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
        i = static_cast<std::size_t>(next);
    }
    h.problem = "truncated PNG: the file ends before the IEND chunk";
    return h;
}

} // namespace

ImageHeader inspect_image(std::span<const std::byte> bytes)
{
    static constexpr unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (bytes.size() >= 3 && byte_at(bytes, 0) == 0xFF && byte_at(bytes, 1) == 0xD8 && byte_at(bytes, 2) == 0xFF) {
        return inspect_jpeg(bytes);
    }
    if (bytes.size() >= 8) {
        bool png = true;
        for (std::size_t i = 0; i < 8; ++i)
            png = png && byte_at(bytes, i) == png_sig[i];
        if (png) return inspect_png(bytes);
    }
    return {};
}

} // namespace ndrd::index
