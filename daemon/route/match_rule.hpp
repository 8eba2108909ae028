// The configuration's matching keys (sim_threshold, probe_radius,
// invariance, compat, keep) as the index's MatchRule and Rules: one translation, used by the
// pipeline, the control socket's query and the offline query alike.
#pragma once

#include "config/config.hpp"
#include "index/hash/decision.hpp"
#include "index/hash/entry.hpp"

namespace ndrd::daemon {

[[nodiscard]] index::MatchRule match_rule(const config::Config& cfg);
// The rules a decision stream records for the configuration: the match
// rule, and the exact-copy rule that compat: off implies.
[[nodiscard]] index::Rules stream_rules(const config::Config& cfg);
[[nodiscard]] index::Keep keep_rule(const config::Config& cfg);

} // namespace ndrd::daemon
