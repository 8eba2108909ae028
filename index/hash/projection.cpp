// Generating, importing and storing the projection matrix (see projection.hpp).
#include "index/hash/projection.hpp"

#include "index/hash/split_mix64.hpp"
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>

namespace ndrd::index {

namespace {

// Uniform in [-1, 1) from the top 53 bits: exact in double, no library involved.
double uniform_pm1(SplitMix64& rng)
{
    return 2.0 * rng.uniform() - 1.0;
}

} // namespace

Projection::Projection(int rows, int cols, std::vector<double> row_major)
    : rows_(rows), cols_(cols), data_(std::move(row_major))
{
    if (rows <= 0 || cols <= 0 || data_.size() != static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols)) {
        throw ProjectionError("projection shape does not match its data");
    }
}

Projection Projection::generate(std::uint64_t seed, int rows, int cols)
{
    if (cols > rows) {
        throw ProjectionError("cannot make " + std::to_string(cols) + " orthonormal columns in dimension " +
                              std::to_string(rows));
    }
    SplitMix64 rng(seed);
    std::vector<std::vector<double>> columns(static_cast<std::size_t>(cols),
                                             std::vector<double>(static_cast<std::size_t>(rows)));
    for (auto& col : columns) {
        for (double& v : col) {
            v = uniform_pm1(rng);
        }
    }
    // Two passes of modified Gram-Schmidt reach orthonormality to ~1e-15.
    for (std::size_t j = 0; j < columns.size(); ++j) {
        auto& cj = columns[j];
        for (int pass = 0; pass < 2; ++pass) {
            for (std::size_t k = 0; k < j; ++k) {
                double dot = 0.0;
                for (std::size_t i = 0; i < cj.size(); ++i) {
                    dot += cj[i] * columns[k][i];
                }
                for (std::size_t i = 0; i < cj.size(); ++i) {
                    cj[i] -= dot * columns[k][i];
                }
            }
        }
        double norm = 0.0;
        for (double v : cj) {
            norm += v * v;
        }
        norm = std::sqrt(norm);
        for (double& v : cj) {
            v /= norm;
        }
    }
    std::vector<double> data(static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols));
    for (int r = 0; r < rows; ++r) {
        for (int c = 0; c < cols; ++c) {
            data[static_cast<std::size_t>(r) * cols + c] =
                columns[static_cast<std::size_t>(c)][static_cast<std::size_t>(r)];
        }
    }
    return {rows, cols, std::move(data)};
}

Projection Projection::parse_text(std::string_view text, int rows, int cols, const std::string& origin)
{
    std::vector<double> data;
    data.reserve(static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols));
    int line_no = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::size_t end = std::min(text.find('\n', pos), text.size());
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        ++line_no;
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) {
            continue;
        }
        if (static_cast<int>(data.size()) >= rows * cols) {
            throw ProjectionError(origin + ":" + std::to_string(line_no) + ": more than " + std::to_string(rows) +
                                  " rows; the feature has " + std::to_string(rows) + " dimensions");
        }
        int count = 0;
        std::size_t i = 0;
        while (true) {
            while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == ',')) {
                ++i;
            }
            if (i >= line.size()) {
                break;
            }
            double v = 0.0;
            const auto [ptr, ec] = std::from_chars(line.data() + i, line.data() + line.size(), v);
            if (ec != std::errc() || !std::isfinite(v)) {
                throw ProjectionError(origin + ":" + std::to_string(line_no) + ": not a finite number: '" +
                                      std::string(line.substr(i, 24)) + "'");
            }
            data.push_back(v);
            ++count;
            i = static_cast<std::size_t>(ptr - line.data());
        }
        if (count != cols) {
            throw ProjectionError(origin + ":" + std::to_string(line_no) + ": expected " + std::to_string(cols) +
                                  " numbers (hash_dim), found " + std::to_string(count));
        }
    }
    if (static_cast<int>(data.size()) != rows * cols) {
        throw ProjectionError(origin + ": expected " + std::to_string(rows) + " rows (the feature dimension), found " +
                              std::to_string(data.size() / static_cast<std::size_t>(cols)));
    }
    return {rows, cols, std::move(data)};
}

std::string Projection::serialize() const
{
    static_assert(std::endian::native == std::endian::little, "storage format assumes little-endian");
    std::string out(8 + data_.size() * sizeof(double), '\0');
    const auto r = static_cast<std::uint32_t>(rows_);
    const auto c = static_cast<std::uint32_t>(cols_);
    std::memcpy(out.data(), &r, 4);
    std::memcpy(out.data() + 4, &c, 4);
    std::memcpy(out.data() + 8, data_.data(), data_.size() * sizeof(double));
    return out;
}

Projection Projection::deserialize(std::string_view bytes)
{
    std::uint32_t r = 0;
    std::uint32_t c = 0;
    if (bytes.size() < 8) {
        throw ProjectionError("stored projection is truncated");
    }
    std::memcpy(&r, bytes.data(), 4);
    std::memcpy(&c, bytes.data() + 4, 4);
    const std::size_t n = static_cast<std::size_t>(r) * c;
    if (bytes.size() != 8 + n * sizeof(double)) {
        throw ProjectionError("stored projection has the wrong size");
    }
    std::vector<double> data(n);
    std::memcpy(data.data(), bytes.data() + 8, n * sizeof(double));
    return {static_cast<int>(r), static_cast<int>(c), std::move(data)};
}

double Projection::orthonormality_error() const
{
    double worst = 0.0;
    for (int a = 0; a < cols_; ++a) {
        for (int b = a; b < cols_; ++b) {
            double dot = 0.0;
            for (int r = 0; r < rows_; ++r) {
                dot += at(r, a) * at(r, b);
            }
            worst = std::max(worst, std::abs(dot - (a == b ? 1.0 : 0.0)));
        }
    }
    return worst;
}

} // namespace ndrd::index
