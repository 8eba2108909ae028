// Retention: deletes the files of the duplicated and rejected areas once they
// are older than their area's configured age, in small batches on the
// daemon's idle time. Each batch is one expire entry of the decision stream,
// durable before any file goes; the records stay (state expired).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "config/config.hpp"
#include "daemon/route/relocator.hpp"
#include "daemon/route/router.hpp"
#include "index/store/hash_index.hpp"

namespace ndrd::daemon {

class Decisions;

// What one step (or the recovery) did.
struct RetentionBatch {
    std::uint64_t expired = 0;    // records the expire entry expired
    std::uint64_t duplicated = 0; // files deleted from the duplicated area
    std::uint64_t rejected = 0;   // and from the rejected area
    std::uint64_t bytes = 0;      // their sizes
    bool more = false;            // a full batch: more files may be due now
    bool wrapped = false;         // the scan reached the last item (a sweep ended)
    [[nodiscard]] std::uint64_t files() const { return duplicated + rejected; }
    void add(const RetentionBatch& b)
    {
        expired += b.expired;
        duplicated += b.duplicated;
        rejected += b.rejected;
        bytes += b.bytes;
    }
};

class Retention {
public:
    // At most this many items per expire entry, and records read per step.
    static constexpr std::size_t batch_items = 64;
    static constexpr std::size_t scan_records = 2000;

    // `decisions` is the stream expire entries are appended to; its instance
    // names this host's files, the only ones deleted here.
    Retention(index::HashIndex& index, const Router& router, Areas areas, Decisions& decisions,
              config::RetentionParams params);

    void set_params(const config::RetentionParams& params);
    [[nodiscard]] const config::RetentionParams& params() const { return params_; }

    // One bounded step at wall-clock time `now_ms`: reads up to scan_records
    // records from where the last step stopped (from the first again after
    // the last), appends one expire entry for up to batch_items of this
    // host's files that are due, then deletes the files the entry expired.
    // Expired records whose file is still on disk (a crash between an entry
    // and its deletions) have it deleted as they are met. After a whole sweep
    // found nothing due, steps return at once until the earliest file seen
    // falls due. Throws IndexWriteError or StreamUnavailable when the entry
    // cannot be appended: nothing was deleted.
    RetentionBatch step(std::int64_t now_ms);

    // Steps through the whole index once, from the first item (`ndrd once`).
    RetentionBatch sweep(std::int64_t now_ms);

    // At start-up: deletes the files still on disk of the items of the last
    // expire entries (a crash between an entry and its deletions). Safe to
    // repeat.
    RetentionBatch recover();

private:
    // What the scan of one step found.
    struct Found {
        std::vector<std::uint64_t> due;           // items to expire
        std::vector<index::ItemRecord> leftovers; // expired, file still on disk
        std::uint64_t last = 0;                   // the last item read
        bool wrapped = false;                     // read up to the end of the index
    };
    [[nodiscard]] Found scan(std::int64_t now_ms);
    [[nodiscard]] bool own(const index::ItemRecord& rec) const;
    void note_sweep(std::int64_t now_ms);
    // Deletes `rec`'s file when it is there and is that item's file; adds
    // what it did to `batch`, the file's directory to `syncs`.
    void delete_file(const index::ItemRecord& rec, RetentionBatch& batch, DirectorySyncs& syncs) const;
    void delete_files(const std::vector<index::ItemRecord>& recs, RetentionBatch& batch) const;

    index::HashIndex& index_;
    const Router& router_;
    Areas areas_;
    Decisions& decisions_;
    config::RetentionParams params_;
    std::uint64_t cursor_ = 1; // the next item to read
    // The sweep under way (from item 1 to the end): when it started, whether
    // it found anything to do, and the earliest time a file it saw falls due.
    std::int64_t sweep_started_ms_ = 0;
    bool sweep_found_ = false;
    std::int64_t sweep_next_due_ms_ = 0; // 0: none seen
    std::int64_t resting_until_ms_ = 0;
};

} // namespace ndrd::daemon
