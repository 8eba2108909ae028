// Rebalancing the working subset (see rebalancer.hpp).
#include "daemon/route/rebalancer.hpp"

#include <algorithm>
#include <cstdlib>

#include "daemon/route/decisions.hpp"
#include "daemon/telemetry/json.hpp"
#include "daemon/telemetry/logger.hpp"

namespace ndrd::daemon {

using index::ItemRecord;
using index::RouteState;
using index::Subset;

namespace {

// Test-only failure hook: NDRD_FAILPOINT=rebalance_abort_after_moves:N kills
// the process after N files of a rebalance have moved, to prove recovery.
std::optional<std::uint64_t> abort_after_moves()
{
    const char* fp = std::getenv("NDRD_FAILPOINT");
    constexpr std::string_view name = "rebalance_abort_after_moves:";
    if (fp == nullptr || !std::string_view(fp).starts_with(name)) {
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

Rebalancer::Rebalancer(index::HashIndex& index, Relocator& relocator, RebalancePolicy policy, Decisions* decisions)
    : index_(index), relocator_(relocator), policy_(policy), decisions_(decisions)
{
}

RebalanceReport Rebalancer::run(const std::string& id)
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
    // The rebalance is an entry of the decision stream: the core selects the
    // working subset from the index at this position, the decider journals
    // every move in one synced batch before any file moves.
    std::optional<Decisions> own;
    Decisions& decisions = decisions_ != nullptr ? *decisions_ : own.emplace(index_, relocator_);
    Applied applied = decisions.submit(
        index::RebalanceRequest{policy_.num_cut, policy_.over, policy_.under, policy_.seed}, std::nullopt, id);
    RebalanceReport report;
    report.working_before = applied.outcome.working_before;
    report.target = policy_.num_cut;
    report.short_of_target = applied.outcome.short_of_target;
    if (report.short_of_target && !warned_short_) {
        log_info("rebalance: fewer images in all than num_cut ", policy_.num_cut.value(),
                 "; the working subset holds everything until more arrive");
        warned_short_ = true;
    }
    std::vector<ItemRecord> plan;
    for (auto& rec : applied.records) {
        if (rec.state == RouteState::planned) {
            plan.push_back(std::move(rec));
        }
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
    // On a shared stream the other hosts move their own files: the index
    // tells the whole working subset.
    report.working_after = decisions.shared() ? index_.counts().in_working
                                              : report.working_before + report.restored.size() - report.cut.size();
    if (!plan.empty() || report.vanished > 0) {
        log_info("rebalance: ", report.summary());
    } else {
        log_debug("rebalance: nothing to move (", report.working_after, " in the working subset)");
    }
    return report;
}

} // namespace ndrd::daemon
