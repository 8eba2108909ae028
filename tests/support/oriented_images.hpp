// Test images that carry an EXIF orientation tag, made from an upright
// picture: the pixels are stored turned so that a viewer applying the tag
// shows the picture upright, as a phone or camera writes them.
#pragma once

#include <string>

#include <opencv2/core.hpp>

namespace ndrd::test {

// The pixels a file with orientation `tag` (1-8) stores for `upright`.
cv::Mat stored_for(const cv::Mat& upright, int tag);

// An EXIF block: a TIFF structure whose first directory holds only the
// Orientation entry (274), little- or big-endian.
std::string exif_tiff(int tag, bool big_endian = false);

// Encoded files of `upright` with `tag`: a JPEG with an APP1 Exif segment, a
// PNG with an eXIf chunk, a lossless WebP in the extended format with an
// EXIF chunk.
std::string jpeg_with_orientation(const cv::Mat& upright, int tag, int quality = 95);
std::string png_with_orientation(const cv::Mat& upright, int tag);
std::string webp_with_orientation(const cv::Mat& upright, int tag);

// The header of a TIFF declaring width x height and `tag`, without pixels:
// enough for inspect_image.
std::string tiff_header(std::uint32_t width, std::uint32_t height, int tag, bool big_endian = false);

} // namespace ndrd::test
