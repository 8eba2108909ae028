// Turns encoded image bytes into the 3-channel matrix Datumaro's NDR hashes:
// IMREAD_UNCHANGED (no EXIF rotation, native depth), gray -> 3 channels,
// BGRA -> BGR. No file I/O: the caller reads the bytes.
#pragma once

#include <cstddef>
#include <span>
#include <stdexcept>

#include <opencv2/core.hpp>

namespace ndrd::index {

// The bytes are not an image this port can hash. what() is the reason that
// ends up in the index and the log ("not a decodable image", ...).
class DecodeError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Decodes and normalises channels; the depth is kept (8U, 16U, 32F, ...).
cv::Mat decode_image(std::span<const std::byte> bytes);

// Channel normalisation alone, for images that were decoded elsewhere.
cv::Mat to_three_channels(const cv::Mat& image);

}  // namespace ndrd::index
