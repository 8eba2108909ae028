// Configuration to MatchRule (see match_rule.hpp).
#include "daemon/route/match_rule.hpp"

#include <stdexcept>
#include <string>

#include "index/hash/invariance.hpp"

namespace ndrd::daemon {

index::MatchRule match_rule(const config::Config& cfg)
{
    index::MatchRule rule;
    rule.sim_threshold = cfg.gradient.sim_threshold;
    rule.probe_radius = cfg.gradient.probe_radius;
    for (const auto& name : cfg.gradient.invariance) {
        const auto v = index::parse_variant(name);
        if (!v) {
            // The loader accepts only the names parse_variant knows.
            throw std::logic_error("gradient.invariance holds an unknown name: " + name);
        }
        rule.variants.push_back(*v);
    }
    return rule;
}

index::Rules stream_rules(const config::Config& cfg)
{
    const bool exact = cfg.exact_copy_rule();
    return {match_rule(cfg), exact, exact ? index::Compat::off : index::Compat::datumaro, keep_rule(cfg)};
}

index::Keep keep_rule(const config::Config& cfg)
{
    return cfg.keep == config::Keep::best ? index::Keep::best : index::Keep::first;
}

} // namespace ndrd::daemon
