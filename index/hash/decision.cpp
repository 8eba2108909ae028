// The decision rule (see decision.hpp).
#include "index/hash/decision.hpp"

#include <cmath>
#include <stdexcept>

namespace ndrd::index {

double similarity(std::span<const double> feature, bool degenerate, const KeptCandidate& kept)
{
    if (degenerate || kept.degenerate) {
        return degenerate && kept.degenerate ? 1.0 : 0.0;
    }
    if (feature.size() != kept.feature.size()) {
        throw std::invalid_argument("feature dimensions differ");
    }
    double dot = 0.0;
    for (std::size_t i = 0; i < feature.size(); ++i) {
        dot += feature[i] * static_cast<double>(kept.feature[i]);
    }
    return std::pow(dot, 50);
}

Decision decide(const Feature& feature, std::span<const KeptCandidate> candidates, double sim_threshold)
{
    Decision d;
    for (const KeptCandidate& c : candidates) {
        const double s = similarity(feature.values, feature.degenerate, c);
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
