// JPEG straight to BGR through TurboJPEG (see jpeg_decoder.hpp).
#include "index/image/jpeg_decoder.hpp"

#include <turbojpeg.h>

#include <limits>
#include <memory>

namespace ndrd::index {

namespace {

struct TjDestroy {
    void operator()(void* handle) const { (void)tjDestroy(handle); }
};
using TjHandle = std::unique_ptr<void, TjDestroy>;

} // namespace

std::optional<cv::Mat> decode_jpeg_bgr(std::span<const std::byte> bytes, int scale)
{
    if (bytes.empty() || bytes.size() > std::numeric_limits<unsigned long>::max() ||
        (scale != 1 && scale != 2 && scale != 4 && scale != 8)) {
        return std::nullopt;
    }
    const TjHandle tj(tjInitDecompress());
    if (!tj) {
        return std::nullopt;
    }
    const auto* data = reinterpret_cast<const unsigned char*>(bytes.data()); // NOLINT(*-reinterpret-cast)
    const auto size = static_cast<unsigned long>(bytes.size());
    int width = 0;
    int height = 0;
    int subsampling = 0;
    int colorspace = 0;
    if (tjDecompressHeader3(tj.get(), data, size, &width, &height, &subsampling, &colorspace) != 0 || width < 1 ||
        height < 1 || (colorspace != TJCS_YCbCr && colorspace != TJCS_RGB)) {
        return std::nullopt;
    }
    // libjpeg's scaled size rounds up, as TJSCALED does; asking for exactly
    // that size makes TurboJPEG pick the 1/scale factor.
    const tjscalingfactor factor{1, scale};
    const int out_w = TJSCALED(width, factor);
    const int out_h = TJSCALED(height, factor);
    cv::Mat image(out_h, out_w, CV_8UC3);
    if (tjDecompress2(tj.get(), data, size, image.data, out_w, 0, out_h, TJPF_BGR, 0) != 0) {
        return std::nullopt; // an error, or a warning about a damaged stream (TJERR_WARNING)
    }
    return image;
}

} // namespace ndrd::index
