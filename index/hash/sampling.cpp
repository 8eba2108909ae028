// Rebalancing policies (see sampling.hpp).
#include "index/hash/sampling.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace ndrd::index {

namespace {

std::uint64_t mix(std::uint64_t z)
{
    z = (z ^ (z >> 30U)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27U)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31U);
}

struct Ranked {
    double score; // larger is selected first
    std::uint64_t seq;
};

// The `count` highest scores (ties: lower seq first), whatever the input order.
std::vector<std::uint64_t> top(std::vector<Ranked> ranked, std::size_t count)
{
    count = std::min(count, ranked.size());
    std::partial_sort(
        ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(count), ranked.end(),
        [](const Ranked& a, const Ranked& b) { return a.score != b.score ? a.score > b.score : a.seq < b.seq; });
    std::vector<std::uint64_t> out;
    out.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        out.push_back(ranked[i].seq);
    }
    return out;
}

} // namespace

double item_draw(std::uint64_t seed, std::uint64_t seq)
{
    const std::uint64_t bits = mix(mix(seed + 0x9e3779b97f4a7c15ULL) ^ (seq * 0xd1b54a32d192ed03ULL));
    return (static_cast<double>(bits >> 11U) + 1.0) / 9007199254740992.0; // (0, 1]
}

Selection select_working(std::span<const SampleItem> items, std::optional<std::uint64_t> num_cut, OverSample over,
                         UnderSample under, std::uint64_t seed)
{
    std::vector<const SampleItem*> unique;
    std::vector<const SampleItem*> dups;
    for (const auto& it : items) {
        (it.unique ? unique : dups).push_back(&it);
    }
    Selection sel;
    const auto all_of = [](const std::vector<const SampleItem*>& v, std::vector<std::uint64_t>& out) {
        for (const auto* it : v)
            out.push_back(it->seq);
    };

    if (!num_cut || *num_cut == unique.size()) {
        all_of(unique, sel.working);
    } else if (*num_cut < unique.size()) {
        std::map<std::string, std::uint64_t> per_key;
        if (under == UnderSample::inverse) {
            for (const auto* it : unique)
                ++per_key[it->key.bytes];
        }
        std::vector<Ranked> ranked;
        ranked.reserve(unique.size());
        for (const auto* it : unique) {
            // log(u^(1/w)) = log(u) / w; with w = 1/c^2 that is log(u) * c^2.
            const double log_u = std::log(item_draw(seed, it->seq));
            double score = log_u;
            if (under == UnderSample::inverse) {
                const auto c = static_cast<double>(per_key[it->key.bytes]);
                score = log_u * c * c;
            }
            ranked.push_back({score, it->seq});
        }
        sel.working = top(std::move(ranked), *num_cut);
    } else {
        all_of(unique, sel.working);
        const std::size_t missing = *num_cut - unique.size();
        if (missing >= dups.size()) {
            all_of(dups, sel.working);
            sel.short_of_target = *num_cut > items.size();
        } else {
            std::vector<Ranked> ranked;
            ranked.reserve(dups.size());
            for (const auto* it : dups) {
                // similarity: the least similar first, i.e. the largest -similarity.
                const double score = over == OverSample::similarity ? -it->best_similarity : item_draw(seed, it->seq);
                ranked.push_back({score, it->seq});
            }
            const auto extra = top(std::move(ranked), missing);
            sel.working.insert(sel.working.end(), extra.begin(), extra.end());
        }
    }
    std::sort(sel.working.begin(), sel.working.end());
    return sel;
}

} // namespace ndrd::index
