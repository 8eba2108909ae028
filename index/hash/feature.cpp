// Datumaro's NDR._cgrad_feature, ported to OpenCV's C++ API (see feature.hpp).
#include "index/hash/feature.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include <opencv2/imgproc.hpp>

namespace ndrd::index {

namespace {

// Per-block mean and standard deviation of each channel, grid.rows x
// grid.cols, CV_64FC3.
struct BlockMoments {
    cv::Mat mean;
    cv::Mat stddev;
};

// Standard deviation from E[x] and E[x^2], as Datumaro computes it (the
// clamp absorbs rounding below zero in flat blocks). Shared by the two paths
// that must give Datumaro's bits.
double deviation(double mean, double mean_sq)
{
    return std::sqrt(std::max(mean_sq - mean * mean, 0.0));
}

// The general path, Datumaro's own: any depth, any size. For a side that is
// not a multiple of the grid, OpenCV's INTER_AREA uses float32 area weights
// (and for a side under 8 pixels an area-linear fallback); going through the
// same call reproduces those numbers bit for bit.
BlockMoments moments_by_resize(const cv::Mat& image, Grid grid)
{
    cv::Mat img;
    if (image.depth() == CV_8U) {
        image.convertTo(img, CV_64FC3, 1.0 / 255.0);
    } else {
        image.convertTo(img, CV_64FC3);
    }
    const cv::Size out(grid.cols, grid.rows);
    BlockMoments m;
    cv::Mat mean_sq;
    cv::resize(img, m.mean, out, 0, 0, cv::INTER_AREA);
    cv::resize(img.mul(img), mean_sq, out, 0, 0, cv::INTER_AREA);
    m.stddev.create(grid.rows, grid.cols, CV_64FC3);
    for (int y = 0; y < grid.rows; ++y) {
        const auto* mu = m.mean.ptr<cv::Vec3d>(y);
        const auto* mu2 = mean_sq.ptr<cv::Vec3d>(y);
        auto* sd = m.stddev.ptr<cv::Vec3d>(y);
        for (int x = 0; x < grid.cols; ++x) {
            for (int c = 0; c < 3; ++c) {
                sd[x][c] = deviation(mu[x][c], mu2[x][c]);
            }
        }
    }
    return m;
}

// col[i] += row[i], col_sq[i] += row[i]^2. The restrict-qualified pointers
// (they never overlap) and the fixed-width chunks are what let GCC's -O2
// vectoriser take the loop: it will not add alias checks or a tail on its own.
void accumulate_row(const std::uint8_t* __restrict row, std::uint32_t* __restrict col, std::uint32_t* __restrict col_sq,
                    std::size_t width)
{
    constexpr std::size_t chunk = 16;
    std::size_t i = 0;
    for (; i + chunk <= width; i += chunk) {
        for (std::size_t k = 0; k < chunk; ++k) {
            const std::uint32_t v = row[i + k];
            col[i + k] += v;
            col_sq[i + k] += v * v;
        }
    }
    for (; i < width; ++i) {
        const std::uint32_t v = row[i];
        col[i] += v;
        col_sq[i] += v * v;
    }
}

// The fast path for 8-bit images whose sides are multiples of the grid (every
// common camera size: 1920x1080, 4000x3000, ...). There INTER_AREA is a plain
// block average, so one pass over the bytes with exact integer sums of pixels
// and of squared pixels gives the same statistics without a float64 copy of
// the image (tens of MB at 1080p). The means agree with OpenCV's to the last
// bit or two; the variance, computed exactly, differs only where OpenCV's
// E[x^2] - E[x]^2 cancels to rounding noise in flat blocks (well under 1e-6).
BlockMoments moments_by_block_sums(const cv::Mat& image, Grid grid)
{
    const int bh = image.rows / grid.rows;
    const int bw = image.cols / grid.cols;
    const auto cells = static_cast<std::size_t>(grid.rows) * static_cast<std::size_t>(grid.cols) * 3;
    std::vector<std::uint64_t> sum(cells, 0);
    std::vector<std::uint64_t> sum_sq(cells, 0);
    // Column sums over a band of rows, one per byte of a row (B, G, R of
    // every pixel): a contiguous loop the compiler vectorises, where summing
    // each block's interleaved channels directly does not. 32-bit lanes hold
    // up to 66051 rows of 255^2; bands are flushed to the 64-bit cells at
    // each block row's end, and every 65536 rows within taller blocks.
    const auto width = static_cast<std::size_t>(image.cols) * 3;
    std::vector<std::uint32_t> col(width, 0);
    std::vector<std::uint32_t> col_sq(width, 0);
    const auto flush = [&](int block_row) {
        const std::size_t cell_row = static_cast<std::size_t>(block_row) * static_cast<std::size_t>(grid.cols) * 3;
        const auto run = static_cast<std::size_t>(bw) * 3;
        for (std::size_t i = 0; i < width; ++i) {
            const std::size_t cell = cell_row + (i / run) * 3 + i % 3;
            sum[cell] += col[i];
            sum_sq[cell] += col_sq[i];
        }
        std::fill(col.begin(), col.end(), 0U);
        std::fill(col_sq.begin(), col_sq.end(), 0U);
    };
    constexpr int max_band = 65536;
    int band = 0;
    for (int y = 0; y < image.rows; ++y) {
        accumulate_row(image.ptr<std::uint8_t>(y), col.data(), col_sq.data(), width);
        if ((y + 1) % bh == 0 || ++band == max_band) {
            flush(y / bh);
            band = 0;
        }
    }
    BlockMoments m;
    m.mean.create(grid.rows, grid.cols, CV_64FC3);
    m.stddev.create(grid.rows, grid.cols, CV_64FC3);
    const auto n = static_cast<double>(bh) * static_cast<double>(bw);
    const auto n_int = static_cast<std::uint64_t>(bh) * static_cast<std::uint64_t>(bw);
    for (int y = 0; y < grid.rows; ++y) {
        auto* mu = m.mean.ptr<cv::Vec3d>(y);
        auto* sd = m.stddev.ptr<cv::Vec3d>(y);
        for (int x = 0; x < grid.cols; ++x) {
            const std::size_t cell = (static_cast<std::size_t>(y) * static_cast<std::size_t>(grid.cols) + x) * 3;
            for (int c = 0; c < 3; ++c) {
                const std::uint64_t s = sum[cell + c];
                // n*Q - S^2 = n^2 * variance, exact in integers (no
                // cancellation), for blocks small enough (uses_block_sums).
                const std::uint64_t spread = n_int * sum_sq[cell + c] - s * s;
                mu[x][c] = static_cast<double>(s) / (n * 255.0);
                sd[x][c] = std::sqrt(static_cast<double>(spread)) / (n * 255.0);
            }
        }
    }
    return m;
}

// One term of OpenCV's INTER_AREA decimation along one axis: source index
// `src` adds `weight` times its value to destination cell `dst`.
struct AreaTap {
    int src;
    int dst;
    double weight; // a float32 value, as OpenCV stores it
};

// OpenCV's computeResizeAreaTab for one axis, term for term: the scale is
// derived the way cv::resize derives it (1 / (dsize / ssize), not ssize /
// dsize), and every weight is rounded to float32. These weights, not an exact
// area average, are what Datumaro's numbers carry for such sides.
std::vector<AreaTap> area_taps(int ssize, int dsize)
{
    const double scale = 1.0 / (static_cast<double>(dsize) / ssize);
    std::vector<AreaTap> taps;
    taps.reserve(static_cast<std::size_t>(ssize) + static_cast<std::size_t>(dsize) * 2);
    for (int d = 0; d < dsize; ++d) {
        const double f1 = d * scale;
        const double f2 = f1 + scale;
        const double cell = std::min(scale, ssize - f1);
        int s2 = static_cast<int>(std::floor(f2));
        s2 = std::min(s2, ssize - 1);
        const int s1 = std::min(static_cast<int>(std::ceil(f1)), s2);
        if (s1 - f1 > 1e-3) {
            taps.push_back({s1 - 1, d, static_cast<float>((s1 - f1) / cell)});
        }
        for (int s = s1; s < s2; ++s) {
            taps.push_back({s, d, static_cast<float>(1.0 / cell)});
        }
        if (f2 - s2 > 1e-3) {
            taps.push_back({s2, d, static_cast<float>(std::min({f2 - s2, 1.0, cell}) / cell)});
        }
    }
    return taps;
}

// The path for 8-bit images with a side that is not a multiple of the grid
// (what decode_scale: auto hands over: 500x375 from 4000x3000, 240x135 from
// 1920x1080). It is cv::resize(INTER_AREA) of the image scaled to [0, 1] in
// float64, and of its square, computed the way OpenCV's ResizeArea_Invoker
// computes it (the same float32 weights, the same order of additions), so the
// numbers are bit for bit those of moments_by_resize. What it saves is the
// two full-image float64 copies (4.5 MB each at 500x375) that path allocates
// and fills: a 256-entry table gives each byte's value and square.
BlockMoments moments_by_area_weights(const cv::Mat& image, Grid grid)
{
    std::array<double, 256> value{};
    std::array<double, 256> square{};
    for (int p = 0; p < 256; ++p) {
        value[static_cast<std::size_t>(p)] = p * (1.0 / 255.0); // what convertTo(CV_64F, 1/255) gives
        square[static_cast<std::size_t>(p)] = value[static_cast<std::size_t>(p)] * value[static_cast<std::size_t>(p)];
    }
    const std::vector<AreaTap> xtaps = area_taps(image.cols, grid.cols);
    const std::vector<AreaTap> ytaps = area_taps(image.rows, grid.rows);
    const auto width = static_cast<std::size_t>(grid.cols) * 3;
    std::vector<double> row_sum(width);
    std::vector<double> row_sq(width);
    std::vector<double> sum(width);
    std::vector<double> sum_sq(width);
    BlockMoments m;
    m.mean.create(grid.rows, grid.cols, CV_64FC3);
    m.stddev.create(grid.rows, grid.cols, CV_64FC3);
    const auto emit = [&](int block_row) {
        auto* mu = m.mean.ptr<double>(block_row);
        auto* sd = m.stddev.ptr<double>(block_row);
        for (std::size_t i = 0; i < width; ++i) {
            mu[i] = sum[i];
            sd[i] = deviation(sum[i], sum_sq[i]);
        }
    };
    int current = ytaps.front().dst;
    for (const AreaTap& yt : ytaps) {
        const auto* row = image.ptr<std::uint8_t>(yt.src);
        // The taps come grouped by destination cell, so each cell's six sums
        // stay in registers; starting from 0.0 and adding in tap order keeps
        // OpenCV's rounding.
        std::size_t k = 0;
        for (std::size_t out = 0; out < width; out += 3) {
            std::array<double, 3> s{};
            std::array<double, 3> q{};
            for (; k < xtaps.size() && static_cast<std::size_t>(xtaps[k].dst) * 3 == out; ++k) {
                const std::uint8_t* px = row + static_cast<std::ptrdiff_t>(xtaps[k].src) * 3;
                const double w = xtaps[k].weight;
                for (std::size_t c = 0; c < 3; ++c) {
                    s[c] += value[px[c]] * w;
                    q[c] += square[px[c]] * w;
                }
            }
            for (std::size_t c = 0; c < 3; ++c) {
                row_sum[out + c] = s[c];
                row_sq[out + c] = q[c];
            }
        }
        if (yt.dst != current) {
            emit(current);
            current = yt.dst;
            for (std::size_t i = 0; i < width; ++i) {
                sum[i] = yt.weight * row_sum[i];
                sum_sq[i] = yt.weight * row_sq[i];
            }
        } else {
            for (std::size_t i = 0; i < width; ++i) {
                sum[i] += yt.weight * row_sum[i];
                sum_sq[i] += yt.weight * row_sq[i];
            }
        }
    }
    emit(current);
    return m;
}

enum class MomentsPath { block_sums, area_weights, resize };

MomentsPath moments_path(const cv::Mat& image, Grid grid)
{
    // Under the grid on a side OpenCV interpolates instead of decimating:
    // that, and every depth but 8 bits, is left to cv::resize.
    if (image.depth() != CV_8U || image.channels() != 3 || image.rows < grid.rows || image.cols < grid.cols) {
        return MomentsPath::resize;
    }
    const bool multiples = image.rows % grid.rows == 0 && image.cols % grid.cols == 0;
    // n * Q < 2^64 with Q <= n * 255^2: n below 2^24 pixels per block
    // (4096 x 4096), i.e. images up to 32768 x 32768 on the 8x8 grid.
    const bool sums_fit =
        static_cast<std::uint64_t>(image.rows / grid.rows) * static_cast<std::uint64_t>(image.cols / grid.cols) <
        (1ULL << 24U);
    return multiples && sums_fit ? MomentsPath::block_sums : MomentsPath::area_weights;
}

} // namespace

bool uses_block_sums(const cv::Mat& image, Grid grid)
{
    return moments_path(image, grid) == MomentsPath::block_sums;
}

bool uses_area_weights(const cv::Mat& image, Grid grid)
{
    return moments_path(image, grid) == MomentsPath::area_weights;
}

Feature compute_feature(const cv::Mat& image, Grid grid)
{
    if (image.channels() != 3) {
        throw std::invalid_argument("compute_feature needs a 3-channel image");
    }
    const MomentsPath path = moments_path(image, grid);
    const BlockMoments moments = path == MomentsPath::block_sums     ? moments_by_block_sums(image, grid)
                                 : path == MomentsPath::area_weights ? moments_by_area_weights(image, grid)
                                                                     : moments_by_resize(image, grid);
    const cv::Mat& mean = moments.mean;
    const cv::Mat& stddev = moments.stddev;

    // rr: (rows + 2) x (cols + 2) cells of [mean B,G,R, std B,G,R], zero border.
    const int pr = grid.rows + 2;
    const int pc = grid.cols + 2;
    std::vector<double> rr(static_cast<std::size_t>(pr * pc * 6), 0.0);
    for (int y = 0; y < grid.rows; ++y) {
        const auto* m = mean.ptr<cv::Vec3d>(y);
        const auto* sd = stddev.ptr<cv::Vec3d>(y);
        for (int x = 0; x < grid.cols; ++x) {
            double* cell = &rr[(static_cast<std::size_t>(y + 1) * pc + (x + 1)) * 6];
            for (int c = 0; c < 3; ++c) {
                cell[c] = m[x][c];
                cell[3 + c] = sd[x][c];
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
        throw FeatureError("non_finite", "image has non-finite pixel values (NaN or infinity)");
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
