// Signed permutations of the gradient feature (see invariance.hpp).
//
// With M[i][j] the six block statistics, zero outside the grid, the feature is
//   gx[i][j] = M[i][j-1] - M[i][j+1]    gy[i][j] = M[i-1][j] - M[i+1][j]
// (feature.cpp: central differences, "left minus right" and "upper minus
// lower", over a one-block zero border on every side). A flip or rotation
// moves blocks whole (block edges at k*W/cols map to block edges) and leaves
// each block's mean and std unchanged, and because the zero border is on both
// sides of both axes, reversing an axis only negates that axis's difference:
// nothing padded moves to the other side. Normalisation is unchanged too, as
// a permutation keeps the L2 norm.
#include "index/hash/invariance.hpp"

#include <array>
#include <cstddef>
#include <stdexcept>
#include <string>

namespace ndrd::index {

namespace {

constexpr std::array<std::string_view, 7> names = {"hflip",  "vflip",     "rot90",     "rot180",
                                                   "rot270", "transpose", "transverse"};

// Where output block (i, j) of the transformed image comes from in the
// original, and how its gradient halves are built from the original's.
struct Source {
    int row;
    int col;
    bool swap_halves;   // gx' from gy and gy' from gx
    signed char x_sign; // sign of gx'
    signed char y_sign; // sign of gy'
};

// N = rows = cols wherever halves swap (keeps_grid is checked first).
Source source_of(Grid g, Variant v, int i, int j)
{
    const int last_row = g.rows - 1;
    const int last_col = g.cols - 1;
    switch (v) {
    // Mirror of columns: block (i, C-1-j); left and right trade places.
    case Variant::hflip: return {i, last_col - j, false, -1, 1};
    case Variant::vflip: return {last_row - i, j, false, 1, -1};
    case Variant::rot180: return {last_row - i, last_col - j, false, -1, -1};
    // T(y, x) = I(x, y): a step in x is a step down in the original.
    case Variant::transpose: return {j, i, true, 1, 1};
    // T(y, x) = I(H-1-x, y): a step right is a step up in the original,
    // a step down is a step right.
    case Variant::rot90: return {last_row - j, i, true, -1, 1};
    // T(y, x) = I(x, W-1-y): right is down, down is left.
    case Variant::rot270: return {j, last_col - i, true, 1, -1};
    // T(y, x) = I(H-1-x, W-1-y): right is up, down is left.
    case Variant::transverse: return {last_row - j, last_col - i, true, -1, -1};
    }
    throw std::invalid_argument("unknown variant");
}

} // namespace

std::string_view name(Variant v)
{
    return names.at(static_cast<std::size_t>(v));
}

Variant inverse(Variant v)
{
    switch (v) {
    case Variant::rot90: return Variant::rot270;
    case Variant::rot270: return Variant::rot90;
    default: return v;
    }
}

std::optional<Variant> parse_variant(std::string_view name)
{
    for (const Variant v : all_variants) {
        if (index::name(v) == name) return v;
    }
    return std::nullopt;
}

bool keeps_grid(Grid grid, Variant v)
{
    return grid.rows == grid.cols || v == Variant::hflip || v == Variant::vflip || v == Variant::rot180;
}

SignedPermutation permutation_for(Grid grid, Variant v)
{
    if (!keeps_grid(grid, v)) {
        throw std::invalid_argument(std::string(name(v)) + " swaps rows and columns, so it needs a square grid, not " +
                                    std::to_string(grid.rows) + " rows x " + std::to_string(grid.cols) + " cols");
    }
    SignedPermutation p;
    const auto dim = static_cast<std::size_t>(grid.feature_dim());
    p.index.resize(dim);
    p.sign.resize(dim);
    for (int i = 0; i < grid.rows; ++i) {
        for (int j = 0; j < grid.cols; ++j) {
            const Source s = source_of(grid, v, i, j);
            const int out = (i * grid.cols + j) * 12;
            const int in = (s.row * grid.cols + s.col) * 12;
            const int x_from = in + (s.swap_halves ? 6 : 0);
            const int y_from = in + (s.swap_halves ? 0 : 6);
            for (int c = 0; c < 6; ++c) {
                p.index[out + c] = x_from + c;
                p.sign[out + c] = s.x_sign;
                p.index[out + 6 + c] = y_from + c;
                p.sign[out + 6 + c] = s.y_sign;
            }
        }
    }
    return p;
}

Feature transformed(const Feature& f, Grid grid, Variant v)
{
    if (f.values.size() != static_cast<std::size_t>(grid.feature_dim())) {
        throw std::invalid_argument("feature has " + std::to_string(f.values.size()) + " values, grid " +
                                    std::to_string(grid.rows) + "x" + std::to_string(grid.cols) + " needs " +
                                    std::to_string(grid.feature_dim()));
    }
    const SignedPermutation p = permutation_for(grid, v);
    Feature out;
    out.degenerate = f.degenerate;
    out.values.resize(f.values.size());
    for (std::size_t k = 0; k < out.values.size(); ++k) {
        out.values[k] = p.sign[k] * f.values[static_cast<std::size_t>(p.index[k])];
    }
    return out;
}

} // namespace ndrd::index
