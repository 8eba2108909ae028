// Looks at an encoded image's structure without decoding pixels: its declared
// size (to refuse decompression bombs before allocating) and whether the file
// is complete (OpenCV decodes a truncated JPEG into a partly grey image
// without complaint). Knows JPEG and PNG; other formats report `unknown`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace ndrd::index {

struct ImageHeader {
    enum class Format { unknown, jpeg, png };
    Format format = Format::unknown;
    std::uint64_t width = 0; // 0 when the header does not say (yet)
    std::uint64_t height = 0;
    bool complete = false; // the end marker (JPEG EOI, PNG IEND) was reached
    std::string problem;   // why it is not complete, for the log
};

ImageHeader inspect_image(std::span<const std::byte> bytes);

} // namespace ndrd::index
