// Journaled moves and their recovery (see relocator.hpp).
#include "daemon/route/relocator.hpp"

#include <chrono>
#include <fstream>
#include <iterator>
#include <utility>

#include "daemon/ingest/source_file.hpp"
#include "daemon/telemetry/logger.hpp"

namespace ndrd::daemon {

namespace fs = std::filesystem;
using index::ItemRecord;
using index::RouteState;
using index::Subset;

namespace {

bool same_content(const fs::path& a, const fs::path& b)
{
    std::error_code ec1;
    std::error_code ec2;
    if (fs::file_size(a, ec1) != fs::file_size(b, ec2) || ec1 || ec2) {
        return false;
    }
    std::ifstream fa(a, std::ios::binary);
    std::ifstream fb(b, std::ios::binary);
    return std::equal(std::istreambuf_iterator<char>(fa), std::istreambuf_iterator<char>(),
                      std::istreambuf_iterator<char>(fb), std::istreambuf_iterator<char>());
}

} // namespace

const std::string& Areas::of(Subset s) const
{
    switch (s) {
    case Subset::working: return working;
    case Subset::duplicated: return duplicated;
    case Subset::rejected: return rejected;
    }
    return rejected;
}

Relocator::Relocator(index::HashIndex& index, const Router& router, Areas areas)
    : index_(index), router_(router), areas_(std::move(areas))
{
}

std::string Relocator::plan(const ItemRecord& rec, Subset subset, const std::unordered_set<std::string>* reserved) const
{
    return router_.plan(areas_.of(subset), rec.source, reserved);
}

fs::path Relocator::from_path(const ItemRecord& rec) const
{
    return rec.previous_location.empty() ? router_.source_path(rec.source) : router_.output_path(rec.previous_location);
}

void Relocator::vanished(ItemRecord& rec)
{
    if (on_vanished_) {
        on_vanished_(rec);
        return;
    }
    rec.state = RouteState::vanished;
    index_.put(rec, /*sync=*/true);
}

RelocateOutcome Relocator::execute(ItemRecord& rec)
{
    DirectorySyncs syncs;
    const RelocateOutcome outcome = move(rec, syncs);
    if (outcome == RelocateOutcome::moved) {
        syncs.sync_all();
        record_done(std::span(&rec, 1));
    }
    return outcome;
}

void Relocator::record_done(std::span<const ItemRecord> recs)
{
    if (!recs.empty()) {
        index_.put_batch(recs, /*sync=*/false); // recovery can tell a finished move from the disk
    }
}

RelocateOutcome Relocator::move(ItemRecord& rec, DirectorySyncs& batch)
{
    while (true) {
        const MoveResult result = rec.previous_location.empty()
                                      ? router_.move(rec.source, rec.location, &batch)
                                      : router_.move_within_output(rec.previous_location, rec.location, &batch);
        switch (result) {
        case MoveResult::moved:
            rec.state = RouteState::done;
            rec.previous_location.clear();
            rec.routed_ms = index::unix_ms_now();
            return RelocateOutcome::moved;
        case MoveResult::destination_taken:
            rec.location = plan(rec, rec.subset);
            index_.put(rec, /*sync=*/true);
            continue;
        case MoveResult::source_missing:
            log_warning("item ", rec.seq, " (", rec.source, ") disappeared from ", from_path(rec).string(),
                        " before it could be moved");
            vanished(rec);
            return RelocateOutcome::vanished;
        }
    }
}

std::size_t Relocator::recover()
{
    auto planned = index_.planned();
    std::erase_if(planned, [&](const ItemRecord& r) { return r.origin != origin_; });
    if (planned.empty()) {
        return 0;
    }
    log_info("completing ", planned.size(), " journaled move(s) left unfinished");
    for (const auto& rec : planned) {
        (void)settle(rec);
    }
    return planned.size();
}

// The record is durable, the move may or may not have happened. The inode
// tells our file from a new one that arrived under the same name since.
RelocateOutcome Relocator::settle(ItemRecord rec)
{
    const fs::path src = from_path(rec);
    const fs::path dst = router_.output_path(rec.location);
    const auto src_id = identity_of(src);
    const auto dst_id = identity_of(dst);
    const auto is_ours = [&](const std::optional<FileIdentity>& id) {
        return id && id->dev == rec.device && id->ino == rec.inode;
    };
    if (is_ours(src_id) && !dst_id) {
        return execute(rec); // decided, never moved
    }
    if (is_ours(src_id) && dst_id) {
        if (!same_content(src, dst)) {
            rec.location = plan(rec, rec.subset); // something else took the name: move ours elsewhere
            index_.put(rec, true);
            return execute(rec);
        }
        // A cross-device copy completed but the source was not yet removed.
        std::error_code ec;
        fs::remove(src, ec);
        if (ec) {
            throw RouteError("cannot remove " + src.string() + " (already copied to " + dst.string() +
                             "): " + ec.message());
        }
        sync_directory(src.parent_path());
    } else if (!(is_ours(dst_id) || (dst_id && std::cmp_equal(dst_id->size, rec.size)))) {
        log_warning("item ", rec.seq, " (", rec.source, ") is neither at ", src.string(), " nor at ", dst.string());
        vanished(rec);
        return RelocateOutcome::vanished;
    }
    rec.state = RouteState::done;
    rec.previous_location.clear();
    rec.routed_ms = index::unix_ms_now();
    index_.put(rec, true);
    log_info("recovered item ", rec.seq, ": ", rec.source, " is at ", rec.location);
    return RelocateOutcome::moved;
}

} // namespace ndrd::daemon
