// Applying stream entries on this host (see decider.hpp).
#include "daemon/route/decider.hpp"

#include <stdexcept>

namespace ndrd::daemon {

using index::ItemRecord;
using index::RouteState;

Decider::Decider(index::HashIndex& index, const Relocator& relocator, index::Rules rules, std::string instance)
    : index_(index), relocator_(relocator), core_(std::move(rules), index.projection(), index.params().grid),
      instance_(std::move(instance))
{
}

void Decider::add_host_facts(ItemRecord& rec)
{
    std::optional<HostFacts> facts;
    if (rec.origin == instance_) {
        if (const auto it = expected_.find(rec.source); it != expected_.end()) {
            facts = it->second;
            expected_.erase(it);
        } else if (lookup_) {
            facts = lookup_(rec);
        }
    }
    if (!facts) {
        rec.state = RouteState::done; // not this host's file (or gone): nothing to move here
        return;
    }
    rec.device = facts->device;
    rec.inode = facts->inode;
    rec.ingested_ms = index::unix_ms_now();
    // Locations already promised to earlier members of a group are not on
    // disk yet; the move re-plans if a name turns out taken.
    rec.location = relocator_.plan(rec, rec.subset);
    rec.state = RouteState::planned;
}

// A record the core moved to another subset (override, rebalance): a new
// location in that subset's area, journaled as a planned move from the old.
void Decider::plan_move(ItemRecord& rec, std::unordered_set<std::string>& reserved) const
{
    const auto before = index_.get(rec.seq);
    // Another host's file (its record may carry that host's location, in an
    // index started from its snapshot) moves there, not here.
    if (!before || before->subset == rec.subset || before->location.empty() || before->origin != instance_) {
        return; // no move: the decision alone changes (or the file is another host's)
    }
    // A file whose first move is still planned is where that move starts
    // (the ingest directory, or its earlier place).
    rec.previous_location = before->state == RouteState::planned ? before->previous_location : before->location;
    rec.location = relocator_.plan(rec, rec.subset, &reserved);
    rec.state = RouteState::planned;
    reserved.insert(rec.location);
}

void Decider::apply(const index::Entry& entry)
{
    index::Outcome outcome = core_.apply(entry, index_);
    const bool item = index::makes_item(entry.body);
    std::unordered_set<std::string> reserved;
    for (ItemRecord& rec : outcome.records) {
        // An item entry's first record is the new item; any other record an
        // entry writes is an existing item moved (a reference replaced by a
        // better copy, an override, a rebalance).
        if (item && &rec == &outcome.records.front()) {
            add_host_facts(rec);
        } else {
            plan_move(rec, reserved);
        }
        if (rec.origin != instance_ && rec.state == RouteState::planned) {
            // Where a record stands on disk is its own host's business (an
            // index from another member's snapshot may hold it planned).
            rec.state = RouteState::done;
        }
    }
    const index::StreamPosition at{entry.seq, item ? nullptr : &entry.body, {}};
    // Durable before any file moves: item entries are synced by the
    // pipeline's group commit, the others here.
    index_.put_batch(outcome.records, /*sync=*/!item, at);
    Applied applied;
    applied.entry = entry.seq;
    applied.records = std::move(outcome.records);
    outcome.records.clear();
    applied.outcome = std::move(outcome);
    applied_ = std::move(applied);
}

Applied Decider::take_applied()
{
    if (!applied_) {
        throw std::logic_error("no entry was applied");
    }
    Applied a = std::move(*applied_);
    applied_.reset();
    return a;
}

} // namespace ndrd::daemon
