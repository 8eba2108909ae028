// Looks at an encoded image's structure without decoding pixels: its declared
// size (to refuse decompression bombs before allocating) and whether the file
// is complete (OpenCV decodes a truncated JPEG into a partly grey image
// without complaint). Walks JPEG and PNG to their end; reads the size of TIFF,
// BMP, WebP and PNM from their headers as OpenCV's decoders do; anything else
// reports `unknown` and is never handed to OpenCV (see decode.hpp for why).
// A file is only complete when OpenCV would pick the decoder named here:
// OpenCV offers a file its WebP decoder refuses to the next one, GDCM.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace ndrd::index {

struct ImageHeader {
    enum class Format { unknown, jpeg, png, tiff, bmp, webp, pnm };
    Format format = Format::unknown;
    std::uint64_t width = 0; // 0 when the header does not say (yet)
    std::uint64_t height = 0;
    bool complete = false; // JPEG, PNG: the end marker (EOI, IEND) was reached; others: the size was readable
    std::string problem;   // why it is not complete, for the log
    // The EXIF orientation tag (1-8: how the stored pixels must be flipped
    // or turned to be seen upright), from a JPEG's APP1 Exif segment, a PNG's
    // eXIf chunk, a WebP's EXIF chunk or a TIFF's first directory; 1 when
    // absent or out of range.
    int orientation = 1;
};

ImageHeader inspect_image(std::span<const std::byte> bytes);

} // namespace ndrd::index
