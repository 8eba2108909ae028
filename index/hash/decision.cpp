// The decision rule (see decision.hpp).
#include "index/hash/decision.hpp"

#include <cmath>
#include <stdexcept>

namespace ndrd::index {

std::vector<float> stored_values(const Feature& feature)
{
    return {feature.values.begin(), feature.values.end()};
}

double similarity(std::span<const float> feature, bool degenerate, const KeptCandidate& kept)
{
    if (degenerate || kept.degenerate) {
        return degenerate && kept.degenerate ? 1.0 : 0.0;
    }
    if (feature.size() != kept.feature.size()) {
        throw std::invalid_argument("feature dimensions differ");
    }
    double dot = 0.0;
    for (std::size_t i = 0; i < feature.size(); ++i) {
        dot += static_cast<double>(feature[i]) * static_cast<double>(kept.feature[i]);
    }
    return std::pow(dot, 50);
}

Decision decide(std::span<const float> feature, bool degenerate, std::span<const KeptCandidate> candidates,
                double sim_threshold)
{
    Decision d;
    for (const KeptCandidate& c : candidates) {
        const double s = similarity(feature, degenerate, c);
        if (!d.best_similarity || s > *d.best_similarity) {
            d.best_similarity = s;
            d.matched_seq = c.seq;
        }
    }
    // Datumaro keeps an item when max_sim < threshold: equality is a duplicate.
    d.duplicate = d.best_similarity && *d.best_similarity >= sim_threshold;
    return d;
}

} // namespace ndrd::index
