// This host's way into the decision stream: append an entry, and get back
// what applying it wrote. Single host: an in-process stream whose subscriber
// is the Decider, so the answer is there when submit() returns. (A stream
// shared by several hosts will hand results back through the subscriber.)
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "daemon/route/decider.hpp"
#include "daemon/route/entry_stream.hpp"

namespace ndrd::daemon {

class Decisions {
public:
    // The stream starts after the index's last applied entry; the rules are
    // the index's last recorded ones, or `fallback` for an index with none.
    Decisions(index::HashIndex& index, const Relocator& relocator, const index::Rules& fallback = {});
    Decisions(const Decisions&) = delete;
    Decisions& operator=(const Decisions&) = delete;
    Decisions(Decisions&&) = delete;
    Decisions& operator=(Decisions&&) = delete;
    ~Decisions() = default;

    // Appends `body` and returns what applying it wrote. An item entry of
    // this host's file carries its facts. Throws IndexWriteError when the
    // index refuses the write (the entry is then not in the stream).
    Applied submit(index::EntryBody body, std::optional<HostFacts> facts = std::nullopt);

    // Appends a rules entry when `rules` differ from those in force, or when
    // the index has recorded none yet. Returns whether it did.
    bool set_rules(const index::Rules& rules);

    [[nodiscard]] const index::Rules& rules() const { return decider_.rules(); }

private:
    Decider decider_;
    std::unique_ptr<EntryStream> stream_;
    bool rules_recorded_;
};

} // namespace ndrd::daemon
