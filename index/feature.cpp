// Datumaro's NDR._cgrad_feature, ported to OpenCV's C++ API (see feature.hpp).
#include "index/feature.hpp"

#include "index/decode.hpp"

#include <cmath>
#include <stdexcept>

#include <opencv2/imgproc.hpp>

namespace ndrd::index {

Feature compute_feature(const cv::Mat& image, Grid grid)
{
    if (image.channels() != 3) {
        throw std::invalid_argument("compute_feature needs a 3-channel image");
    }
    cv::Mat img;
    if (image.depth() == CV_8U) {
        image.convertTo(img, CV_64FC3, 1.0 / 255.0);
    } else {
        image.convertTo(img, CV_64FC3);
    }
    const cv::Size out(grid.cols, grid.rows);
    cv::Mat mean;
    cv::Mat mean_sq;
    cv::resize(img, mean, out, 0, 0, cv::INTER_AREA);
    cv::resize(img.mul(img), mean_sq, out, 0, 0, cv::INTER_AREA);

    // rr: (rows + 2) x (cols + 2) cells of [mean B,G,R, std B,G,R], zero border.
    const int pr = grid.rows + 2;
    const int pc = grid.cols + 2;
    std::vector<double> rr(static_cast<std::size_t>(pr * pc * 6), 0.0);
    for (int y = 0; y < grid.rows; ++y) {
        const auto* m = mean.ptr<cv::Vec3d>(y);
        const auto* m2 = mean_sq.ptr<cv::Vec3d>(y);
        for (int x = 0; x < grid.cols; ++x) {
            double* cell = &rr[(static_cast<std::size_t>(y + 1) * pc + (x + 1)) * 6];
            for (int c = 0; c < 3; ++c) {
                const double mu = m[x][c];
                cell[c] = mu;
                cell[3 + c] = std::sqrt(std::max(m2[x][c] - mu * mu, 0.0));
            }
        }
    }
    const auto at = [&](int y, int x, int c) {
        return rr[(static_cast<std::size_t>(y) * pc + x) * 6 + c];
    };

    Feature f;
    f.values.resize(static_cast<std::size_t>(grid.feature_dim()));
    double sum_sq = 0.0;
    for (int y = 0; y < grid.rows; ++y) {
        for (int x = 0; x < grid.cols; ++x) {
            double* out_cell = &f.values[(static_cast<std::size_t>(y) * grid.cols + x) * 12];
            for (int c = 0; c < 6; ++c) {
                const double gx = at(y + 1, x, c) - at(y + 1, x + 2, c); // left minus right
                const double gy = at(y, x + 1, c) - at(y + 2, x + 1, c); // upper minus lower
                out_cell[c] = gx;
                out_cell[6 + c] = gy;
                sum_sq += gx * gx + gy * gy;
            }
        }
    }
    const double norm = std::sqrt(sum_sq);
    if (!std::isfinite(norm)) {
        throw DecodeError("non_finite", "image has non-finite pixel values (NaN or infinity)");
    }
    if (norm == 0.0) {
        std::fill(f.values.begin(), f.values.end(), 0.0);
        f.degenerate = true;
        return f;
    }
    for (double& v : f.values) {
        v /= norm;
    }
    return f;
}

} // namespace ndrd::index
