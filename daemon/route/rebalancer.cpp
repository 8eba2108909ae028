// Rebalancing the working subset (see rebalancer.hpp).
#include "daemon/route/rebalancer.hpp"

#include <algorithm>
#include <cstdlib>
#include <unordered_set>

#include "daemon/telemetry/json.hpp"
#include "daemon/telemetry/logger.hpp"

namespace ndrd::daemon {

using index::ItemRecord;
using index::RouteState;
using index::Subset;
using index::Verdict;

namespace {

// Test-only failure hook: NDRD_FAILPOINT=rebalance_abort_after_moves:N kills
// the process after N files of a rebalance have moved, to prove recovery.
std::optional<std::uint64_t> abort_after_moves()
{
    const char* fp = std::getenv("NDRD_FAILPOINT");
    constexpr std::string_view name = "rebalance_abort_after_moves:";
    if (fp == nullptr || std::string_view(fp).rfind(name, 0) != 0) {
        return std::nullopt;
    }
    return std::strtoull(fp + name.size(), nullptr, 10);
}

} // namespace

std::string RebalanceReport::json() const
{
    Json o;
    o["ok"] = true;
    o["working_before"] = working_before;
    o["working_after"] = working_after;
    o["target"] = target ? Json(*target) : Json(nullptr);
    o["short_of_target"] = short_of_target;
    o["vanished"] = vanished;
    o["restored"] = restored;
    o["cut"] = cut;
    return json_text(o);
}

std::string RebalanceReport::summary() const
{
    return "working subset " + std::to_string(working_before) + " -> " + std::to_string(working_after) + " (target " +
           (target ? std::to_string(*target) : std::string("all unique")) + "): " + std::to_string(restored.size()) +
           " restored, " + std::to_string(cut.size()) + " cut" + (short_of_target ? ", fewer images than num_cut" : "");
}

Rebalancer::Rebalancer(index::HashIndex& index, Relocator& relocator, RebalancePolicy policy)
    : index_(index), relocator_(relocator), policy_(policy)
{
}

RebalanceReport Rebalancer::run()
{
    if (index_.counts().planned > 0) {
        relocator_.recover(); // a plan a full disk interrupted: settle it before planning anew
    }
    // The common case needs no scan: with every item settled where the hash
    // decision put it and no target that differs from the kept count, the
    // working subset already is the selection (at a million items the scan
    // alone took seconds after every backlog).
    const auto& c = index_.counts();
    if (c.planned == 0 && c.cut == 0 && c.restored == 0 && (!policy_.num_cut || *policy_.num_cut == c.kept)) {
        RebalanceReport report;
        report.working_before = report.working_after = c.in_working;
        report.target = policy_.num_cut;
        return report;
    }
    // Only settled items take part: a planned one is still on its way.
    // Operators' overrides are not the policy's to change: a released item
    // stays in the working subset (and counts towards num_cut), a marked
    // duplicate stays out.
    std::vector<index::SampleItem> items;
    std::vector<index::SampleItem> pool;
    std::vector<std::uint64_t> released;
    std::unordered_set<std::uint64_t> in_working;
    index_.for_each([&](const ItemRecord& r) {
        if (r.state != RouteState::done || r.verdict == Verdict::rejected) {
            return true;
        }
        const index::SampleItem item{r.seq, r.verdict == Verdict::kept, r.key, r.best_similarity.value_or(0.0)};
        items.push_back(item);
        if (r.operator_override == index::Override::released) {
            released.push_back(r.seq);
        } else if (r.operator_override == index::Override::none) {
            pool.push_back(item);
        }
        if (r.subset == Subset::working) {
            in_working.insert(r.seq);
        }
        return true;
    });
    std::optional<std::uint64_t> pool_target = policy_.num_cut;
    if (pool_target) {
        *pool_target = *pool_target > released.size() ? *pool_target - released.size() : 0;
    }
    auto sel = index::select_working(pool, pool_target, policy_.over, policy_.under, policy_.seed);
    std::unordered_set<std::uint64_t> target(sel.working.begin(), sel.working.end());
    target.insert(released.begin(), released.end());

    RebalanceReport report;
    report.working_before = in_working.size();
    report.target = policy_.num_cut;
    report.short_of_target = sel.short_of_target;
    if (sel.short_of_target && !warned_short_) {
        log_info("rebalance: only ", items.size(), " images in all, fewer than num_cut ", *policy_.num_cut,
                 "; the working subset holds everything until more arrive");
        warned_short_ = true;
    }

    // The plan: every record to move, with its new location, in one batch.
    std::vector<ItemRecord> plan;
    std::unordered_set<std::string> reserved;
    for (const auto& it : items) {
        const bool wanted = target.contains(it.seq);
        if (wanted == in_working.contains(it.seq)) {
            continue;
        }
        auto rec = index_.get(it.seq);
        if (!rec) {
            continue;
        }
        const Subset to = wanted ? Subset::working : Subset::duplicated;
        rec->previous_location = rec->location;
        rec->location = relocator_.plan(*rec, to, &reserved);
        rec->subset = to;
        rec->state = RouteState::planned;
        reserved.insert(rec->location);
        plan.push_back(std::move(*rec));
    }
    if (!plan.empty()) {
        index_.put_batch(plan, /*sync=*/true);
    }

    const auto abort_after = abort_after_moves();
    std::uint64_t moved = 0;
    for (auto& rec : plan) {
        const bool restoring = rec.subset == Subset::working;
        if (relocator_.execute(rec) == RelocateOutcome::vanished) {
            ++report.vanished;
            continue;
        }
        (restoring ? report.restored : report.cut).push_back(rec.location);
        if (abort_after && ++moved >= *abort_after) {
            log_error("failpoint: aborting after ", moved, " rebalance move(s)");
            std::abort();
        }
    }
    report.working_after = report.working_before + report.restored.size() - report.cut.size();
    if (!plan.empty() || report.vanished > 0) {
        log_info("rebalance: ", report.summary());
    } else {
        log_debug("rebalance: nothing to move (", report.working_after, " in the working subset)");
    }
    return report;
}

} // namespace ndrd::daemon
