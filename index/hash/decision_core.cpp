// The pure decision core (see decision_core.hpp).
#include "index/hash/decision_core.hpp"

#include <type_traits>
#include <unordered_set>

#include "index/hash/invariance.hpp"
#include "index/hash/sampling.hpp"

namespace ndrd::index {

namespace {

// The indexed item whose bytes `digest` names, when the exact-copy rule can
// use it. Rejected items have no feature (and limits may have changed
// since): a copy of one is judged like any file. A duplicate retention
// expired has no feature either, but its decision stands: a copy of it is
// still a duplicate of its kept representative.
std::optional<ItemRecord> copied_original(std::string_view digest, const IndexView& view, Grid grid)
{
    if (digest.empty()) {
        return std::nullopt;
    }
    auto original = view.first_with_digest(digest);
    if (!original || original->verdict == Verdict::rejected) {
        return std::nullopt;
    }
    const bool expired_duplicate = original->state == RouteState::expired && original->verdict == Verdict::duplicated;
    if (!expired_duplicate && original->feature.size() != static_cast<std::size_t>(grid.feature_dim())) {
        return std::nullopt;
    }
    return original;
}

// Same bytes, same image: a duplicate of what the original stands for,
// whatever became of the original itself (Datumaro would judge the copy by
// key, and keep it when no kept item holds that key).
void judge_as_copy(ItemRecord& rec, const ItemRecord& original)
{
    rec.verdict = Verdict::duplicated;
    rec.subset = Subset::duplicated;
    rec.exact_copy = true;
    if (original.verdict == Verdict::duplicated && original.matched_seq != 0) {
        rec.matched_seq = original.matched_seq; // its kept representative
        rec.best_similarity = original.best_similarity;
        rec.matched_variant = original.matched_variant;
    } else {
        rec.matched_seq = original.seq;
        rec.best_similarity = 1.0;
    }
}

} // namespace

Decision judge(std::span<const float> feature, bool degenerate, const Key& key, const MatchRule& rule,
               const IndexView& view, const Projection& projection, Grid grid)
{
    const auto judge_one = [&](std::span<const float> f, const Key& k) {
        const auto kept = view.kept_near(k, rule.probe_radius);
        std::vector<KeptCandidate> candidates;
        candidates.reserve(kept.size());
        for (const auto& item : kept) {
            candidates.push_back(item.candidate());
        }
        return decide(f, degenerate, candidates, rule.sim_threshold);
    };
    Decision best = judge_one(feature, key);
    if (rule.variants.empty()) {
        return best;
    }
    // A flip or rotation permutes the values and flips signs: exact on the
    // stored float32 values, so every variant is judged at stored precision too.
    Feature stored;
    stored.values.assign(feature.begin(), feature.end());
    stored.degenerate = degenerate;
    for (const Variant v : rule.variants) {
        const Feature f = transformed(stored, grid, v);
        const std::vector<float> values = stored_values(f);
        Decision d = judge_one(values, compute_key(f, projection));
        if (d.best_similarity && (!best.best_similarity || *d.best_similarity > *best.best_similarity)) {
            best = d;
            best.variant = v;
        }
    }
    return best;
}

bool expirable(const ItemRecord& rec)
{
    if (rec.state != RouteState::done) {
        return false;
    }
    return (rec.verdict == Verdict::duplicated && rec.subset == Subset::duplicated) ||
           (rec.verdict == Verdict::rejected && rec.subset == Subset::rejected);
}

bool better_copy(std::uint64_t pixels, std::uint64_t size, const ItemRecord& than)
{
    if (pixels != 0 && than.pixels != 0 && pixels != than.pixels) {
        return pixels > than.pixels;
    }
    return size > than.size;
}

DecisionCore::DecisionCore(Rules rules, const Projection& projection, Grid grid)
    : rules_(std::move(rules)), projection_(&projection), grid_(grid)
{
}

Outcome DecisionCore::apply(const Entry& entry, const IndexView& view)
{
    return std::visit(
        [&](const auto& body) -> Outcome {
            using T = std::decay_t<decltype(body)>;
            if constexpr (std::is_same_v<T, HashedItem>) {
                return hashed(body, view);
            } else if constexpr (std::is_same_v<T, RejectedItem>) {
                return rejected(body, view);
            } else if constexpr (std::is_same_v<T, RulesChange>) {
                rules_ = body.rules;
                return {};
            } else if constexpr (std::is_same_v<T, OperatorOverride>) {
                return overridden(body, view);
            } else if constexpr (std::is_same_v<T, VanishedItem>) {
                return vanished(body, view);
            } else if constexpr (std::is_same_v<T, ExpireItems>) {
                return expired(body, view);
            } else {
                return rebalanced(body, view);
            }
        },
        entry.body);
}

Outcome DecisionCore::hashed(const HashedItem& h, const IndexView& view) const
{
    ItemRecord rec;
    rec.seq = view.next_item();
    rec.source = h.source;
    rec.origin = h.origin;
    rec.size = h.size;
    rec.digest = h.digest;
    rec.key = h.key;
    rec.feature = h.feature;
    rec.degenerate = h.degenerate;
    const std::optional<ItemRecord> original =
        rules_.exact_copy ? copied_original(h.digest, view, grid_) : std::nullopt;
    if (original) {
        judge_as_copy(rec, *original);
    } else {
        const Decision d = judge(h.feature, h.degenerate, h.key, rules_.match, view, *projection_, grid_);
        rec.verdict = d.duplicate ? Verdict::duplicated : Verdict::kept;
        rec.subset = d.duplicate ? Subset::duplicated : Subset::working;
        rec.best_similarity = d.best_similarity;
        rec.matched_seq = d.matched_seq;
        rec.matched_variant = d.duplicate ? d.variant : std::nullopt;
    }
    rec.pixels = h.pixels;
    std::optional<ItemRecord> replaced;
    if (rules_.keep == Keep::best && !rec.exact_copy && rec.verdict == Verdict::duplicated) {
        replaced = swap_if_better(rec, view);
    }
    Outcome out;
    out.records.push_back(std::move(rec));
    if (replaced) {
        out.records.push_back(std::move(*replaced));
    }
    return out;
}

// keep: best. When the new item `rec`, judged a duplicate of a kept
// reference, is the better copy, it becomes the group's kept reference and
// the old one its duplicate: returns the old one's record so changed. An
// exact copy is never better (same pixels, same size, later), and an item an
// operator released stays the reference it was made.
std::optional<ItemRecord> DecisionCore::swap_if_better(ItemRecord& rec, const IndexView& view)
{
    auto old = view.item(rec.matched_seq);
    if (!old || old->verdict != Verdict::kept || old->state == RouteState::vanished ||
        old->operator_override != Override::none || !better_copy(rec.pixels, rec.size, *old)) {
        return std::nullopt;
    }
    old->verdict = Verdict::duplicated;
    old->subset = Subset::duplicated; // a reference cut by a rebalance is there already
    old->matched_seq = rec.seq;
    old->best_similarity = rec.best_similarity;
    old->matched_variant = rec.matched_variant ? std::optional(inverse(*rec.matched_variant)) : std::nullopt;
    old->replaced_by = rec.seq;
    rec.verdict = Verdict::kept;
    rec.subset = Subset::working;
    rec.matched_variant = std::nullopt;
    rec.replaced = old->seq;
    return old;
}

// The record stays, as history; it is no reference from here on. An item
// unknown or already vanished changes nothing.
Outcome DecisionCore::vanished(const VanishedItem& v, const IndexView& view)
{
    Outcome out;
    auto rec = view.item(v.item);
    if (!rec || rec->state == RouteState::vanished) {
        out.refused = "item " + std::to_string(v.item) + (rec ? " has vanished already" : " is not in the index");
        return out;
    }
    rec->state = RouteState::vanished;
    out.records.push_back(std::move(*rec));
    return out;
}

// Each eligible item's record, expired: the file is to go, the decision and
// the digest stay (a byte-identical re-import is still recognised), the
// feature is dropped (a duplicate or rejected item is no reference).
// Ineligible items (unknown, kept, in the working subset, not settled,
// expired already) are skipped: they change nothing.
Outcome DecisionCore::expired(const ExpireItems& x, const IndexView& view)
{
    Outcome out;
    std::unordered_set<std::uint64_t> seen;
    for (const std::uint64_t seq : x.items) {
        auto rec = view.item(seq);
        if (!rec || !expirable(*rec) || !seen.insert(seq).second) {
            continue;
        }
        rec->state = RouteState::expired;
        rec->feature.clear();
        rec->feature.shrink_to_fit();
        rec->expired_ms = x.at_ms;
        out.records.push_back(std::move(*rec));
    }
    return out;
}

Outcome DecisionCore::rejected(const RejectedItem& r, const IndexView& view)
{
    ItemRecord rec;
    rec.seq = view.next_item();
    rec.source = r.source;
    rec.origin = r.origin;
    rec.size = r.size;
    rec.digest = r.digest;
    rec.verdict = Verdict::rejected;
    rec.subset = Subset::rejected;
    rec.reason = r.reason;
    Outcome out;
    out.records.push_back(std::move(rec));
    return out;
}

std::optional<std::string> DecisionCore::override_refusal(const OperatorOverride& o, const IndexView& view)
{
    const auto rec = view.item(o.item);
    if (!rec) {
        return "no item " + std::to_string(o.item) + " in the index";
    }
    const std::string what = "item " + std::to_string(o.item) + " (" + rec->source + ")";
    if (rec->verdict == Verdict::rejected) {
        return what + " was rejected (" + rec->reason + "): it has no feature to keep or compare";
    }
    if (rec->state == RouteState::vanished) {
        return what + " vanished before it could be moved";
    }
    if (rec->state == RouteState::expired) {
        return what + " was deleted by retention";
    }
    if (o.action != Override::released && o.action != Override::marked_duplicate) {
        return "an override must release or mark a duplicate";
    }
    return std::nullopt;
}

Outcome DecisionCore::overridden(const OperatorOverride& o, const IndexView& view)
{
    Outcome out;
    if (auto why = override_refusal(o, view)) {
        out.refused = std::move(why);
        return out;
    }
    ItemRecord rec = view.item(o.item).value(); // override_refusal found it
    const bool release = o.action == Override::released;
    rec.verdict = release ? Verdict::kept : Verdict::duplicated;
    rec.subset = release ? Subset::working : Subset::duplicated;
    rec.operator_override = o.action;
    out.records.push_back(std::move(rec));
    return out;
}

// NDR's selection over every decided item: rejected, vanished and expired
// items take no part. Operators' overrides are not the policy's to change: a released
// item stays in the working subset (and counts towards num_cut), a marked
// duplicate stays out.
Outcome DecisionCore::rebalanced(const RebalanceRequest& r, const IndexView& view)
{
    std::vector<SampleItem> items;
    std::vector<SampleItem> pool;
    std::vector<std::uint64_t> released;
    std::unordered_set<std::uint64_t> in_working;
    view.each_item([&](const ItemRecord& rec) {
        if (rec.verdict == Verdict::rejected || rec.state == RouteState::vanished || rec.state == RouteState::expired) {
            return true;
        }
        const SampleItem item{rec.seq, rec.verdict == Verdict::kept, rec.key, rec.best_similarity.value_or(0.0)};
        items.push_back(item);
        if (rec.operator_override == Override::released) {
            released.push_back(rec.seq);
        } else if (rec.operator_override == Override::none) {
            pool.push_back(item);
        }
        if (rec.subset == Subset::working) {
            in_working.insert(rec.seq);
        }
        return true;
    });
    std::optional<std::uint64_t> pool_target = r.num_cut;
    if (pool_target) {
        *pool_target = *pool_target > released.size() ? *pool_target - released.size() : 0;
    }
    const Selection sel = select_working(pool, pool_target, r.over, r.under, r.seed);
    std::unordered_set<std::uint64_t> target(sel.working.begin(), sel.working.end());
    target.insert(released.begin(), released.end());

    Outcome out;
    out.working_before = in_working.size();
    out.short_of_target = sel.short_of_target;
    for (const auto& it : items) {
        const bool wanted = target.contains(it.seq);
        if (wanted == in_working.contains(it.seq)) {
            continue;
        }
        ItemRecord rec = view.item(it.seq).value(); // listed by each_item just above
        rec.subset = wanted ? Subset::working : Subset::duplicated;
        out.records.push_back(std::move(rec));
    }
    return out;
}

} // namespace ndrd::index
