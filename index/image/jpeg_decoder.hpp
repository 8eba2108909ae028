// JPEG straight to BGR through libjpeg-turbo's TurboJPEG API: the same
// libjpeg decode OpenCV runs, without OpenCV 4.6's scalar RGB-to-BGR copy,
// which costs about as much as the decode itself on a 1080p photo.
#pragma once

#include <cstddef>
#include <optional>
#include <span>

#include <opencv2/core/mat.hpp>

namespace ndrd::index {

// Decodes a 3-component (YCbCr or RGB) JPEG to 8-bit BGR at 1/scale (1, 2, 4
// or 8: libjpeg's DCT scaling, as IMREAD_REDUCED_COLOR_<scale>), the pixels
// equal to cv::imdecode's. nullopt for anything else it should not decide:
// other colour spaces (grayscale, CMYK, YCCK), any libjpeg error, and any
// warning (a damaged stream), so that OpenCV's decode keeps the last word on
// those exactly as before.
[[nodiscard]] std::optional<cv::Mat> decode_jpeg_bgr(std::span<const std::byte> bytes, int scale = 1);

} // namespace ndrd::index
