// The near-duplicate rule of Datumaro's NDR: among the kept items sharing the
// new item's key, similarity = max dot^50; >= sim_threshold means duplicate.
// Pure and deterministic: the same candidates in the same order, the same
// answer. Both sides are judged as the index stores them (float32), so a
// replay of stored entries reaches the same decision bit for bit.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "index/hash/feature.hpp"
#include "index/hash/invariance.hpp"

namespace ndrd::index {

// A kept item as stored in the index: features are kept as float32.
struct KeptCandidate {
    std::uint64_t seq = 0;
    std::span<const float> feature;
    bool degenerate = false;
};

struct Decision {
    bool duplicate = false;
    std::optional<double> best_similarity; // none when no kept item shares the key
    std::uint64_t matched_seq = 0;         // the candidate giving best_similarity, 0 = none
    // Which flip or rotation of the new image gave best_similarity (none: the
    // image as it is).
    std::optional<Variant> variant;
};

// How widely a new item is compared (issue 8). Default-constructed, it is
// Datumaro's rule: the exact key, the image as it is.
struct MatchRule {
    double sim_threshold = 0.5;
    int probe_radius = 0;          // kept keys within this Hamming distance are candidates
    std::vector<Variant> variants; // also tried, in this order, after the image as it is
    friend bool operator==(const MatchRule&, const MatchRule&) = default;
};

// The feature's values as the index stores them.
[[nodiscard]] std::vector<float> stored_values(const Feature& feature);

// dot(a, b)^50, summed in double over the float32 values. The exponent is
// even, so strongly opposite vectors count as similar too, as in Datumaro.
// Two degenerate (all-black) features are identical content: similarity 1.
// A degenerate and a normal feature: 0.
double similarity(std::span<const float> feature, bool degenerate, const KeptCandidate& kept);

// The first candidate reaching the maximum wins ties, so candidate order (the
// index's key-then-sequence order) makes the result reproducible.
Decision decide(std::span<const float> feature, bool degenerate, std::span<const KeptCandidate> candidates,
                double sim_threshold);

} // namespace ndrd::index
