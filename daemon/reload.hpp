// What a configuration reload (SIGHUP) may change while the daemon runs:
// decision and rebalancing settings, workers, limits, logging and metrics
// apply at once; anything that would change keys, paths or the watch needs
// a restart, and a reload that touches any of it is refused whole.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace ndrd::daemon {

struct ReloadPlan {
    std::vector<std::string> changed; // live settings whose value differs, by config key
    std::vector<std::string> refused; // settings that differ but need a restart
    [[nodiscard]] bool accepted() const { return refused.empty(); }
};

ReloadPlan plan_reload(const config::Config& running, const config::Config& fresh);

// `running` with every live setting taken from `fresh`.
config::Config apply_live(const config::Config& running, const config::Config& fresh);

// The keys plan_reload() refuses to change live, and those it applies
// ("cluster" stands for every cluster.* key); the documents list the same.
const std::vector<std::string>& restart_keys();
const std::vector<std::string>& live_keys();

// "a, b and c", for log lines.
std::string join_keys(const std::vector<std::string>& keys);

} // namespace ndrd::daemon
