// The pure decision core: apply(entry, view of the index) -> outcome. No file
// system, clock or RocksDB inside: the same entries applied in the same order
// to the same index state give the same outcome on every host.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "index/hash/decision.hpp"
#include "index/hash/entry.hpp"
#include "index/hash/feature.hpp"
#include "index/hash/key.hpp"
#include "index/hash/projection.hpp"
#include "index/hash/record.hpp"

namespace ndrd::index {

// A kept item's reference data, owned (the span in KeptCandidate points here).
struct KeptItem {
    std::uint64_t seq = 0;
    std::vector<float> feature;
    bool degenerate = false;
    [[nodiscard]] KeptCandidate candidate() const { return {seq, feature, degenerate}; }
};

// What the core asks of the index: a narrow, read-only interface the store
// implements (index/store/hash_index.hpp).
class IndexView {
public:
    IndexView() = default;
    IndexView(const IndexView&) = default;
    IndexView& operator=(const IndexView&) = default;
    IndexView(IndexView&&) = default;
    IndexView& operator=(IndexView&&) = default;
    virtual ~IndexView() = default;

    // The kept references whose key is within `radius` bits of `key`, in
    // key-then-item order.
    [[nodiscard]] virtual std::vector<KeptItem> kept_near(const Key& key, int radius) const = 0;
    // The earliest item whose file had exactly these bytes.
    [[nodiscard]] virtual std::optional<ItemRecord> first_with_digest(std::string_view digest) const = 0;
    [[nodiscard]] virtual std::optional<ItemRecord> item(std::uint64_t seq) const = 0;
    // Every item in item order; stop early by returning false.
    virtual void each_item(const std::function<bool(const ItemRecord&)>& fn) const = 0;
    // The number the next new item gets.
    [[nodiscard]] virtual std::uint64_t next_item() const = 0;
};

// Datumaro's rule widened by `rule`: the candidates are the references whose
// key is within rule.probe_radius of the key (of each variant's key, for the
// variants), in key-then-item order; the highest similarity wins, the image
// as it is on ties.
Decision judge(std::span<const float> feature, bool degenerate, const Key& key, const MatchRule& rule,
               const IndexView& view, const Projection& projection, Grid grid);

// Whether retention may delete the item's file: a settled duplicate in the
// duplicated area, or a rejected file. Never a kept item (a reference cut to
// the duplicated area is still one), never the working subset.
[[nodiscard]] bool expirable(const ItemRecord& rec);

// keep: best's order of copies: more pixels, then (as many pixels, or either
// count unknown) a larger file; the earlier arrival wins every tie, so a
// newcomer is better only when it is strictly so.
[[nodiscard]] bool better_copy(std::uint64_t pixels, std::uint64_t size, const ItemRecord& than);

// What applying one entry decided. The records carry no host facts (their
// location, route state, device, inode and times are the host's to fill in
// before it writes them): a new item's record, an overridden item's, or
// every item a rebalance moves to another subset. With keep: best, a new
// item that replaces its group's kept reference comes first, followed by
// that reference's record, now its duplicate. An expire entry's records are
// the items it expires, with their state (expired) set: there is no move.
struct Outcome {
    std::vector<ItemRecord> records;
    // An override that cannot apply (unknown, rejected or vanished item): why.
    // Nothing changes; every replica refuses it alike.
    std::optional<std::string> refused;
    // A rebalance: the working subset's size before, and whether all items
    // together are fewer than num_cut.
    std::uint64_t working_before = 0;
    bool short_of_target = false;
};

class DecisionCore {
public:
    // `projection` must outlive the core (the index owns it).
    DecisionCore(Rules rules, const Projection& projection, Grid grid);

    // Applies one entry. Rules entries change the rules for the entries
    // after them and produce no records.
    [[nodiscard]] Outcome apply(const Entry& entry, const IndexView& view);

    [[nodiscard]] const Rules& rules() const { return rules_; }

    // Why an override of `o.item` cannot apply to the index as it is, or
    // nullopt when it can.
    [[nodiscard]] static std::optional<std::string> override_refusal(const OperatorOverride& o, const IndexView& view);

private:
    [[nodiscard]] Outcome hashed(const HashedItem& h, const IndexView& view) const;
    [[nodiscard]] static std::optional<ItemRecord> swap_if_better(ItemRecord& rec, const IndexView& view);
    [[nodiscard]] static Outcome rejected(const RejectedItem& r, const IndexView& view);
    [[nodiscard]] static Outcome overridden(const OperatorOverride& o, const IndexView& view);
    [[nodiscard]] static Outcome rebalanced(const RebalanceRequest& r, const IndexView& view);
    [[nodiscard]] static Outcome vanished(const VanishedItem& v, const IndexView& view);
    [[nodiscard]] static Outcome expired(const ExpireItems& x, const IndexView& view);

    Rules rules_;
    const Projection* projection_;
    Grid grid_;
};

} // namespace ndrd::index
