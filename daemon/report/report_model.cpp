// The report's facts from the index's records (see report_model.hpp).
#include "daemon/report/report_model.hpp"

#include <algorithm>
#include <bit>
#include <cctype>
#include <iterator>
#include <stdexcept>

namespace ndrd::daemon {

namespace {

// Most recent first, at most `limit`.
void newest_first(std::vector<ReportItem>& items, const std::optional<std::size_t>& limit)
{
    std::ranges::sort(items, [](const ReportItem& a, const ReportItem& b) { return a.seq > b.seq; });
    if (limit && items.size() > *limit) {
        items.resize(*limit);
    }
}

// "file is 123 bytes, over max_file_size 100" and the same with other
// numbers are one reason.
std::string reason_class(std::string_view reason)
{
    std::string out;
    for (std::size_t i = 0; i < reason.size(); ++i) {
        if (std::isdigit(static_cast<unsigned char>(reason[i])) != 0) {
            out += '#';
            while (i + 1 < reason.size() && std::isdigit(static_cast<unsigned char>(reason[i + 1])) != 0) {
                ++i;
            }
        } else {
            out += reason[i];
        }
    }
    return out.empty() ? std::string("(no reason recorded)") : out;
}

} // namespace

ReportItem ReportItem::of(const index::ItemRecord& r)
{
    ReportItem i;
    i.seq = r.seq;
    i.source = r.source;
    i.location = r.location;
    i.previous_location = r.previous_location;
    i.verdict = r.verdict;
    i.subset = r.subset;
    i.state = r.state;
    i.override_ = r.operator_override;
    if (r.verdict != index::Verdict::rejected) i.key = r.key.bytes;
    i.similarity = r.best_similarity;
    i.matched_seq = r.matched_seq;
    i.variant = r.matched_variant;
    i.exact_copy = r.exact_copy;
    i.reason = r.reason;
    i.digest = r.digest;
    i.origin = r.origin;
    i.size = r.size;
    i.ingested_ms = r.ingested_ms;
    i.pixels = r.pixels;
    i.replaced = r.replaced;
    i.replaced_by = r.replaced_by;
    return i;
}

MatchKind match_kind(const ReportItem& duplicate)
{
    if (duplicate.exact_copy) return MatchKind::exact;
    return duplicate.variant ? MatchKind::variant : MatchKind::near;
}

std::string_view to_string(MatchKind k)
{
    switch (k) {
    case MatchKind::near: return "near";
    case MatchKind::variant: return "variant";
    case MatchKind::exact: return "exact";
    }
    return "near";
}

int key_distance(const std::string& a, const std::string& b)
{
    if (a.size() != b.size()) {
        throw std::invalid_argument("keys of different lengths cannot be compared");
    }
    int bits = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        bits += std::popcount(static_cast<unsigned>(static_cast<unsigned char>(a[i] ^ b[i])));
    }
    return bits;
}

double DuplicateGroup::lowest_similarity() const
{
    double low = 1.0;
    for (const auto& d : duplicates) {
        low = std::min(low, d.similarity.value_or(1.0));
    }
    return low;
}

SimilarityHistogram::SimilarityHistogram(double lo_, double hi_, std::size_t bins)
    : lo(lo_), hi(hi_), kept(bins), duplicated(bins)
{
}

void SimilarityHistogram::add(double similarity, bool duplicate)
{
    if (similarity < lo || similarity > hi || kept.empty()) {
        return;
    }
    const double width = (hi - lo) / static_cast<double>(kept.size());
    // The top edge belongs to the last bin: a similarity of exactly 1.0 counts.
    const auto bin = std::min(kept.size() - 1, static_cast<std::size_t>((similarity - lo) / width));
    ++(duplicate ? duplicated : kept)[bin];
}

ReportBuilder::ReportBuilder(ReportOptions options)
{
    m_.options = options;
    const double t = options.sim_threshold;
    m_.near_threshold = SimilarityHistogram(std::max(0.0, t - 0.2), std::min(1.0, t + 0.2), 40);
}

bool ReportBuilder::in_window(const index::ItemRecord& r) const
{
    return !m_.options.since_ms || r.ingested_ms >= *m_.options.since_ms;
}

void ReportBuilder::add(const index::ItemRecord& r)
{
    if (r.replaced_by != 0) {
        replaced_by_[r.seq] = r.replaced_by;
    }
    if (!in_window(r)) {
        return;
    }
    ++m_.items;
    count_record(m_.counts, r);
    const ReportItem item = ReportItem::of(r);
    const bool by_hash = r.operator_override == index::Override::none;
    if (r.verdict == index::Verdict::rejected) {
        ++m_.rejections[reason_class(r.reason)];
        m_.rejected.push_back(item);
        return;
    }
    if (r.verdict == index::Verdict::duplicated && by_hash && r.matched_seq != 0) {
        switch (match_kind(item)) {
        case MatchKind::exact: ++m_.exact_copies; break;
        case MatchKind::variant: ++m_.variant_matches; break;
        case MatchKind::near: ++m_.near_duplicates; break;
        }
        duplicates_[r.matched_seq].push_back(item);
    }
    // A better copy's similarity is that of the image it replaced, which
    // the histogram counts as that duplicate's.
    if (r.best_similarity && !r.exact_copy && by_hash && r.replaced == 0) {
        const bool duplicate = r.verdict == index::Verdict::duplicated;
        m_.overall.add(*r.best_similarity, duplicate);
        m_.near_threshold.add(*r.best_similarity, duplicate);
    } else if (!r.best_similarity && r.verdict == index::Verdict::kept) {
        ++m_.kept_without_candidate;
    }
    const bool cut = r.verdict == index::Verdict::kept && r.subset == index::Subset::duplicated;
    if (cut || r.operator_override == index::Override::marked_duplicate) {
        m_.removed.push_back(item);
    }
}

std::uint64_t ReportBuilder::current_reference(std::uint64_t seq) const
{
    // Each replacement is by a later item, so the chain ends; the bound only
    // guards against a corrupt index.
    for (std::size_t hops = 0; hops < replaced_by_.size(); ++hops) {
        const auto it = replaced_by_.find(seq);
        if (it == replaced_by_.end() || it->second <= seq) {
            break;
        }
        seq = it->second;
    }
    return seq;
}

ReportModel ReportBuilder::finish(const Lookup& lookup) &&
{
    if (!replaced_by_.empty()) {
        std::unordered_map<std::uint64_t, std::vector<ReportItem>> merged;
        for (auto& [seq, dups] : duplicates_) {
            auto& into = merged[current_reference(seq)];
            into.insert(into.end(), std::make_move_iterator(dups.begin()), std::make_move_iterator(dups.end()));
        }
        duplicates_ = std::move(merged);
    }
    std::vector<DuplicateGroup> groups;
    groups.reserve(duplicates_.size());
    for (auto& [seq, dups] : duplicates_) {
        DuplicateGroup g;
        std::ranges::stable_sort(dups, [](const ReportItem& a, const ReportItem& b) {
            return a.similarity.value_or(1.0) < b.similarity.value_or(1.0);
        });
        g.duplicates = std::move(dups);
        g.reference.seq = seq;
        groups.push_back(std::move(g));
    }
    // Borderline first: the group whose weakest match is nearest the
    // threshold; ties by the reference's ingest order, so the same index
    // always gives the same pages.
    std::ranges::sort(groups, [](const DuplicateGroup& a, const DuplicateGroup& b) {
        const double la = a.lowest_similarity();
        const double lb = b.lowest_similarity();
        return la != lb ? la < lb : a.reference.seq < b.reference.seq;
    });
    m_.groups_total = groups.size();
    if (m_.options.limit && groups.size() > *m_.options.limit) {
        groups.resize(*m_.options.limit);
    }
    for (auto& g : groups) {
        if (auto rec = lookup(g.reference.seq)) {
            g.reference = ReportItem::of(*rec);
        } else {
            g.reference_missing = true;
        }
    }
    m_.groups = std::move(groups);
    m_.removed_total = m_.removed.size();
    m_.rejected_total = m_.rejected.size();
    newest_first(m_.removed, m_.options.limit);
    newest_first(m_.rejected, m_.options.limit);
    return std::move(m_);
}

} // namespace ndrd::daemon
