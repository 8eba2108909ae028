// The gradient feature of Datumaro's NDR: per grid block the mean and standard
// deviation of each channel, then zero-padded x/y differences, L2-normalised.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>

namespace ndrd::index {

// An image whose pixels give no feature (NaN or infinity in a float image):
// rejected like an undecodable file. kind() is a short fixed class, as
// DecodeError's (index/image/decode.hpp) is.
class FeatureError : public std::runtime_error {
public:
    FeatureError(std::string_view kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
    [[nodiscard]] std::string_view kind() const { return kind_; }

private:
    std::string_view kind_; // always a string literal
};

struct Grid {
    int rows = 8;
    int cols = 8;
    [[nodiscard]] int feature_dim() const { return rows * cols * 12; }
    // Columns x rows, as the decoder's reduced decode takes them.
    [[nodiscard]] cv::Size blocks() const { return {cols, rows}; }
    friend bool operator==(const Grid&, const Grid&) = default;
};

// A feature as doubles, flat index (row * cols + col) * 12 + c, where c = 0..5
// are the x-gradients of (mean B,G,R, std B,G,R) and c = 6..11 the y-gradients.
struct Feature {
    std::vector<double> values;
    // True for an image whose gradients are all zero (only an all-black image:
    // the padding makes every other image's gradients non-zero). Datumaro
    // divides 0/0 and gets NaN; we keep the zero vector and flag it, and the
    // decision rule treats two degenerate features as identical.
    bool degenerate = false;
};

// `image` has 3 channels (see decode.hpp) of any depth. uint8 is scaled by
// 1/255; every other depth is used unscaled, as Datumaro does (harmless after
// normalisation). Where a side is not a multiple of the grid, the block
// statistics are those of cv::resize(INTER_AREA) on CV_64F, like Datumaro's,
// so that OpenCV's float32 area weights and its small-image fallback are
// reproduced bit for bit.
Feature compute_feature(const cv::Mat& image, Grid grid);

// Whether compute_feature takes the fast path for `image`: 8-bit, sides that
// are multiples of the grid, where block statistics come from exact integer
// sums in one pass instead of float64 resizes (same numbers within 1e-6).
bool uses_block_sums(const cv::Mat& image, Grid grid);

// Whether compute_feature takes the area-weight path for `image`: 8-bit, both
// sides at least the grid's, not block sums. It computes OpenCV's INTER_AREA
// weights and sums itself, in OpenCV's order (the same bits as cv::resize),
// without the two float64 copies of the image that cv::resize needs.
bool uses_area_weights(const cv::Mat& image, Grid grid);

} // namespace ndrd::index
