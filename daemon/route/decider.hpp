// Applies the decision stream's entries to this host's index: the pure core
// (index/hash/decision_core.hpp) decides, the decider adds the host's facts
// (device and inode, the free name, the time) and writes the records with
// their entry in one batch. Moves are left planned for the caller to carry out.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "daemon/route/relocator.hpp"
#include "index/hash/decision_core.hpp"
#include "index/store/hash_index.hpp"

namespace ndrd::daemon {

// What this host knows of a file it appends an item entry for.
struct HostFacts {
    std::uint64_t device = 0;
    std::uint64_t inode = 0;
    std::int64_t mtime_ns = 0; // with device and inode, names this incarnation of the file
};

// Finds this host's file for an item entry of its own that it did not wait
// for (appended before a crash, applied after): nullopt when it is gone.
using FactsLookup = std::function<std::optional<HostFacts>(const index::ItemRecord&)>;

// What applying one entry wrote.
struct Applied {
    std::uint64_t entry = 0;
    index::Outcome outcome; // refused overrides, a rebalance's figures
    // The records as written, host facts included: a move to make has state
    // planned (its previous location set for a move within the output tree).
    std::vector<index::ItemRecord> records;
};

class Decider {
public:
    // `instance` names this host on a shared stream (empty on a single
    // host): only item entries of that origin are its files.
    Decider(index::HashIndex& index, const Relocator& relocator, index::Rules rules, std::string instance = {});

    void set_facts_lookup(FactsLookup lookup) { lookup_ = std::move(lookup); }

    // The facts of a file this host is about to append an item entry for.
    // An item entry without them (another host's, or a replay) is written
    // with no location and nothing to move.
    void expect(const std::string& source, HostFacts facts) { expected_[source] = facts; }
    [[nodiscard]] const std::string& instance() const { return instance_; }

    // Applies one entry: the stream's subscriber. Item entries are written
    // unsynced (the pipeline syncs a group's journal before any of its files
    // moves); every other entry is synced before apply() returns. Throws
    // IndexWriteError when the index refuses the write: nothing was applied.
    void apply(const index::Entry& entry);

    // What the last apply() wrote (once).
    [[nodiscard]] Applied take_applied();

    [[nodiscard]] const index::Rules& rules() const { return core_.rules(); }

private:
    void add_host_facts(index::ItemRecord& rec);
    void plan_move(index::ItemRecord& rec, std::unordered_set<std::string>& reserved) const;

    index::HashIndex& index_;
    const Relocator& relocator_;
    index::DecisionCore core_;
    std::string instance_;
    FactsLookup lookup_;
    std::unordered_map<std::string, HostFacts> expected_;
    std::optional<Applied> applied_;
};

} // namespace ndrd::daemon
