// This host's way into the decision stream: append an entry, and get back
// what applying it wrote. Single host: an in-process stream. Several hosts:
// a shared stream (daemon/cluster) that every host applies in its order;
// this host's own files are the only ones it moves.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "daemon/route/decider.hpp"
#include "daemon/route/entry_stream.hpp"

namespace ndrd::daemon {

class Decisions {
public:
    // The stream starts after the index's last applied entry; the rules are
    // the index's last recorded ones, or `fallback` for an index with none.
    // Without `stream`, the single host's in-process stream. `instance`
    // names this host on a shared stream (its items' origin).
    Decisions(index::HashIndex& index, const Relocator& relocator, const index::Rules& fallback = {},
              std::unique_ptr<EntryStream> stream = nullptr, std::string instance = {});
    Decisions(const Decisions&) = delete;
    Decisions& operator=(const Decisions&) = delete;
    Decisions(Decisions&&) = delete;
    Decisions& operator=(Decisions&&) = delete;
    ~Decisions() = default;

    // Appends `body` and returns what applying it wrote. An item entry of
    // this host's file carries its facts. `id` names the entry on a shared
    // stream (empty: one is made from the entry and facts, stable across a
    // crash for an item). When the entry had been applied before (a repeat
    // after a crash), nothing is returned for it: its records are empty.
    // Throws IndexWriteError when the index refuses the write, and
    // StreamUnavailable when a shared stream cannot be reached; the entry
    // is then not applied.
    Applied submit(index::EntryBody body, std::optional<HostFacts> facts = std::nullopt, std::string id = {});

    // Appends a rules entry when `rules` differ from what this host last
    // asked for, or when the index has recorded none yet. On a shared
    // stream the rules are the cluster's: a host asks only when its own
    // configuration changes, never to undo another's. Returns whether it did.
    bool set_rules(const index::Rules& rules);

    // On a shared stream: the rules this host's configuration asked for at
    // start-up, so that a reload compares with them (the cluster's rules in
    // force may be another host's).
    void set_configured_rules(const index::Rules& rules) { requested_ = rules; }

    // Applies the entries other hosts appended that are here now (a shared
    // stream); returns how many. Throws as submit().
    std::size_t catch_up();
    // The items whose moves entries applied outside submit() left planned
    // in the index: this host's files that another host's rebalance or
    // override moves, or own items appended before a crash. The caller
    // settles each as the index has it now (a later entry may have planned
    // it again). Reading them clears them.
    [[nodiscard]] std::set<std::uint64_t> take_pending_moves() { return std::exchange(pending_, {}); }

    // Finds this host's file for an own item entry applied without waiting
    // for it (see decider.hpp).
    void set_facts_lookup(FactsLookup lookup) { decider_.set_facts_lookup(std::move(lookup)); }

    [[nodiscard]] const index::Rules& rules() const { return decider_.rules(); }
    [[nodiscard]] bool shared() const { return stream_->shared(); }
    [[nodiscard]] const std::string& instance() const { return decider_.instance(); }
    [[nodiscard]] EntryStream& stream() { return *stream_; }
    // The origins of the items applied since this object was made.
    [[nodiscard]] const std::set<std::string>& origins() const { return origins_; }

private:
    void applied(const index::Entry& entry);
    void passed(std::uint64_t seq, std::string_view stream_id);
    void note_pending(const Applied& a);
    [[nodiscard]] std::string entry_id(const index::EntryBody& body, const std::optional<HostFacts>& facts) const;

    index::HashIndex& index_;
    Decider decider_;
    std::unique_ptr<EntryStream> stream_;
    std::optional<index::Rules> requested_; // the rules this host last asked for
    // What the latest entry applied wrote: submit()'s answer when it is the
    // entry submitted (a stream stops at the entry it waits for).
    std::optional<Applied> last_;
    std::set<std::uint64_t> pending_;
    std::set<std::string> origins_;
};

} // namespace ndrd::daemon
