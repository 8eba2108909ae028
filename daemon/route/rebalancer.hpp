// Brings the working subset to num_cut with NDR's sampling policies, moving
// only the difference between what is there and the target. The plan is
// journaled in the index (one synced batch) before any file moves.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "daemon/route/relocator.hpp"
#include "index/hash/sampling.hpp"
#include "index/store/hash_index.hpp"

namespace ndrd::daemon {

struct RebalancePolicy {
    std::optional<std::uint64_t> num_cut;
    index::OverSample over = index::OverSample::random;
    index::UnderSample under = index::UnderSample::uniform;
    std::uint64_t seed = 0;
};

struct RebalanceReport {
    std::uint64_t working_before = 0;
    std::uint64_t working_after = 0;
    std::optional<std::uint64_t> target;
    bool short_of_target = false;      // fewer items than num_cut in all
    std::vector<std::string> restored; // moved into the working subset (locations after the move)
    std::vector<std::string> cut;      // moved out of it
    std::uint64_t vanished = 0;        // files found missing while moving
    [[nodiscard]] std::string json() const;
    [[nodiscard]] std::string summary() const;
};

class Decisions;

class Rebalancer {
public:
    // Without `decisions`, each run appends to the single host's in-process
    // stream; with it, to the stream the owner shares.
    Rebalancer(index::HashIndex& index, Relocator& relocator, RebalancePolicy policy, Decisions* decisions = nullptr);

    void set_policy(RebalancePolicy policy) { policy_ = policy; }
    [[nodiscard]] const RebalancePolicy& policy() const { return policy_; }

    // Settles moves an earlier failure left journaled, computes the target
    // and moves files. Throws RouteError when a move fails on I/O, and
    // IndexWriteError when the index refuses the plan; what was journaled is
    // settled by the next run (or the next start-up).
    // `id` names the rebalance entry on a shared stream (a periodic trigger
    // names its interval, so the cluster appends it once); empty: its own.
    RebalanceReport run(const std::string& id = {});

private:
    index::HashIndex& index_;
    Relocator& relocator_;
    RebalancePolicy policy_;
    Decisions* decisions_;
    bool warned_short_ = false;
};

} // namespace ndrd::daemon
