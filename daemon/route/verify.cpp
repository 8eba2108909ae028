// Index/disk invariant checks (see verify.hpp).
#include "daemon/route/verify.hpp"

#include <map>
#include <set>

#include "daemon/ingest/ingest_scan.hpp"
#include "daemon/route/configured.hpp"
#include "daemon/route/relocator.hpp"
#include "daemon/route/router.hpp"
#include "daemon/telemetry/logger.hpp"

namespace ndrd::daemon {

namespace fs = std::filesystem;
using index::ItemRecord;
using index::RouteState;

VerifyReport verify(const index::HashIndex& index, const config::Config& cfg)
{
    VerifyReport report;
    const Areas areas = areas_of(cfg);
    std::map<std::string, std::uint64_t> owner; // location -> seq
    const std::string own = cfg.cluster ? cfg.cluster->instance : std::string();
    index.for_each([&](const ItemRecord& r) {
        ++report.records;
        if (r.state == RouteState::vanished || r.origin != own) { // another host's file is checked there
            return true;
        }
        if (r.state == RouteState::expired) { // retention deleted the file; a later item may hold the name
            return true;
        }
        if (r.state == RouteState::planned) {
            report.problems.push_back({"pending_move", r.location,
                                       "item " + std::to_string(r.seq) + " (" + r.source + ") has an unfinished move"});
            return true;
        }
        const auto [it, inserted] = owner.emplace(r.location, r.seq);
        if (!inserted) {
            report.problems.push_back({"shared_location", r.location,
                                       "items " + std::to_string(it->second) + " and " + std::to_string(r.seq)});
        }
        const std::string& area = areas.of(r.subset);
        if (!r.location.starts_with(area + "/")) {
            report.problems.push_back(
                {"wrong_area", r.location, "item " + std::to_string(r.seq) + " is recorded in subset " + area});
        }
        std::error_code ec;
        if (!fs::is_regular_file(fs::symlink_status(cfg.output_dir / r.location, ec))) {
            report.problems.push_back(
                {"missing_file", r.location, "item " + std::to_string(r.seq) + " (" + r.source + ") is not on disk"});
        }
        return true;
    });
    for (const std::string& area : {areas.working, areas.duplicated, areas.rejected}) {
        if (!fs::exists(cfg.output_dir / area)) {
            continue;
        }
        for (const auto& rel : scan_ingest(cfg.output_dir, area)) {
            ++report.files;
            if (!owner.contains(rel)) {
                report.problems.push_back({"untracked_file", rel, "no index record names this file"});
            }
        }
    }
    return report;
}

VerifyReport repair(index::HashIndex& index, const config::Config& cfg)
{
    const Router router(cfg.ingest_dir, cfg.output_dir);
    Relocator relocator(index, router, areas_of(cfg));
    relocator.recover();
    std::vector<ItemRecord> gone;
    const std::string own = cfg.cluster ? cfg.cluster->instance : std::string();
    index.for_each([&](const ItemRecord& r) {
        std::error_code ec;
        if (r.state == RouteState::done && r.origin == own &&
            !fs::is_regular_file(fs::symlink_status(cfg.output_dir / r.location, ec))) {
            gone.push_back(r);
        }
        return true;
    });
    for (auto& r : gone) {
        log_warning("repair: item ", r.seq, " (", r.source, ") is not at ", r.location, "; marking it vanished");
        r.state = RouteState::vanished;
    }
    if (!gone.empty()) {
        index.put_batch(gone, true);
    }
    return verify(index, cfg);
}

} // namespace ndrd::daemon
