// NDR's rebalancing policies (Datumaro's NDR._keep_cut) in a streaming form:
// which items make up the working subset for a target size num_cut. Pure and
// stable: each item's random draw is derived once from the seed and its
// sequence number, so a rebalance with no new input selects the same set, and
// one new item changes the selection by at most one swap.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "index/hash/key.hpp"

namespace ndrd::index {

enum class OverSample { random, similarity };
enum class UnderSample { uniform, inverse };

struct SampleItem {
    std::uint64_t seq = 0;
    bool unique = false; // kept by the hash decision (U); otherwise a near-duplicate (D)
    Key key;
    double best_similarity = 0.0; // for D: similarity to the kept item it matched
};

struct Selection {
    std::vector<std::uint64_t> working; // seqs of the target working subset, ascending
    bool short_of_target = false;       // fewer items than num_cut in all: everything selected
};

// The item's draw in (0, 1]: a hash of (seed, seq), identical on every run.
double item_draw(std::uint64_t seed, std::uint64_t seq);

// num_cut unset: the working subset is U.
// |U| > num_cut: num_cut items of U, by weighted sampling without replacement
//   with the Efraimidis-Spirakis key u^(1/w) (the distribution of drawing one
//   by one, as numpy.random.choice(replace=False, p=w) does):
//   uniform: w = 1; inverse: w = 1 / c(k)^2 with c(k) the number of items of U
//   holding key k (Datumaro's (1/c(k)) / sum(1/c) / c(k), up to the constant).
// |U| < num_cut: U plus num_cut - |U| items of D:
//   random: the largest draws; similarity: ascending best_similarity, ties by seq.
Selection select_working(std::span<const SampleItem> items, std::optional<std::uint64_t> num_cut, OverSample over,
                         UnderSample under, std::uint64_t seed);

} // namespace ndrd::index
