// Retention's batches and their recovery (see retention.hpp).
#include "daemon/route/retention.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <set>
#include <utility>

#include "daemon/ingest/hasher.hpp"
#include "daemon/ingest/source_file.hpp"
#include "daemon/route/decisions.hpp"
#include "daemon/telemetry/logger.hpp"

namespace ndrd::daemon {

namespace fs = std::filesystem;
using index::ItemRecord;
using index::RouteState;
using index::Subset;
using index::Verdict;

namespace {

// After a sweep that found nothing due, the longest wait before the next: a
// file whose decision changed without a move (a reference cut earlier, then
// replaced by a better copy) may fall due before any file the sweep saw.
constexpr std::int64_t longest_rest_ms = std::int64_t{10} * 60 * 1000;
// How many of the last control entries recovery reads for expire entries.
constexpr std::size_t recovered_entries = 64;

std::optional<std::int64_t> age_ms(const config::RetentionParams& p, const ItemRecord& rec)
{
    const auto& age = rec.verdict == Verdict::rejected ? p.rejected : p.duplicated;
    if (!age) {
        return std::nullopt;
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(*age).count();
}

std::optional<std::int64_t> shortest_age_ms(const config::RetentionParams& p)
{
    std::optional<std::int64_t> out;
    for (const auto& age : {p.duplicated, p.rejected}) {
        if (age) {
            const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*age).count();
            out = std::min(out.value_or(ms), ms);
        }
    }
    return out;
}

// Since when the file has been where it is: the end of its last move.
std::int64_t placed_ms(const ItemRecord& rec)
{
    return rec.routed_ms != 0 ? rec.routed_ms : rec.ingested_ms;
}

std::int64_t ctime_ms(const struct stat& st)
{
    return static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1000 + st.st_ctim.tv_nsec / 1'000'000;
}

// Whether the file `st` describes may be the expired item's own, as far as
// the inode tells: a regular file placed before the item expired (a later
// file under the same name, even on a reused inode, is another item's),
// with the device, inode and size the item had, or on another device than
// the ingest directory's (moved across file systems: a copy, see same_bytes).
// The item's file was placed at least an age (1 s or more) before it
// expired; the margin covers the file system's coarser clock.
bool may_be_items_file(const ItemRecord& rec, const struct stat& st)
{
    constexpr std::int64_t margin_ms = 500;
    if (!S_ISREG(st.st_mode) || ctime_ms(st) + margin_ms > rec.expired_ms) {
        return false;
    }
    const bool same_inode =
        static_cast<std::uint64_t>(st.st_dev) == rec.device && static_cast<std::uint64_t>(st.st_ino) == rec.inode;
    if (same_inode) {
        return std::cmp_equal(st.st_size, rec.size); // an inode number freed and taken again: not so
    }
    return static_cast<std::uint64_t>(st.st_dev) != rec.device;
}

// Whether an expired item's file is still at its location: a deletion a
// crash (or an error) prevented.
bool left_behind(const ItemRecord& rec, const fs::path& path)
{
    struct stat st {};
    return !rec.location.empty() && ::lstat(path.c_str(), &st) == 0 && may_be_items_file(rec, st);
}

// A copy across file systems has an inode of its own: its bytes tell.
bool same_bytes(const ItemRecord& rec, const fs::path& path, const struct stat& st)
{
    if (static_cast<std::uint64_t>(st.st_ino) == rec.inode && static_cast<std::uint64_t>(st.st_dev) == rec.device) {
        return true; // and the same size (may_be_items_file)
    }
    if (rec.digest.empty() || !std::cmp_equal(st.st_size, rec.size)) {
        return false;
    }
    const SourceFile file = read_source(path, rec.size);
    return file.status == SourceStatus::ok && content_digest(file.bytes) == rec.digest;
}

} // namespace

Retention::Retention(index::HashIndex& index, const Router& router, Areas areas, Decisions& decisions,
                     config::RetentionParams params)
    : index_(index), router_(router), areas_(std::move(areas)), decisions_(decisions), params_(params)
{
}

void Retention::set_params(const config::RetentionParams& params)
{
    params_ = params;
    resting_until_ms_ = 0; // other ages: look again now
}

bool Retention::own(const ItemRecord& rec) const
{
    return rec.origin == decisions_.instance();
}

RetentionBatch Retention::step(std::int64_t now_ms)
{
    RetentionBatch batch;
    if (!params_.enabled() || now_ms < resting_until_ms_) {
        return batch;
    }
    if (cursor_ == 1) {
        sweep_started_ms_ = now_ms;
        sweep_found_ = false;
        sweep_next_due_ms_ = 0;
    }
    const Found found = scan(now_ms);
    batch.wrapped = found.wrapped;
    if (!found.due.empty()) {
        // Durable (synced) before any file goes: a crash from here on leaves
        // expired records whose files recover() and later sweeps delete.
        const Applied applied = decisions_.submit(index::ExpireItems{found.due, now_ms});
        batch.expired = applied.records.size();
        batch.more = found.due.size() == batch_items;
        delete_files(applied.records, batch);
    }
    cursor_ = found.wrapped ? 1 : found.last + 1; // after the entry: a refused one is found again
    delete_files(found.leftovers, batch);
    if (!found.due.empty() || !found.leftovers.empty()) {
        sweep_found_ = true;
    }
    if (found.wrapped) {
        note_sweep(now_ms);
    }
    return batch;
}

Retention::Found Retention::scan(std::int64_t now_ms)
{
    Found found;
    const auto records = index_.scan(cursor_, scan_records);
    found.wrapped = records.size() < scan_records;
    for (const ItemRecord& rec : records) {
        found.last = rec.seq;
        if (!own(rec)) {
            continue; // another host's file: that host deletes it
        }
        if (rec.state == RouteState::expired) {
            if (left_behind(rec, router_.output_path(rec.location))) {
                found.leftovers.push_back(rec);
            }
            continue;
        }
        const auto age = age_ms(params_, rec);
        if (!age || !index::expirable(rec)) {
            continue;
        }
        const std::int64_t due = placed_ms(rec) + *age;
        if (due > now_ms) {
            sweep_next_due_ms_ = sweep_next_due_ms_ == 0 ? due : std::min(sweep_next_due_ms_, due);
            continue;
        }
        found.due.push_back(rec.seq);
        if (found.due.size() == batch_items) {
            found.wrapped = false; // the rest of what was read is read again next step
            break;
        }
    }
    return found;
}

// A sweep that found nothing to do: no step reads anything until the
// earliest file it saw falls due, or a file routed since it started could.
void Retention::note_sweep(std::int64_t now_ms)
{
    if (sweep_found_) {
        return;
    }
    std::int64_t until = now_ms + longest_rest_ms;
    if (sweep_next_due_ms_ != 0) {
        until = std::min(until, sweep_next_due_ms_);
    }
    if (const auto shortest = shortest_age_ms(params_)) {
        until = std::min(until, sweep_started_ms_ + *shortest);
    }
    resting_until_ms_ = until;
}

RetentionBatch Retention::sweep(std::int64_t now_ms)
{
    RetentionBatch total;
    if (!params_.enabled()) {
        return total;
    }
    cursor_ = 1;
    resting_until_ms_ = 0;
    RetentionBatch b;
    do {
        b = step(now_ms); // each step reads on from where the last stopped, up to the end
        total.add(b);
    } while (!b.wrapped);
    return total;
}

RetentionBatch Retention::recover()
{
    RetentionBatch batch;
    if (index_.counts().expired == 0) {
        return batch;
    }
    std::vector<ItemRecord> leftovers;
    std::set<std::uint64_t> seen;
    for (const auto& entry : index_.recent_control_entries(recovered_entries)) {
        const auto* x = std::get_if<index::ExpireItems>(&entry.body);
        if (x == nullptr) {
            continue;
        }
        for (const std::uint64_t seq : x->items) {
            auto rec = seen.insert(seq).second ? index_.get(seq) : std::nullopt;
            if (rec && own(*rec) && rec->state == RouteState::expired &&
                left_behind(*rec, router_.output_path(rec->location))) {
                leftovers.push_back(std::move(*rec));
            }
        }
    }
    delete_files(leftovers, batch);
    if (batch.files() > 0) {
        log_info("retention: deleted ", batch.files(), " file(s) of items expired before the last stop");
    }
    return batch;
}

void Retention::delete_files(const std::vector<ItemRecord>& recs, RetentionBatch& batch) const
{
    DirectorySyncs syncs;
    for (const auto& rec : recs) {
        delete_file(rec, batch, syncs);
    }
    try {
        syncs.sync_all();
    } catch (const RouteError& e) { // the files are gone; only their directories' durability is in doubt
        log_warning("retention: ", e.what());
    }
}

void Retention::delete_file(const ItemRecord& rec, RetentionBatch& batch, DirectorySyncs& syncs) const
{
    const std::string what = "item " + std::to_string(rec.seq) + " (" + rec.source + ")";
    const fs::path relative = fs::path(rec.location).lexically_normal();
    const auto under = [&](const std::string& area) {
        return relative.is_relative() && relative.string().starts_with(area + "/") &&
               std::find(relative.begin(), relative.end(), fs::path("..")) == relative.end();
    };
    if (rec.subset == Subset::working || !under(areas_.of(rec.subset)) || under(areas_.working)) {
        log_warning("retention: not deleting '", rec.location, "' of ", what,
                    ": it is not in the duplicated or rejected area");
        return;
    }
    const fs::path path = router_.output_path(rec.location);
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno != ENOENT) {
            log_warning("retention: cannot read ", path.string(), " (", what, "): ", std::strerror(errno));
        }
        return; // gone already
    }
    if (!may_be_items_file(rec, st) || !same_bytes(rec, path, st)) {
        log_warning("retention: not deleting ", path.string(), ": it is not the file of ", what,
                    " (another device and inode, other bytes, or changed after the item expired)");
        return;
    }
    if (::unlink(path.c_str()) != 0) {
        if (errno != ENOENT) {
            log_warning("retention: cannot delete ", path.string(), " (", what, "): ", std::strerror(errno),
                        "; the next sweep tries again");
        }
        return;
    }
    syncs.add(path.parent_path());
    ++(rec.subset == Subset::rejected ? batch.rejected : batch.duplicated);
    batch.bytes += static_cast<std::uint64_t>(st.st_size);
    log_debug("retention: deleted ", rec.location, " (", what, ")");
}

} // namespace ndrd::daemon
