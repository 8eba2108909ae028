// The decision stream, wired to this host's decider (see decisions.hpp).
#include "daemon/route/decisions.hpp"

#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <utility>

namespace ndrd::daemon {

namespace {

// The id a server header carries: this host's name and a digest of what
// names the entry, so no byte of a file name (a newline) reaches the header.
std::string header_id(const std::string& instance, std::string_view what)
{
    const XXH128_hash_t h = XXH3_128bits(what.data(), what.size());
    char buf[33];
    std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                  static_cast<unsigned long long>(h.low64));
    return instance + "/" + buf;
}

} // namespace

Decisions::Decisions(index::HashIndex& index, const Relocator& relocator, const index::Rules& fallback,
                     std::unique_ptr<EntryStream> stream, std::string instance)
    : index_(index), decider_(index, relocator, index.rules().value_or(fallback), std::move(instance)),
      stream_(stream ? std::move(stream) : std::make_unique<InProcessStream>(index))
{
    if (!stream_->shared()) {
        requested_ = index.rules(); // one host: its configuration is the only source of rules
    }
    stream_->subscribe([this](const index::Entry& e) { applied(e); },
                       [this](std::uint64_t seq, std::string_view id) { passed(seq, id); });
}

void Decisions::applied(const index::Entry& entry)
{
    decider_.apply(entry);
    if (last_) {
        note_pending(*last_); // an entry before the one submitted: its moves are the caller's to settle
    }
    last_ = decider_.take_applied();
    if (const auto* h = std::get_if<index::HashedItem>(&entry.body)) {
        origins_.insert(h->origin);
    } else if (const auto* r = std::get_if<index::RejectedItem>(&entry.body)) {
        origins_.insert(r->origin);
    }
}

void Decisions::note_pending(const Applied& a)
{
    for (const auto& r : a.records) {
        if (r.state == index::RouteState::planned && r.origin == decider_.instance()) {
            pending_.insert(r.seq);
        }
    }
}

void Decisions::passed(std::uint64_t seq, std::string_view stream_id)
{
    // A position with nothing for the core (a shared stream's header): only
    // the position, and the stream's identity, are recorded.
    index_.put_batch({}, /*sync=*/true, index::StreamPosition{seq, nullptr, stream_id});
}

// On a shared stream the server keeps one entry per id. An item's id names
// the file's incarnation (device, inode, mtime) and bytes, so the publish a
// crash interrupted is dropped when repeated, and a new file under the same
// name is not. A control entry's id names the position it was asked at.
std::string Decisions::entry_id(const index::EntryBody& body, const std::optional<HostFacts>& facts) const
{
    std::string id;
    const auto file = [&](const std::string& source, const std::string& digest) {
        id += "file\n" + source + "\n";
        if (facts) {
            id += std::to_string(facts->device) + ":" + std::to_string(facts->inode) + ":" +
                  std::to_string(facts->mtime_ns);
        }
        id += "\n" + digest;
    };
    if (const auto* h = std::get_if<index::HashedItem>(&body)) {
        file(h->source, h->digest);
    } else if (const auto* r = std::get_if<index::RejectedItem>(&body)) {
        file(r->source, r->digest);
    } else if (const auto* v = std::get_if<index::VanishedItem>(&body)) {
        id += "vanished/" + std::to_string(v->item); // said once, however often this host finds it gone
    } else {
        id += std::string(index::kind_name(body)) + "@" + std::to_string(index_.applied_entry());
        if (const auto* o = std::get_if<index::OperatorOverride>(&body)) {
            id += "/" + std::to_string(o->item) + "/" + std::string(index::to_string(o->action));
        }
    }
    return header_id(decider_.instance(), id);
}

Applied Decisions::submit(index::EntryBody body, std::optional<HostFacts> facts, std::string id)
{
    if (auto* h = std::get_if<index::HashedItem>(&body)) {
        h->origin = decider_.instance();
        if (facts) decider_.expect(h->source, *facts);
    } else if (auto* r = std::get_if<index::RejectedItem>(&body)) {
        r->origin = decider_.instance();
        if (facts) decider_.expect(r->source, *facts);
    }
    if (id.empty() && stream_->shared()) {
        id = entry_id(body, facts);
    }
    last_.reset();
    std::uint64_t seq = 0;
    try {
        seq = stream_->append(std::move(body), id);
    } catch (...) { // noted, and thrown on: what was applied before the failure stays applied
        if (last_) note_pending(*last_);
        last_.reset();
        throw;
    }
    if (last_ && last_->entry == seq) {
        return *std::exchange(last_, std::nullopt);
    }
    // Applied before this call (a repeated append): what it planned for this
    // host was left to the caller's recovery.
    if (last_) {
        note_pending(*last_);
    }
    last_.reset();
    Applied none;
    none.entry = seq;
    return none;
}

std::size_t Decisions::catch_up()
{
    last_.reset();
    std::size_t n = 0;
    try {
        n = stream_->catch_up();
    } catch (...) { // as in submit()
        if (last_) note_pending(*last_);
        last_.reset();
        throw;
    }
    if (last_) {
        note_pending(*last_);
    }
    last_.reset();
    return n;
}

bool Decisions::set_rules(const index::Rules& rules)
{
    // The index records the rules of the last rules entry, any host's.
    const bool recorded = index_.rules().has_value();
    if (recorded && requested_ == rules) {
        return false;
    }
    if (recorded && !requested_) {
        // A shared stream's first look: the cluster's rules stand until this
        // host's configuration changes.
        requested_ = rules;
        return false;
    }
    (void)submit(index::RulesChange{rules});
    requested_ = rules;
    return true;
}

} // namespace ndrd::daemon
