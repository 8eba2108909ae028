// Turns encoded image bytes into the 3-channel matrix Datumaro's NDR hashes:
// IMREAD_UNCHANGED (no EXIF rotation unless asked, native depth), gray -> 3
// channels, BGRA -> BGR. No file I/O: the caller reads the bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include <opencv2/core.hpp>

namespace ndrd::index {

// The bytes are not an image this port can hash. what() is the reason that
// ends up in the index and the log ("not a decodable image", ...); kind() a
// fixed, short class of it for counting (metrics labels).
class DecodeError : public std::runtime_error {
public:
    DecodeError(std::string_view kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
    [[nodiscard]] std::string_view kind() const { return kind_; }

private:
    std::string_view kind_; // always a string literal
};

// Whether the EXIF orientation tag is applied: `ignore` hashes the pixels as
// stored, as Datumaro does (IMREAD_UNCHANGED); `apply` hashes the image as a
// viewer shows it, so a photo and its upright re-export agree.
enum class ExifOrientation { ignore, apply };

// Decodes and normalises channels; the depth is kept (8U, 16U, 32F, ...).
// Only JPEG, PNG, TIFF, BMP, WebP and PNM are decoded; anything else is a
// DecodeError of kind "unsupported_format" without reaching OpenCV, whose
// other decoders (GDCM above all) abort the process on crafted input.
// Before decoding, a JPEG or PNG must be complete (a truncated file is
// rejected, although OpenCV would decode it), and every format must declare
// at most `max_pixels` pixels in its header (OpenCV's own limit, 2^30 pixels,
// is read from the environment when its library loads, so ndrd cannot set it).
//
// With `reduce_for` (the feature grid's blocks, columns x rows), a JPEG is decoded at 1/2, 1/4 or 1/8 scale (libjpeg's
// DCT scaling): the largest scale at which every block of that grid still
// averages at least 16x16 decoded pixels. Other formats decode in full.
//
// With ExifOrientation::apply, the image is then flipped or turned as its
// EXIF orientation tag says (see orient()).
cv::Mat decode_image(std::span<const std::byte> bytes, std::uint64_t max_pixels = 64'000'000,
                     std::optional<cv::Size> reduce_for = std::nullopt,
                     ExifOrientation orientation = ExifOrientation::ignore);

// decode_image(), with the image's size as its header declares it (stored
// orientation, full scale): what a reduced decode does not show.
struct DecodedImage {
    cv::Mat image;
    std::uint64_t stored_pixels = 0; // width x height
};
DecodedImage decode_image_sized(std::span<const std::byte> bytes, std::uint64_t max_pixels = 64'000'000,
                                std::optional<cv::Size> reduce_for = std::nullopt,
                                ExifOrientation orientation = ExifOrientation::ignore);

// The image as EXIF orientation `tag` (1-8) says to show it: 2 mirrored, 3
// turned half round, 4 flipped, 5 transposed, 6 turned a quarter clockwise,
// 7 transversed, 8 a quarter anticlockwise (OpenCV's own mapping). 1 or
// anything else: unchanged.
cv::Mat orient(const cv::Mat& image, int tag);

// The scale decode_image would use for a JPEG of `width` x `height` on a grid
// of `grid` blocks
// (1 = full decode).
int reduced_scale(std::uint64_t width, std::uint64_t height, cv::Size grid);

// Process-wide decoder settings, once at start-up before any decode: OpenCV's
// logger held to errors. (Some decoder failures OpenCV 4.6 still prints
// straight to std::cerr; the rejection's own log line follows them.)
void configure_decoder();

// Channel normalisation alone, for images that were decoded elsewhere.
cv::Mat to_three_channels(const cv::Mat& image);

} // namespace ndrd::index
