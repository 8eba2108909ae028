// The single-host decision stream, wired (see decisions.hpp).
#include "daemon/route/decisions.hpp"

namespace ndrd::daemon {

Decisions::Decisions(index::HashIndex& index, const Relocator& relocator, const index::Rules& fallback)
    : decider_(index, relocator, index.rules().value_or(fallback)), stream_(std::make_unique<InProcessStream>(index)),
      rules_recorded_(index.rules().has_value())
{
    stream_->subscribe([this](const index::Entry& e) { decider_.apply(e); });
}

Applied Decisions::submit(index::EntryBody body, std::optional<HostFacts> facts)
{
    if (facts) {
        if (const auto* h = std::get_if<index::HashedItem>(&body)) {
            decider_.expect(h->source, *facts);
        } else if (const auto* r = std::get_if<index::RejectedItem>(&body)) {
            decider_.expect(r->source, *facts);
        }
    }
    stream_->append(std::move(body));
    return decider_.take_applied();
}

bool Decisions::set_rules(const index::Rules& rules)
{
    if (rules_recorded_ && rules == decider_.rules()) {
        return false;
    }
    (void)submit(index::RulesChange{rules});
    rules_recorded_ = true; // the stream now says which rules its items were judged by
    return true;
}

} // namespace ndrd::daemon
