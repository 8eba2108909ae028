// The gradient feature of a flipped or rotated image, derived from the
// original's feature alone (issue 8): no second decode, just a signed permutation.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "index/hash/feature.hpp"

namespace ndrd::index {

// The eight symmetries of a rectangle, less the identity. rot90 turns 90°
// clockwise (cv::ROTATE_90_CLOCKWISE), rot270 counter-clockwise; transpose
// mirrors about the main diagonal (cv::transpose), transverse about the
// anti-diagonal (cv::transpose then cv::flip(-1)).
// The values are stored in item records (record.cpp): append, never reorder.
enum class Variant { hflip, vflip, rot90, rot180, rot270, transpose, transverse };

inline constexpr Variant all_variants[] = {Variant::hflip,  Variant::vflip,     Variant::rot90,     Variant::rot180,
                                           Variant::rot270, Variant::transpose, Variant::transverse};

std::string_view name(Variant v);
std::optional<Variant> parse_variant(std::string_view name);
// The variant that undoes `v`: rot90 and rot270 undo each other, every other
// variant undoes itself.
Variant inverse(Variant v);

// Whether the variant keeps the grid's shape: rot90, rot270, transpose and
// transverse swap rows and columns, so on a non-square grid the transformed
// image's blocks are not the original's blocks moved.
bool keeps_grid(Grid grid, Variant v);

// out[k] = sign[k] * in[index[k]], both features on the same grid. The
// feature is central differences over a zero border on both sides, so once the
// blocks' statistics have moved with the blocks, every variant is an exact
// signed permutation: no padded element changes place.
struct SignedPermutation {
    std::vector<int> index;
    std::vector<signed char> sign;
};

// Throws std::invalid_argument when !keeps_grid(grid, v).
SignedPermutation permutation_for(Grid grid, Variant v);

// The feature the transformed image would have on `grid` (same as the
// original's: throws std::invalid_argument when !keeps_grid(grid, v)).
// `degenerate` carries over: the zero vector maps to itself.
//
// Exact (measured <= 4e-9, 1e-16 on the integer path) when both image sides
// are at least the grid's. Below that, compute_feature's cv::resize falls back
// to bilinear sampling: with both sides under the grid the result is still
// within ~2e-5 (float32 weights, amplified by the std of flat blocks); with
// one side under the grid, reversing the other side is not a block
// permutation at all (off by 1e-2 to 1e-1). invariance_test pins both.
Feature transformed(const Feature& f, Grid grid, Variant v);

} // namespace ndrd::index
