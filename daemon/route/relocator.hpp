// Carries out the moves the index has journaled ("planned" records): from the
// ingest directory for a new decision, within the output tree for a rebalance.
// Also reconciles, at start-up, the moves a killed process left half-done.
#pragma once

#include <functional>
#include <span>
#include <string>

#include "daemon/route/router.hpp"
#include "index/store/hash_index.hpp"

namespace ndrd::daemon {

struct Areas {
    std::string working;
    std::string duplicated;
    std::string rejected = "rejected";
    [[nodiscard]] const std::string& of(index::Subset s) const;
};

enum class RelocateOutcome { moved, vanished };

class Relocator {
public:
    Relocator(index::HashIndex& index, const Router& router, Areas areas);

    // A location for `rec` in `subset`'s area, free on disk now.
    [[nodiscard]] std::string plan(const index::ItemRecord& rec, index::Subset subset,
                                   const std::unordered_set<std::string>* reserved = nullptr) const;

    // Performs the planned move of `rec` and records the result (done, or
    // vanished when the file is gone). A destination taken in the meantime is
    // re-planned. Throws RouteError on I/O failures: the record stays planned.
    RelocateOutcome execute(index::ItemRecord& rec);

    // execute() for one move of a batch (group commit): the directory fsyncs
    // go to `batch` and a moved record is marked done in memory only. The
    // caller runs batch.sync_all() and then record_done() for the moved ones,
    // so that no record says done before its move is durable.
    RelocateOutcome move(index::ItemRecord& rec, DirectorySyncs& batch);
    void record_done(std::span<const index::ItemRecord> recs);

    // Brings one planned record in line with the disk, whatever part of its
    // move happened: finishes it, or records it done (or vanished). Safe to
    // repeat; this is how a move that failed half-way is retried.
    RelocateOutcome settle(index::ItemRecord rec);

    // settle() for every planned record of this host. Returns how many
    // there were.
    std::size_t recover();

    // This host's name on a shared stream: records of another origin are
    // that host's files, never settled here (an index started from another
    // member's snapshot holds them with that host's locations).
    void set_origin(std::string origin) { origin_ = std::move(origin); }

    // Where several hosts share the decision stream, a file found gone is
    // not written here as vanished: `fn` is told, and the stream says it to
    // every replica (the record stays planned until then). Unset: written.
    void set_on_vanished(std::function<void(const index::ItemRecord&)> fn) { on_vanished_ = std::move(fn); }

    [[nodiscard]] const Areas& areas() const { return areas_; }

private:
    void vanished(index::ItemRecord& rec);

    [[nodiscard]] std::filesystem::path from_path(const index::ItemRecord& rec) const;

    index::HashIndex& index_;
    const Router& router_;
    Areas areas_;
    std::function<void(const index::ItemRecord&)> on_vanished_;
    std::string origin_;
};

} // namespace ndrd::daemon
