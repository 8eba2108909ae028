// The feature_dim x hash_dim matrix whose column signs make the hash key.
// Generated once from a seed (or imported) and then stored with the index, so
// keys never change across restarts, machines or library versions.
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ndrd::index {

class ProjectionError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Projection {
public:
    Projection() = default;
    // `row_major` has rows * cols values.
    Projection(int rows, int cols, std::vector<double> row_major);

    // Random orthonormal columns: uniform(-1, 1) entries from a SplitMix64
    // stream (fully specified, unlike std:: distributions), then modified
    // Gram-Schmidt twice. Same seed and shape, same matrix, everywhere.
    static Projection generate(std::uint64_t seed, int rows, int cols);

    // Text matrix: one line per feature dimension, `cols` numbers per line
    // (the format of Datumaro-exported projections). `origin` names the source
    // in errors.
    static Projection parse_text(std::string_view text, int rows, int cols, const std::string& origin);

    // Exact binary round trip for storage (little-endian IEEE doubles).
    [[nodiscard]] std::string serialize() const;
    static Projection deserialize(std::string_view bytes);

    [[nodiscard]] int rows() const { return rows_; }
    [[nodiscard]] int cols() const { return cols_; }
    [[nodiscard]] double at(int r, int c) const { return data_[static_cast<std::size_t>(r) * cols_ + c]; }
    [[nodiscard]] std::span<const double> data() const { return data_; }

    // max |P^T P - I|: how far the columns are from orthonormal.
    [[nodiscard]] double orthonormality_error() const;

    friend bool operator==(const Projection&, const Projection&) = default;

private:
    int rows_ = 0;
    int cols_ = 0;
    std::vector<double> data_;
};

} // namespace ndrd::index
