// The persistent hash index on RocksDB: one record per ingested file, kept
// items findable by key, the parameters and projection it was built with, and
// counters -- each record written in one atomic batch with its side entries.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "index/hash/decision.hpp"
#include "index/hash/decision_core.hpp"
#include "index/hash/entry.hpp"
#include "index/hash/feature.hpp"
#include "index/hash/projection.hpp"
#include "index/hash/record.hpp"
#include "index/store/key_set.hpp"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class Status;
struct ReadOptions;
} // namespace rocksdb

namespace ndrd::index {

class DigestFilter;

// A storage failure; the message says which index, which operation and
// what RocksDB reported.
class IndexError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A write the index could not make (disk full, read-only file system, I/O
// error). The index is unchanged: callers pause, call resume() and retry.
class IndexWriteError : public IndexError {
public:
    using IndexError::IndexError;
};

// There is no initialised index in the directory (never created, or a first
// start failed before the parameters were written).
class IndexMissing : public IndexError {
public:
    using IndexError::IndexError;
};

// The index was built with other parameters than the configuration asks for.
// Callers treat it as a configuration error.
class IndexMismatch : public IndexError {
public:
    using IndexError::IndexError;
};

// What an index is built with and may never change: keys depend on all of it.
struct IndexParams {
    std::string algorithm = "gradient";
    Grid grid;
    int hash_dim = 32;
    // Features of images turned upright by their EXIF orientation tag
    // (exif_orientation: apply); false in indexes made before the option.
    bool exif_orientation = false;
    friend bool operator==(const IndexParams&, const IndexParams&) = default;
};

// "algorithm gradient, block_shape [8, 8], hash_dim 32" (and ",
// exif_orientation apply" when set), for messages.
std::string describe(const IndexParams& p);

struct IndexCounts {
    std::uint64_t kept = 0; // verdicts
    std::uint64_t duplicated = 0;
    std::uint64_t rejected = 0;
    std::uint64_t vanished = 0;   // sources gone before they could be moved
    std::uint64_t in_working = 0; // where files are now
    std::uint64_t in_duplicated = 0;
    std::uint64_t in_rejected = 0;
    std::uint64_t planned = 0;          // journal entries not yet completed
    std::uint64_t cut = 0;              // kept by the hash decision, moved out by a rebalance
    std::uint64_t restored = 0;         // duplicates brought into the working subset by a rebalance
    std::uint64_t released = 0;         // operator overrides: duplicates made kept references
    std::uint64_t marked_duplicate = 0; // and kept items made duplicates
    std::uint64_t replaced = 0;         // kept references a better copy replaced (keep: best)
    std::uint64_t expired = 0;          // files retention deleted (their records stay)
};

// Adds (sign +1) or removes (-1) one record's part in the counters: the one
// definition of what each counter counts, for the index and for reports.
void count_record(IndexCounts& c, const ItemRecord& r, int sign = +1);

// Where a batch stands in the decision stream: the entry it applies, written
// in the same batch as the records it produced (a control entry is kept
// whole; an item entry is kept as its item's record).
struct StreamPosition {
    std::uint64_t entry = 0;            // 0: no entry (a move's bookkeeping)
    const EntryBody* control = nullptr; // a rules, override or rebalance entry
    // The shared stream's identity, recorded with the first entry applied
    // from it (empty: unchanged), so a replica knows a recreated stream.
    std::string_view stream;
};

class HashIndex final : public IndexView {
public:
    // Opens the index in `dir`, creating it when the directory holds none; a
    // new index stores `params` and the projection `make_projection` returns.
    // An existing index must have been built with `params` (IndexMismatch
    // otherwise) and keeps its stored projection; `make_projection` is then
    // not called.
    // `cache_bytes` sizes the block cache shared by all column families.
    static HashIndex open(const std::filesystem::path& dir, const IndexParams& params,
                          const std::function<Projection()>& make_projection, std::uint64_t cache_bytes = 32U << 20U);
    // For status and hash while a daemon may hold the index: a consistent
    // snapshot, no writes. Throws IndexMissing when there is no index.
    static HashIndex open_read_only(const std::filesystem::path& dir);
    static bool exists(const std::filesystem::path& dir);

    HashIndex(const HashIndex&) = delete;
    HashIndex& operator=(const HashIndex&) = delete;
    HashIndex(HashIndex&&) noexcept;
    HashIndex& operator=(HashIndex&&) noexcept;
    ~HashIndex() override;

    [[nodiscard]] const IndexParams& params() const { return params_; }
    [[nodiscard]] const Projection& projection() const { return projection_; }
    [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }
    [[nodiscard]] std::uint64_t next_seq() const { return next_seq_; }
    [[nodiscard]] const IndexCounts& counts() const { return counts_; }
    // When this open upgraded an index of an older schema: how many digest
    // entries it rewrote (for the start-up log).
    [[nodiscard]] std::optional<std::uint64_t> upgraded_digest_entries() const { return upgraded_digests_; }

    // The kept items holding `key` (the references for a decision), in
    // ingest order: the in-memory key set names them (a read-only index that
    // has not built it seeks by_key), their records are read.
    [[nodiscard]] std::vector<KeptItem> kept_with_key(const Key& key) const;

    // The decision core's judge (index/hash/decision_core.hpp) on this
    // index's references, for a feature as computed (judged as stored, float32).
    [[nodiscard]] Decision judge(const Feature& feature, const Key& key, double sim_threshold) const;
    [[nodiscard]] Decision judge(const Feature& feature, const Key& key, const MatchRule& rule) const;

    // IndexView, for the decision core.
    [[nodiscard]] std::vector<KeptItem> kept_near(const Key& key, int radius) const override
    {
        return candidates_near(key, radius);
    }
    [[nodiscard]] std::optional<ItemRecord> first_with_digest(std::string_view digest) const override
    {
        return find_by_digest(digest);
    }
    [[nodiscard]] std::optional<ItemRecord> item(std::uint64_t seq) const override { return get(seq); }
    void each_item(const std::function<bool(const ItemRecord&)>& fn) const override { for_each(fn); }
    [[nodiscard]] std::uint64_t next_item() const override { return next_seq_; }

    // The last stream entry applied to this index (0: none), and the rules
    // the last rules entry set (nullopt: none yet).
    [[nodiscard]] std::uint64_t applied_entry() const { return applied_entry_; }
    [[nodiscard]] const std::optional<Rules>& rules() const { return rules_; }
    // The identity of the shared stream this index is a replica of (empty:
    // none, a single host's index).
    [[nodiscard]] const std::string& stream_id() const { return stream_id_; }
    // The stream of entries this index has applied, in order: its items'
    // entries rebuilt from their records, the control entries as written.
    // Numbered from 1 in stream order. An item retention expired has lost its
    // feature: its entry here has none.
    [[nodiscard]] std::vector<Entry> entries() const;
    // The last `n` control entries applied (rules, overrides, rebalances,
    // vanished and expire entries), oldest first, with their stream numbers.
    [[nodiscard]] std::vector<Entry> recent_control_entries(std::size_t n) const;

    // The distinct keys of the references, in memory (built when the index
    // opens; read-only indexes build it on first use).
    [[nodiscard]] const KeySet& reference_keys() const;

    // Inserts or replaces record `rec.seq`, with its key-index entry and the
    // counters, in one atomic batch. `sync` makes it durable before return
    // (the journal entry must be, before a file moves). Throws IndexWriteError
    // when the write fails for a reason that may pass (the batch is not applied).
    void put(const ItemRecord& rec, bool sync, StreamPosition at = {});
    // Several records in one atomic batch (a rebalance plan), with the
    // stream entry that produced them.
    void put_batch(std::span<const ItemRecord> recs, bool sync, StreamPosition at = {});
    // Makes every write so far durable with one fsync of the write-ahead log:
    // a group of unsynced journal entries, before any of their files moves.
    // Throws IndexWriteError when the sync fails.
    void sync_journal();

    // Writes fail with IndexWriteError, before reaching RocksDB, while the
    // index's file system has fewer than `bytes` free or is read-only:
    // RocksDB's own handling of a write that hits a full disk is not
    // something to rely on (Debian's build aborts on an assertion).
    void set_min_free_space(std::uint64_t bytes) { min_free_ = bytes; }
    // Why `dir`'s file system cannot take index writes now (read-only, or
    // fewer than `min_free` bytes free), or nullopt when it can.
    [[nodiscard]] static std::optional<std::string> space_problem(const std::filesystem::path& dir,
                                                                  std::uint64_t min_free);

    // After an IndexWriteError: asks RocksDB to leave the read-only state its
    // write error put it in. True when writes may be tried again.
    [[nodiscard]] bool resume();

    [[nodiscard]] std::optional<ItemRecord> get(std::uint64_t seq) const;
    // The earliest record whose file had exactly these bytes (by digest), if
    // any. Safe to call from worker threads while the loop writes.
    [[nodiscard]] std::optional<ItemRecord> find_by_digest(std::string_view digest) const;
    // Every record in ingest order; stop early by returning false.
    void for_each(const std::function<bool(const ItemRecord&)>& fn) const;
    // Up to `limit` records from item `first` on, in ingest order, read past
    // the block cache: a background scan (retention's) must not evict what
    // lookups need.
    [[nodiscard]] std::vector<ItemRecord> scan(std::uint64_t first, std::size_t limit) const;
    [[nodiscard]] std::vector<ItemRecord> planned() const;

    // Makes `dir` an openable copy of the index as it stands now, so that a
    // new replica can start from it (and replay the rest of the stream) or it
    // can be kept as a backup while the daemon, which holds the index
    // exclusively, goes on. The copy is a normal index: open and
    // open_read_only take it. Records and applied_entry() come from the same
    // batches, so the copy is consistent. Tables are hard-linked when `dir` is
    // on the index's file system, copied otherwise; nothing is flushed, so the
    // index's own directory is not written. `dir` must not exist and its
    // parent must. Works on a read-only index too. Throws IndexError naming `dir`.
    void checkpoint(const std::filesystem::path& dir) const;

    // Size of the index directory's files, for status.
    [[nodiscard]] std::uint64_t disk_bytes() const;
    // Rewrites every column family's tables down to the last level, so that
    // the space of overwritten records and of the features retention dropped
    // is given back to the file system. Blocks until done (minutes on a large
    // index) but may run on another thread while the index is read and
    // written. Setting `*cancel` stops it early: it then returns false.
    // Throws IndexError (a read-only index, or RocksDB's error).
    bool compact(std::atomic<bool>* cancel = nullptr);
    // Whether RocksDB still has flushes or compactions running or due (all
    // column families): false once the tree has settled after a burst of
    // writes.
    [[nodiscard]] bool background_work_pending() const;

private:
    struct Handles;
    HashIndex(std::filesystem::path dir, std::unique_ptr<Handles> handles);
    void check(const rocksdb::Status& s, const std::string& what) const;
    void load_meta();
    void load_stream_meta();
    // A change to the key set that a batch makes (applied once it is written).
    struct KeyChange {
        Key key;
        std::uint64_t seq;
        bool added;
    };
    void note_written(std::span<const KeyChange> key_changes, std::span<const std::string_view> new_digests);
    void upgrade_digest_keys();
    void check_space() const;
    void measure_item_bytes();
    void cache_item_reads();
    [[nodiscard]] rocksdb::ReadOptions item_read_options() const;

    std::filesystem::path dir_;
    std::unique_ptr<Handles> h_;
    IndexParams params_;
    Projection projection_;
    void build_reference_keys() const;
    [[nodiscard]] std::unique_ptr<DigestFilter> read_digest_filter() const;
    [[nodiscard]] std::vector<KeptItem> candidates_near(const Key& key, int radius) const;
    [[nodiscard]] std::vector<KeySet::Ref> refs_with_key(const Key& key) const; // by_key seek, no key set
    [[nodiscard]] std::vector<KeptItem> fetch(std::span<const KeySet::Ref> refs) const;

    std::uint64_t next_seq_ = 1;
    std::uint64_t applied_entry_ = 0;
    std::optional<Rules> rules_;
    std::string stream_id_;
    IndexCounts counts_;
    std::uint64_t min_free_ = 0;
    std::uint64_t cache_bytes_ = 0; // the block cache's capacity
    std::uint64_t item_bytes_ = 0;  // about the item records' size on disk
    // by_digest may still hold schema 2's keys (digest + seq), which
    // find_by_digest seeks: an older index opened read-only, or one whose
    // upgrade a crash cut short.
    bool digest_keys_with_seq_ = false;
    std::optional<std::uint64_t> upgraded_digests_;
    // Mirrors the by_key column family's entries (key, seq). mutable: a
    // read-only index fills it on first use (one thread only, the caller's).
    mutable std::optional<KeySet> reference_keys_;
    // Every digest in by_digest, so that find_by_digest reads it only for
    // digests that may be there. Built by writable opens (read-only ones read
    // by_digest for every digest); a pointer because the filter's lock cannot move.
    std::unique_ptr<DigestFilter> digests_;
};

} // namespace ndrd::index
