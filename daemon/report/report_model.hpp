// What `ndrd report` shows, gathered from the index's records in one pass:
// counts, the similarity histogram, the duplicate groups (borderline first),
// and the removed and rejected items. Pure: no file system, no clock.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "index/hash/record.hpp"
#include "index/store/hash_index.hpp"

namespace ndrd::daemon {

// One item as the report shows it: the record without its feature.
struct ReportItem {
    std::uint64_t seq = 0;
    std::string source;
    std::string location;
    std::string previous_location;
    index::Verdict verdict = index::Verdict::kept;
    index::Subset subset = index::Subset::working;
    index::RouteState state = index::RouteState::done;
    index::Override override_ = index::Override::none;
    std::string key; // bytes, empty for rejected items
    std::optional<double> similarity;
    std::uint64_t matched_seq = 0;
    std::optional<index::Variant> variant;
    bool exact_copy = false;
    std::string reason;
    std::string digest; // XXH3-128 of the bytes; empty in records older than digests
    std::string origin;
    std::uint64_t size = 0;
    std::int64_t ingested_ms = 0;
    std::uint64_t pixels = 0;      // 0: not known
    std::uint64_t replaced = 0;    // keep: best: the kept image this one replaced
    std::uint64_t replaced_by = 0; // and the better copy that replaced this one

    static ReportItem of(const index::ItemRecord& r);
};

// How a duplicate matched its reference; the page's filters use these.
enum class MatchKind { near, variant, exact };
MatchKind match_kind(const ReportItem& duplicate);
std::string_view to_string(MatchKind k);

// Bits that differ between two keys of the same length (the key distance).
int key_distance(const std::string& a, const std::string& b);

// A kept reference and the items the hash decision matched to it.
struct DuplicateGroup {
    ReportItem reference; // seq alone (and "missing") when the index no longer has it
    bool reference_missing = false;
    std::vector<ReportItem> duplicates; // lowest similarity first
    [[nodiscard]] double lowest_similarity() const;
};

// A histogram of best similarities over [lo, hi): per bin, how many kept
// items (a candidate shared their key, but none reached the threshold) and
// how many duplicates (exact copies left out: their similarity is not measured).
struct SimilarityHistogram {
    double lo = 0.0;
    double hi = 1.0;
    std::vector<std::uint64_t> kept;
    std::vector<std::uint64_t> duplicated;
    SimilarityHistogram(double lo, double hi, std::size_t bins);
    void add(double similarity, bool duplicate);
};

struct ReportOptions {
    double sim_threshold = 0.5;
    std::optional<std::int64_t> since_ms; // only items ingested at or after
    std::optional<std::size_t> limit;     // at most this many groups, removed and rejected items
};

struct ReportModel {
    ReportOptions options;
    index::IndexCounts counts;                       // of the items in the window
    std::map<std::string, std::uint64_t> rejections; // reason, numbers as '#', to how many
    std::uint64_t items = 0;                         // in the window
    std::uint64_t exact_copies = 0, near_duplicates = 0, variant_matches = 0;
    std::uint64_t kept_without_candidate = 0; // no kept item shared the key: no similarity
    SimilarityHistogram overall{0.0, 1.0, 50};
    SimilarityHistogram near_threshold{0.0, 1.0, 40}; // threshold +- 0.2, clipped to [0, 1]
    std::vector<DuplicateGroup> groups;               // borderline first
    std::uint64_t groups_total = 0;                   // before --limit
    std::vector<ReportItem> removed;                  // cut by rebalancing or marked by the operator; newest first
    std::uint64_t removed_total = 0;
    std::vector<ReportItem> rejected; // newest first
    std::uint64_t rejected_total = 0;
};

// Feed every record in ingest order, then take the model. A group is the
// current kept image of a chain of keep: best replacements, with every
// duplicate matched to any image of that chain. A group's
// reference may be older than the window, so finish() asks `lookup` for the
// references of the groups it keeps (point reads: a report of the last day
// of a large index holds only that day's items in memory).
class ReportBuilder {
public:
    using Lookup = std::function<std::optional<index::ItemRecord>(std::uint64_t seq)>;

    explicit ReportBuilder(ReportOptions options);
    void add(const index::ItemRecord& r);
    ReportModel finish(const Lookup& lookup) &&;

private:
    [[nodiscard]] bool in_window(const index::ItemRecord& r) const;

    [[nodiscard]] std::uint64_t current_reference(std::uint64_t seq) const;

    ReportModel m_;
    std::unordered_map<std::uint64_t, std::vector<ReportItem>> duplicates_; // by reference seq
    // keep: best's swaps, from every record seen (inside the window or not):
    // a duplicate matched to a reference that a better copy replaced since
    // belongs to that copy's group.
    std::unordered_map<std::uint64_t, std::uint64_t> replaced_by_;
};

} // namespace ndrd::daemon
