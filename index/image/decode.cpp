// Decoding exactly as Datumaro's NDR reads images (see decode.hpp).
#include "index/image/decode.hpp"

#include <limits>
#include <string>

#include <cstdlib>

#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>

#include "index/image/image_header.hpp"
#include "index/image/jpeg_decoder.hpp"

namespace ndrd::index {

cv::Mat to_three_channels(const cv::Mat& image)
{
    switch (image.channels()) {
    case 1: {
        cv::Mat out;
        cv::merge(std::vector<cv::Mat>{image, image, image}, out);
        return out;
    }
    case 3: return image;
    case 4: {
        cv::Mat out;
        cv::mixChannels(image, out = cv::Mat(image.size(), CV_MAKETYPE(image.depth(), 3)),
                        std::vector<int>{0, 0, 1, 1, 2, 2});
        return out;
    }
    default:
        throw DecodeError("channels", "unsupported channel count " + std::to_string(image.channels()) +
                                          " (Datumaro accepts 1, 3 or 4)");
    }
}

void configure_decoder()
{
    // OpenCV's pixel limit (OPENCV_IO_MAX_IMAGE_PIXELS) is read when its
    // library loads, before main: setting it here would change nothing, so
    // max_pixels is enforced on the headers ndrd reads (decode_image).
    cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);
}

int reduced_scale(std::uint64_t width, std::uint64_t height, cv::Size grid)
{
    constexpr std::uint64_t min_block = 16;
    for (const int scale : {8, 4, 2}) {
        const auto s = static_cast<std::uint64_t>(scale);
        // libjpeg's scaled output is ceil(side / scale); floor keeps the rule on the safe side.
        if (width / s >= min_block * static_cast<std::uint64_t>(grid.width) &&
            height / s >= min_block * static_cast<std::uint64_t>(grid.height)) {
            return scale;
        }
    }
    return 1;
}

cv::Mat orient(const cv::Mat& image, int tag)
{
    cv::Mat out;
    switch (tag) {
    case 2: cv::flip(image, out, 1); break;
    case 3: cv::flip(image, out, -1); break;
    case 4: cv::flip(image, out, 0); break;
    case 5: cv::transpose(image, out); break;
    case 6: cv::rotate(image, out, cv::ROTATE_90_CLOCKWISE); break;
    case 7:
        cv::transpose(image, out);
        cv::flip(out, out, -1);
        break;
    case 8: cv::rotate(image, out, cv::ROTATE_90_COUNTERCLOCKWISE); break;
    default: return image;
    }
    return out;
}

namespace {

// The pixels as stored: decode_image without the orientation.
cv::Mat decode_stored(std::span<const std::byte> bytes, const ImageHeader& header, std::uint64_t max_pixels,
                      std::optional<cv::Size> reduce_for)
{
    if (header.format == ImageHeader::Format::unknown) {
        // OpenCV would try every decoder it links, among them GDCM (DICOM),
        // which Debian builds with assertions: a crafted file aborts the
        // whole process. Only the formats named here reach OpenCV.
        throw DecodeError("unsupported_format", "not a JPEG, PNG, TIFF, BMP, WebP or PNM image");
    }
    // Divided, not multiplied: a TIFF's 64-bit sizes would overflow.
    if (header.height != 0 && header.width > max_pixels / header.height) {
        throw DecodeError("too_many_pixels", "image declares " + std::to_string(header.width) + "x" +
                                                 std::to_string(header.height) + " pixels, over max_pixels " +
                                                 std::to_string(max_pixels) + " (refused before decoding)");
    }
    if (!header.complete) {
        throw DecodeError(header.problem.starts_with("truncated") ? "truncated" : "corrupt", header.problem);
    }
    const int scale = reduce_for && header.format == ImageHeader::Format::jpeg
                          ? reduced_scale(header.width, header.height, *reduce_for)
                          : 1;
    if (header.format == ImageHeader::Format::jpeg) {
        if (auto image = decode_jpeg_bgr(bytes, scale)) {
            return std::move(*image);
        }
    }
    // cv::imdecode wants a Mat header; it does not modify the buffer.
    const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8UC1,
                         const_cast<std::byte*>(bytes.data())); // NOLINT(cppcoreguidelines-pro-type-const-cast)
    int flags = cv::IMREAD_UNCHANGED;
    if (reduce_for && header.format == ImageHeader::Format::jpeg) {
        // REDUCED_* imply colour conversion (gray becomes three equal
        // channels, as to_three_channels would make them) and EXIF rotation,
        // which Datumaro does not apply: ignore it.
        switch (scale) {
        case 8: flags = cv::IMREAD_REDUCED_COLOR_8 | cv::IMREAD_IGNORE_ORIENTATION; break;
        case 4: flags = cv::IMREAD_REDUCED_COLOR_4 | cv::IMREAD_IGNORE_ORIENTATION; break;
        case 2: flags = cv::IMREAD_REDUCED_COLOR_2 | cv::IMREAD_IGNORE_ORIENTATION; break;
        default: break;
        }
    }
    cv::Mat image;
    try {
        image = cv::imdecode(buffer, flags);
    } catch (const cv::Exception& e) {
        throw DecodeError("undecodable", std::string("not a decodable image (OpenCV: ") + e.err + ")");
    }
    if (image.empty()) {
        throw DecodeError("undecodable", "not a decodable image");
    }
    if (image.dims != 2 || image.rows < 1 || image.cols < 1) {
        throw DecodeError("undecodable", "decoded to an empty or non-2-D array");
    }
    return to_three_channels(image);
}

} // namespace

cv::Mat decode_image(std::span<const std::byte> bytes, std::uint64_t max_pixels, std::optional<cv::Size> reduce_for,
                     ExifOrientation orientation)
{
    return decode_image_sized(bytes, max_pixels, reduce_for, orientation).image;
}

DecodedImage decode_image_sized(std::span<const std::byte> bytes, std::uint64_t max_pixels,
                                std::optional<cv::Size> reduce_for, ExifOrientation orientation)
{
    if (bytes.empty()) {
        throw DecodeError("empty", "empty file");
    }
    if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
        throw DecodeError("too_large", "file too large for the decoder (over 2 GiB)");
    }
    const ImageHeader header = inspect_image(bytes);
    const int tag = orientation == ExifOrientation::apply ? header.orientation : 1;
    // A quarter turn swaps the axes: the grid's columns fall on the stored rows.
    if (reduce_for && tag >= 5) {
        reduce_for = cv::Size(reduce_for->height, reduce_for->width);
    }
    DecodedImage out;
    out.image = decode_stored(bytes, header, max_pixels, reduce_for);
    // A header that does not say (none of the formats decoded in part):
    // the decoded size is the stored size.
    out.stored_pixels = header.width != 0 && header.height != 0
                            ? header.width * header.height
                            : static_cast<std::uint64_t>(out.image.cols) * static_cast<std::uint64_t>(out.image.rows);
    out.image = orient(out.image, tag);
    return out;
}

} // namespace ndrd::index
