// RocksDB-backed hash index (see hash_index.hpp).
//
// Column families:
//   items  : be64(seq) -> ItemRecord::encode()
//   by_key : key bytes + be64(seq) -> degenerate flag (schema 1: + the feature);
//            scanned at open into the in-memory key set, which answers lookups
//   meta   : "schema", "params", "projection", "next_seq", "counts";
//            "applied_entry" (the last stream entry applied), "rules" (the
//            last rules entry's), "entry/" + be64(entry) -> be64(next item
//            then) + the control entry (rules, override, rebalance)
//   by_digest : XXH3-128 of the file -> be64(seq) of the earliest item with
//               those bytes (byte-identical copies; schema 2: digest + be64(seq) -> "")
// Every put writes the record, its by_key entry and the meta counters in one
// WriteBatch, so the index can never disagree with itself after a crash.
// In memory, rebuilt at each open: the key set (by_key's entries) and the
// digest fingerprints (by_digest's keys), kept in step by put_batch.
#include "index/store/hash_index.hpp"

#include <sys/resource.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <future>
#include <limits>
#include <system_error>

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include "index/hash/codec.hpp"
#include "index/hash/key.hpp"
#include "index/store/digest_filter.hpp"
#include "index/store/storage_log.hpp"

namespace ndrd::index {

namespace fs = std::filesystem;

namespace {

// Schema 2 keeps features only in the item records (see by_key_entry);
// schema 3 keys by_digest by the digest alone (see EarliestSeq). Older
// indexes are read as they are, upgraded at the first writable open
// (upgrade_digest_keys) and tagged 3, so that an older ndrd refuses them
// instead of misreading new entries.
constexpr std::string_view schema_tag = "ndrd-index-3";
constexpr std::string_view schema_tag_v2 = "ndrd-index-2";
constexpr std::string_view schema_tag_v1 = "ndrd-index-1";
// In meta while by_digest holds entries of schema 2 (an upgrade under way).
constexpr std::string_view upgrade_marker = "upgrading_digest_keys";
constexpr std::string_view meta_applied_entry = "applied_entry";
constexpr std::string_view meta_rules = "rules";
constexpr std::string_view meta_stream = "stream";
constexpr std::string_view meta_entry_prefix = "entry/";
constexpr std::size_t cf_items = 1;
constexpr std::size_t cf_by_key = 2;
constexpr std::size_t cf_meta = 3;
constexpr std::size_t cf_by_digest = 4;
// XXH3-128, as the daemon computes it: the key of a by_digest entry.
constexpr std::size_t digest_bytes = DigestFilter::digest_bytes;

// by_digest maps a digest to the earliest item with those bytes. Each new
// item merges its be64 number into its digest's entry and the entry keeps the
// smallest (big-endian: byte order is number order), so a write never reads
// first and a lookup is one point read, which the bloom filters answer at
// every level when the digest is absent: almost every new file. Schema 2
// keyed entries by digest + number, which only an iterator seek could find.
class EarliestSeq final : public rocksdb::AssociativeMergeOperator {
public:
    bool Merge(const rocksdb::Slice& /*key*/, const rocksdb::Slice* existing, const rocksdb::Slice& value,
               std::string* new_value, rocksdb::Logger* /*logger*/) const override
    {
        const rocksdb::Slice& earliest = existing != nullptr && existing->compare(value) <= 0 ? *existing : value;
        new_value->assign(earliest.data(), earliest.size());
        return true;
    }
    [[nodiscard]] const char* Name() const override { return "ndrd.EarliestSeq"; }
};

std::string encode_params(const IndexParams& p)
{
    Writer w;
    w.bytes(p.algorithm);
    w.varint(static_cast<std::uint64_t>(p.grid.rows));
    w.varint(static_cast<std::uint64_t>(p.grid.cols));
    w.varint(static_cast<std::uint64_t>(p.hash_dim));
    if (p.exif_orientation) {
        w.varint(1); // written only when set: an index without it reads as before
    }
    return w.take();
}

IndexParams decode_params(std::string_view bytes)
{
    Reader r(bytes);
    IndexParams p;
    p.algorithm = r.bytes();
    p.grid.rows = static_cast<int>(r.varint());
    p.grid.cols = static_cast<int>(r.varint());
    p.hash_dim = static_cast<int>(r.varint());
    p.exif_orientation = !r.done() && r.varint() != 0;
    return p;
}

std::string encode_counts(const IndexCounts& c)
{
    Writer w;
    for (const std::uint64_t v :
         {c.kept, c.duplicated, c.rejected, c.vanished, c.in_working, c.in_duplicated, c.in_rejected, c.planned, c.cut,
          c.restored, c.released, c.marked_duplicate, c.replaced, c.expired}) {
        w.varint(v);
    }
    return w.take();
}

IndexCounts decode_counts(std::string_view bytes)
{
    Reader r(bytes);
    IndexCounts c;
    for (std::uint64_t* v : {&c.kept, &c.duplicated, &c.rejected, &c.vanished, &c.in_working, &c.in_duplicated,
                             &c.in_rejected, &c.planned, &c.cut, &c.restored}) {
        *v = r.varint();
    }
    if (!r.done()) { // counters appended with overrides; older indexes have none
        c.released = r.varint();
        c.marked_duplicate = r.varint();
    }
    if (!r.done()) { // appended with keep: best and retention
        c.replaced = r.varint();
        c.expired = r.varint();
    }
    return c;
}

bool is_reference(const ItemRecord& r)
{
    return r.verdict == Verdict::kept && r.state != RouteState::vanished;
}

} // namespace

void count_record(IndexCounts& c, const ItemRecord& r, int sign)
{
    const auto add = [sign](std::uint64_t& v) {
        v = sign > 0 ? v + 1 : v - 1;
    };
    if (r.state == RouteState::vanished) {
        add(c.vanished);
        return;
    }
    if (r.state == RouteState::planned) {
        add(c.planned);
    }
    switch (r.verdict) {
    case Verdict::kept: add(c.kept); break;
    case Verdict::duplicated: add(c.duplicated); break;
    case Verdict::rejected: add(c.rejected); break;
    }
    if (r.verdict == Verdict::kept && r.subset == Subset::duplicated) {
        add(c.cut);
    }
    if (r.operator_override == Override::released) {
        add(c.released);
    }
    if (r.operator_override == Override::marked_duplicate) {
        add(c.marked_duplicate);
    }
    if (r.verdict == Verdict::duplicated && r.subset == Subset::working) {
        add(c.restored);
    }
    if (r.replaced_by != 0) {
        add(c.replaced);
    }
    if (r.state == RouteState::expired) {
        add(c.expired); // the decision stands; the file is gone, so it is in no area
        return;
    }
    switch (r.subset) {
    case Subset::working: add(c.in_working); break;
    case Subset::duplicated: add(c.in_duplicated); break;
    case Subset::rejected: add(c.in_rejected); break;
    }
}

namespace {

// A reference's by_key entry: key and seq in the RocksDB key, only the
// degenerate flag as value; the feature is read from the item's record.
// Schema 1 stored the feature here as well: that doubled every write, and
// since by_key's keys are random, each compaction into a large level rewrote
// those features again, which at a million items took the index's share of
// the CPU. Schema-1 entries (flag + feature) are still read as they are.
std::string by_key_entry(const ItemRecord& r)
{
    Writer w;
    w.u8(r.degenerate ? 1 : 0);
    return w.take();
}

// One block cache for every column family, so `cache_bytes` bounds them all.
rocksdb::BlockBasedTableOptions table_options(std::uint64_t cache_bytes)
{
    rocksdb::BlockBasedTableOptions t;
    t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    t.block_cache = rocksdb::NewLRUCache(cache_bytes);
    // Index and filter blocks live in the cache too: memory stays within the
    // cache size as the index grows, instead of growing with the table count.
    t.cache_index_and_filter_blocks = true;
    t.pin_l0_filter_and_index_blocks_in_cache = true;
    // Partitioned: a table's index and filter are cached in 4 KB pieces, so
    // a point lookup in a large index reads one piece rather than a whole
    // table's index (hundreds of KB per 64 MB table) whenever the cache,
    // which also holds data blocks, has evicted it.
    t.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
    t.partition_filters = true;
    t.metadata_block_size = 4096;
    t.cache_index_and_filter_blocks_with_high_priority = true;
    t.pin_top_level_index_and_filter = true;
    return t;
}

// A read-only open (status, hash, query) reads little: a small cache.
constexpr std::uint64_t read_only_cache_bytes = 8U << 20U;

std::vector<rocksdb::ColumnFamilyDescriptor> descriptors(std::uint64_t cache_bytes)
{
    const auto t = table_options(cache_bytes);
    rocksdb::ColumnFamilyOptions cf;
    // Small memtables: a flush then needs little free disk (see index_min_free).
    cf.write_buffer_size = 8U << 20U;
    cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
    // Item records are mostly a float32 feature, which Snappy cannot shrink:
    // compressing them only costs time at every flush, compaction and read.
    rocksdb::ColumnFamilyOptions items = cf;
    items.compression = rocksdb::kNoCompression;
    // Lookups only ask for records that exist (the key set names them), so
    // the last level's filter, most of all filters, would answer "maybe"
    // every time at the price of a cache lookup and a share of the cache.
    // Upper levels keep theirs: records rewritten later (routing, rebalancing)
    // make their files' ranges overlap older ones.
    items.optimize_filters_for_hits = true;
    // Sizes the levels from the last one up, so the last level holds about
    // 90% of the records and nine lookups in ten skip the filter check. With
    // fixed level sizes the last level held whatever overflowed the one
    // above: at a million items 10%, and a filter partition was read and
    // probed (1.2 us) for nearly every record fetched. An index made before
    // moves its tables down over the following compactions (trivial moves:
    // the records are numbered in order).
    items.level_compaction_dynamic_level_bytes = true;
    // Most reads ask for an older record than the memtable holds: its bloom
    // filter spares them the memtable's search.
    items.memtable_prefix_bloom_size_ratio = 0.02;
    items.memtable_whole_key_filtering = true;
    // Records are keyed by consecutive numbers, which delta-encode well: a
    // smaller index keeps more of itself in the cache at a million records.
    auto in_order = t; // the same cache
    in_order.index_block_restart_interval = 16;
    // One record (~3.2 KB) per block: a lookup reads and checksums only the
    // record it wants. With 4 KB blocks, each block held two records and a
    // read at a million items, out of the block cache, copied twice the bytes.
    in_order.block_size = 1024;
    items.table_factory.reset(rocksdb::NewBlockBasedTableFactory(in_order));
    // by_key is only ever scanned whole, at start-up, into the key set, which
    // then answers every lookup: a filter would never be consulted.
    rocksdb::ColumnFamilyOptions by_key = cf;
    auto scanned = t; // the same cache
    scanned.filter_policy.reset();
    by_key.table_factory.reset(rocksdb::NewBlockBasedTableFactory(scanned));
    // Every new file asks for its digest, which is almost always absent: the
    // in-memory DigestFilter answers most of those asks; the bloom filters,
    // in the memtable and in every table file, answer the rest (its rare
    // false matches, and read-only opens, which build no DigestFilter). The
    // bloom filters hold the key's 16-byte prefix, which is the whole key
    // since schema 3 and lets a schema-2 index's tables be read as well.
    rocksdb::ColumnFamilyOptions by_digest = cf;
    by_digest.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(digest_bytes));
    by_digest.memtable_prefix_bloom_size_ratio = 0.1;
    by_digest.merge_operator = std::make_shared<EarliestSeq>();
    auto prefixed = t; // the same cache
    prefixed.whole_key_filtering = false;
    by_digest.table_factory.reset(rocksdb::NewBlockBasedTableFactory(prefixed));
    return {{rocksdb::kDefaultColumnFamilyName, cf},
            {"items", items},
            {"by_key", by_key},
            {"meta", cf},
            {"by_digest", by_digest}};
}

// RocksDB keeps one open reader (and descriptor) per table file. Once the
// files outnumber max_open_files, lookups keep reopening tables, reading each
// one's footer and index again: at a million items (over 300 files of 8-10
// MB) that was a tenth of every lookup. Allow as many as the process may
// open, keeping room for the daemon's own descriptors (the units raise
// LimitNOFILE; ndrd raises its soft limit to the hard one at start).
int table_file_budget()
{
    constexpr rlim_t reserve = 256;
    constexpr int floor = 64;
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return floor;
    }
    if (rl.rlim_cur == RLIM_INFINITY) {
        return -1; // no limit: keep every table open
    }
    if (rl.rlim_cur < reserve + floor) {
        return floor;
    }
    return static_cast<int>(std::min<rlim_t>(rl.rlim_cur - reserve, std::numeric_limits<int>::max()));
}

} // namespace

std::string describe(const IndexParams& p)
{
    return "algorithm " + p.algorithm + ", block_shape [" + std::to_string(p.grid.rows) + ", " +
           std::to_string(p.grid.cols) + "], hash_dim " + std::to_string(p.hash_dim) +
           (p.exif_orientation ? ", exif_orientation apply" : "");
}

struct HashIndex::Handles {
    std::unique_ptr<rocksdb::DB> db;
    std::vector<rocksdb::ColumnFamilyHandle*> cfs; // owned: released before the DB closes
    bool read_only = false;
    // Whether item records read go into the block cache (see cache_item_reads).
    // Atomic: workers read records (find_by_digest) while the loop writes.
    std::atomic<bool> cache_items{true};

    Handles() = default;
    Handles(const Handles&) = delete;
    Handles& operator=(const Handles&) = delete;
    ~Handles()
    {
        if (db) {
            for (auto* cf : cfs) {
                (void)db->DestroyColumnFamilyHandle(cf);
            }
            (void)db->Close();
        }
    }
};

HashIndex::HashIndex(fs::path dir, std::unique_ptr<Handles> handles) : dir_(std::move(dir)), h_(std::move(handles)) {}
HashIndex::HashIndex(HashIndex&&) noexcept = default;
HashIndex& HashIndex::operator=(HashIndex&&) noexcept = default;
HashIndex::~HashIndex() = default;

void HashIndex::check(const rocksdb::Status& s, const std::string& what) const
{
    if (!s.ok()) {
        throw IndexError("index " + dir_.string() + ": " + what + " failed: " + s.ToString());
    }
}

bool HashIndex::exists(const fs::path& dir)
{
    std::error_code ec;
    return fs::exists(dir / "CURRENT", ec);
}

HashIndex HashIndex::open(const fs::path& dir, const IndexParams& params,
                          const std::function<Projection()>& make_projection, std::uint64_t cache_bytes)
{
    std::error_code ec;
    fs::create_directories(dir, ec); // RocksDB would, but logs an error first
    auto handles = std::make_unique<Handles>();
    rocksdb::DBOptions opts;
    opts.create_if_missing = true;
    opts.create_missing_column_families = true;
    opts.max_open_files = table_file_budget();
    opts.keep_log_file_num = 4;
    // All memtables together: with the block cache, what bounds the index's memory.
    opts.db_write_buffer_size = 32U << 20U;
    // No memtable flush at close or at open: both may happen on a full disk,
    // where a failed flush trips an assertion in Debian's RocksDB build. The
    // WAL holds the data either way.
    opts.avoid_flush_during_shutdown = true;
    opts.info_log = storage_logger();
    opts.avoid_flush_during_recovery = true;
    rocksdb::DB* raw = nullptr;
    const auto s = rocksdb::DB::Open(opts, dir.string(), descriptors(cache_bytes), &handles->cfs, &raw);
    handles->db.reset(raw);
    HashIndex index(dir, std::move(handles));
    index.check(s, "opening (is another ndrd using it? is the directory writable?)");

    // An index is initialised once its parameters are written, in one synced
    // batch. A first start that failed before that (a bad projection file,
    // say) left an empty database: initialise it now.
    std::string tag;
    const auto ts = index.h_->db->Get(rocksdb::ReadOptions(), index.h_->cfs[cf_meta], "schema", &tag);
    if (!ts.IsNotFound()) {
        index.check(ts, "reading its schema");
    }
    if (ts.IsNotFound()) {
        std::unique_ptr<rocksdb::Iterator> it(
            index.h_->db->NewIterator(rocksdb::ReadOptions(), index.h_->cfs[cf_items]));
        it->SeekToFirst();
        if (it->Valid()) {
            throw IndexError("index " + dir.string() + " has items but no parameters: it is damaged");
        }
        index.params_ = params;
        index.projection_ = make_projection();
        if (index.projection_.rows() != params.grid.feature_dim() || index.projection_.cols() != params.hash_dim) {
            throw IndexMismatch("projection is " + std::to_string(index.projection_.rows()) + "x" +
                                std::to_string(index.projection_.cols()) + ", the configuration needs " +
                                std::to_string(params.grid.feature_dim()) + "x" + std::to_string(params.hash_dim));
        }
        rocksdb::WriteBatch batch;
        auto* meta = index.h_->cfs[cf_meta];
        batch.Put(meta, "schema", schema_tag);
        batch.Put(meta, "params", encode_params(params));
        batch.Put(meta, "projection", index.projection_.serialize());
        batch.Put(meta, "next_seq", encode_be64(1));
        batch.Put(meta, "counts", encode_counts({}));
        rocksdb::WriteOptions wo;
        wo.sync = true;
        index.check(index.h_->db->Write(wo, &batch), "writing its parameters");
        index.reference_keys_.emplace(params.hash_dim);
        index.digests_ = std::make_unique<DigestFilter>();
        index.cache_bytes_ = cache_bytes;
        return index;
    }
    index.load_meta();
    if (!(index.params_ == params)) {
        throw IndexMismatch("index " + dir.string() + " was built with " + describe(index.params_) +
                            "; the configuration asks for " + describe(params) +
                            ". Keys would not be comparable: restore the old values, or point index_dir at a new "
                            "directory to start a new index.");
    }
    if (index.digest_keys_with_seq_) {
        index.upgrade_digest_keys();
    }
    // Before any write: put_batch keeps them in step from then on. Two scans
    // of different column families, side by side: start-up waits for the
    // longer one only (at a million items, about 0.5 s each on this VM).
    auto digests = std::async(std::launch::async, [&index] { return index.read_digest_filter(); });
    index.build_reference_keys();
    index.digests_ = digests.get();
    index.cache_bytes_ = cache_bytes;
    index.measure_item_bytes();
    return index;
}

HashIndex HashIndex::open_read_only(const fs::path& dir)
{
    if (!exists(dir)) {
        throw IndexMissing("no index at " + dir.string() + " (it is created when the daemon first runs)");
    }
    auto handles = std::make_unique<Handles>();
    handles->read_only = true;
    rocksdb::DBOptions opts;
    opts.info_log = storage_logger();
    // Read-only, RocksDB refuses to open a column family the database does
    // not have yet (an index written before by_digest existed): open those
    // it has; the others read as empty.
    std::vector<std::string> present;
    (void)rocksdb::DB::ListColumnFamilies(opts, dir.string(), &present);
    auto wanted = descriptors(read_only_cache_bytes);
    if (!present.empty()) {
        std::erase_if(wanted, [&](const rocksdb::ColumnFamilyDescriptor& d) {
            return std::find(present.begin(), present.end(), d.name) == present.end();
        });
    }
    rocksdb::DB* raw = nullptr;
    const auto s = rocksdb::DB::OpenForReadOnly(opts, dir.string(), wanted, &handles->cfs, &raw);
    handles->db.reset(raw);
    HashIndex index(dir, std::move(handles));
    index.check(s, "opening read-only");
    if (index.h_->cfs.size() <= cf_meta) {
        throw IndexError("index " + dir.string() + " lacks its items, key or meta column family: it is damaged");
    }
    index.load_meta();
    index.cache_bytes_ = read_only_cache_bytes;
    index.measure_item_bytes();
    return index;
}

void HashIndex::load_meta()
{
    auto* meta = h_->cfs[cf_meta];
    std::string probe;
    if (h_->db->Get(rocksdb::ReadOptions(), meta, "schema", &probe).IsNotFound()) {
        throw IndexMissing("no index at " + dir_.string() +
                           " (the directory holds an empty database: the first start failed before setting it up)");
    }
    const auto get = [&](const char* name) {
        std::string v;
        check(h_->db->Get(rocksdb::ReadOptions(), meta, name, &v), std::string("reading ") + name);
        return v;
    };
    const auto tag = get("schema");
    if (tag != schema_tag && tag != schema_tag_v2 && tag != schema_tag_v1) {
        throw IndexError("index " + dir_.string() + " has schema '" + tag + "', this ndrd reads '" +
                         std::string(schema_tag) + "'");
    }
    try {
        params_ = decode_params(get("params"));
        projection_ = Projection::deserialize(get("projection"));
        next_seq_ = decode_be64(get("next_seq"));
        counts_ = decode_counts(get("counts"));
    } catch (const std::exception& e) {
        throw IndexError("index " + dir_.string() + ": metadata is corrupt: " + e.what());
    }
    // Read apart from the decoding above: a failed read is not corrupt metadata.
    std::string marker;
    const auto upgrading = h_->db->Get(rocksdb::ReadOptions(), meta, upgrade_marker, &marker);
    if (!upgrading.IsNotFound()) {
        check(upgrading, "reading its upgrade marker");
    }
    digest_keys_with_seq_ = tag != schema_tag || upgrading.ok();
    load_stream_meta();
}

// Indexes written before the decision stream have neither key: they start
// with no applied entry and no recorded rules.
void HashIndex::load_stream_meta()
{
    auto* meta = h_->cfs[cf_meta];
    std::string v;
    if (const auto s = h_->db->Get(rocksdb::ReadOptions(), meta, meta_applied_entry, &v); !s.IsNotFound()) {
        check(s, "reading the last applied stream entry");
        applied_entry_ = decode_be64(v);
    }
    if (const auto s = h_->db->Get(rocksdb::ReadOptions(), meta, meta_stream, &v); !s.IsNotFound()) {
        check(s, "reading the shared stream's identity");
        stream_id_ = v;
    }
    if (const auto s = h_->db->Get(rocksdb::ReadOptions(), meta, meta_rules, &v); !s.IsNotFound()) {
        check(s, "reading the matching rules");
        try {
            rules_ = std::get<RulesChange>(decode_control(v)).rules;
        } catch (const std::exception& e) {
            throw IndexError("index " + dir_.string() + ": its matching rules are corrupt: " + e.what());
        }
    }
}

std::vector<Entry> HashIndex::entries() const
{
    // Control entries in stream order, each with the number of the first
    // item after it; items fill the places between them.
    struct Control {
        std::uint64_t next_item;
        EntryBody body;
    };
    std::vector<Control> controls;
    std::unique_ptr<rocksdb::Iterator> it(h_->db->NewIterator(rocksdb::ReadOptions(), h_->cfs[cf_meta]));
    for (it->Seek(meta_entry_prefix); it->Valid() && it->key().starts_with(meta_entry_prefix); it->Next()) {
        const auto value = it->value().ToStringView();
        if (value.size() < 8) {
            throw IndexError("index " + dir_.string() + ": a stream entry is truncated");
        }
        controls.push_back({decode_be64(value.substr(0, 8)), decode_control(value.substr(8))});
    }
    check(it->status(), "reading the stream's control entries");
    std::vector<Entry> out;
    std::size_t next_control = 0;
    const auto flush_controls = [&](std::uint64_t before_item) {
        for (; next_control < controls.size() && controls[next_control].next_item <= before_item; ++next_control) {
            out.push_back({out.size() + 1, std::move(controls[next_control].body)});
        }
    };
    for_each([&](const ItemRecord& r) {
        flush_controls(r.seq);
        // Built in place: gcc 12 warns (wrongly) of uninitialised members when
        // a temporary Entry's variant is moved into the vector.
        Entry& e = out.emplace_back();
        e.seq = out.size();
        if (r.verdict == Verdict::rejected) {
            e.body.emplace<RejectedItem>(RejectedItem{r.digest, r.size, r.source, r.reason, r.origin});
        } else {
            e.body.emplace<HashedItem>(
                HashedItem{r.digest, r.key, r.feature, r.degenerate, r.size, r.source, r.origin, r.pixels});
        }
        return true;
    });
    flush_controls(std::numeric_limits<std::uint64_t>::max());
    return out;
}

std::vector<Entry> HashIndex::recent_control_entries(std::size_t n) const
{
    std::vector<Entry> out;
    std::unique_ptr<rocksdb::Iterator> it(h_->db->NewIterator(rocksdb::ReadOptions(), h_->cfs[cf_meta]));
    const std::string last = std::string(meta_entry_prefix) + std::string(8, '\xff');
    for (it->SeekForPrev(last); it->Valid() && it->key().starts_with(meta_entry_prefix) && out.size() < n; it->Prev()) {
        const auto key = it->key().ToStringView().substr(meta_entry_prefix.size());
        const auto value = it->value().ToStringView();
        if (key.size() != 8 || value.size() < 8) {
            throw IndexError("index " + dir_.string() + ": a stream entry is truncated");
        }
        Entry& e = out.emplace_back();
        e.seq = decode_be64(key);
        e.body = decode_control(value.substr(8));
    }
    check(it->status(), "reading the stream's control entries");
    std::reverse(out.begin(), out.end());
    return out;
}

std::vector<KeptItem> HashIndex::kept_with_key(const Key& key) const
{
    return candidates_near(key, 0);
}

// Item records are read at random (whichever references a new key is near),
// so the block cache keeps a share of them about its size over theirs. Once
// they outgrow it several times over, nearly every read misses anyway and
// putting its block in the cache costs more (an allocation, an insertion, an
// eviction: 0.55 of 7.3 us per record at a million items) than the rare hit
// saves, and pushes out the index and filter partitions every read needs.
// Records read then come from the page cache alone.
void HashIndex::cache_item_reads()
{
    constexpr std::uint64_t outgrown = 4;
    h_->cache_items.store(item_bytes_ <= outgrown * cache_bytes_, std::memory_order_relaxed);
}

// RocksDB's estimate of the records' bytes on disk, at open; put_batch then
// adds what it writes.
void HashIndex::measure_item_bytes()
{
    std::uint64_t bytes = 0;
    if (h_->db->GetIntProperty(h_->cfs[cf_items], rocksdb::DB::Properties::kEstimateLiveDataSize, &bytes)) {
        item_bytes_ = bytes;
    }
    cache_item_reads();
}

rocksdb::ReadOptions HashIndex::item_read_options() const
{
    rocksdb::ReadOptions ro;
    ro.fill_cache = h_->cache_items.load(std::memory_order_relaxed);
    return ro;
}

// The references' features and flags, from their item records (one Get,
// or one MultiGet for several): the key set has said which items to read, so
// a lookup makes no seek in by_key (at a million references that seek,
// through tables the block cache could not hold, was most of a lookup).
std::vector<KeptItem> HashIndex::fetch(std::span<const KeySet::Ref> refs) const
{
    std::vector<KeptItem> out(refs.size());
    if (refs.empty()) {
        return out;
    }
    std::vector<std::string> keys;
    keys.reserve(refs.size());
    for (const auto& ref : refs) {
        keys.push_back(encode_be64(ref.seq));
    }
    const std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
    std::vector<rocksdb::PinnableSlice> values(keys.size());
    std::vector<rocksdb::Status> statuses(keys.size());
    const auto ro = item_read_options();
    if (keys.size() == 1) { // the common case: MultiGet's batching machinery costs more than it saves
        statuses[0] = h_->db->Get(ro, h_->cfs[cf_items], slices[0], values.data());
    } else {
        h_->db->MultiGet(ro, h_->cfs[cf_items], slices.size(), slices.data(), values.data(), statuses.data(), false);
    }
    for (std::size_t j = 0; j < refs.size(); ++j) {
        const auto& ref = refs[j];
        if (statuses[j].IsNotFound()) {
            throw IndexError("index " + dir_.string() + ": key " + ref.key.hex() + " refers to item " +
                             std::to_string(ref.seq) + ", which has no record: the index is damaged");
        }
        if (!statuses[j].ok()) { // the message only when needed: this runs for every candidate
            check(statuses[j], "reading item " + std::to_string(ref.seq) + " for key " + ref.key.hex());
        }
        auto rec = ItemRecord::decode(ref.seq, values[j].ToStringView());
        out[j].seq = ref.seq;
        out[j].feature = std::move(rec.feature);
        out[j].degenerate = rec.degenerate;
    }
    return out;
}

Decision HashIndex::judge(const Feature& feature, const Key& key, double sim_threshold) const
{
    return judge(feature, key, MatchRule{sim_threshold, 0, {}});
}

Decision HashIndex::judge(const Feature& feature, const Key& key, const MatchRule& rule) const
{
    return index::judge(stored_values(feature), feature.degenerate, key, rule, *this, projection_, params_.grid);
}

std::vector<KeptItem> HashIndex::candidates_near(const Key& key, int radius) const
{
    if (radius == 0 && !reference_keys_) {
        // A read-only index builds its key set on first use: for one exact
        // key (ndrd query with compat: datumaro) a seek is cheaper than
        // reading every reference (0.4 s at a million).
        return fetch(refs_with_key(key));
    }
    return fetch(reference_keys().refs_within(key, radius));
}

std::vector<KeySet::Ref> HashIndex::refs_with_key(const Key& key) const
{
    std::vector<KeySet::Ref> refs;
    std::unique_ptr<rocksdb::Iterator> it(h_->db->NewIterator(rocksdb::ReadOptions(), h_->cfs[cf_by_key]));
    for (it->Seek(key.bytes); it->Valid() && it->key().starts_with(key.bytes); it->Next()) {
        const auto k = it->key().ToStringView();
        if (k.size() == key.bytes.size() + 8) {
            refs.push_back({key, decode_be64(k.substr(key.bytes.size()))});
        }
    }
    check(it->status(), "reading the references of key " + key.hex());
    return refs;
}

const KeySet& HashIndex::reference_keys() const
{
    if (!reference_keys_) {
        build_reference_keys();
    }
    return reference_keys_.value();
}

// One pass over the by_key column family's keys (key + seq): about 13 bytes
// per reference, 0.25 s at a million, paid once per process.
void HashIndex::build_reference_keys() const
{
    KeySet keys(params_.hash_dim);
    const std::size_t key_bytes = (static_cast<std::size_t>(params_.hash_dim) + 7) / 8;
    rocksdb::ReadOptions ro;
    ro.fill_cache = false; // a one-off scan must not evict the working set
    ro.readahead_size = 2U << 20U;
    std::unique_ptr<rocksdb::Iterator> it(h_->db->NewIterator(ro, h_->cfs[cf_by_key]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
        const auto k = it->key().ToStringView();
        if (k.size() == key_bytes + 8) {
            keys.add(Key{std::string(k.substr(0, key_bytes))}, decode_be64(k.substr(key_bytes)));
        }
    }
    check(it->status(), "reading the reference keys");
    reference_keys_ = std::move(keys);
}

// One pass over by_digest's keys, like the key set's over by_key, once per
// writable open.
std::unique_ptr<DigestFilter> HashIndex::read_digest_filter() const
{
    auto filter = std::make_unique<DigestFilter>();
    rocksdb::ReadOptions ro;
    ro.fill_cache = false; // a one-off scan must not evict the working set
    ro.readahead_size = 2U << 20U;
    ro.total_order_seek = true; // every entry, whatever its prefix
    std::unique_ptr<rocksdb::Iterator> it(h_->db->NewIterator(ro, h_->cfs[cf_by_digest]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
        if (it->key().size() == digest_bytes) {
            filter->add(it->key().ToStringView());
        }
    }
    check(it->status(), "reading the content digests");
    return filter;
}

std::optional<ItemRecord> HashIndex::get(std::uint64_t seq) const
{
    std::string v;
    const auto s = h_->db->Get(item_read_options(), h_->cfs[cf_items], encode_be64(seq), &v);
    if (s.IsNotFound()) {
        return std::nullopt;
    }
    check(s, "reading item " + std::to_string(seq));
    return ItemRecord::decode(seq, v);
}

namespace {

// The entry and what it produced are one atomic write: a restart resumes
// after the last entry whose records are there. A control entry is kept
// whole, with the number of the first item after it.
void stage_stream_position(rocksdb::WriteBatch& batch, rocksdb::ColumnFamilyHandle* meta, StreamPosition at,
                           std::uint64_t next_item)
{
    if (at.entry != 0) {
        batch.Put(meta, meta_applied_entry, encode_be64(at.entry));
    }
    if (!at.stream.empty()) {
        batch.Put(meta, meta_stream, at.stream);
    }
    if (at.control != nullptr) {
        const std::string encoded = encode_control(*at.control);
        batch.Put(meta, std::string(meta_entry_prefix) + encode_be64(at.entry), encode_be64(next_item) + encoded);
        if (std::holds_alternative<RulesChange>(*at.control)) {
            batch.Put(meta, meta_rules, encoded);
        }
    }
}

} // namespace

void HashIndex::put(const ItemRecord& rec, bool sync, StreamPosition at)
{
    put_batch(std::span(&rec, 1), sync, at);
}

void HashIndex::put_batch(std::span<const ItemRecord> recs, bool sync, StreamPosition at)
{
    IndexCounts counts = counts_;
    std::uint64_t next = next_seq_;
    rocksdb::WriteBatch batch;
    std::vector<KeyChange> key_changes;        // applied to reference_keys_ once the batch is written
    std::uint64_t added_bytes = 0;             // records that did not exist before
    std::vector<std::string_view> new_digests; // added to digests_ once the batch is written
    for (const ItemRecord& rec : recs) {
        if (rec.seq == 0) {
            throw std::invalid_argument("item records are numbered from 1");
        }
        // Numbers at or past next_seq were never written: no read needed
        // (at a million items that read was a third of a new item's write).
        const auto old = rec.seq < next_seq_ ? get(rec.seq) : std::nullopt;
        if (old) {
            count_record(counts, *old, -1);
            if (is_reference(*old)) { // rewritten below if still a reference: key or feature may differ
                batch.Delete(h_->cfs[cf_by_key], old->key.bytes + encode_be64(rec.seq));
                key_changes.push_back({old->key, rec.seq, false});
            }
        }
        count_record(counts, rec, +1);
        if (is_reference(rec)) {
            batch.Put(h_->cfs[cf_by_key], rec.key.bytes + encode_be64(rec.seq), by_key_entry(rec));
            key_changes.push_back({rec.key, rec.seq, true});
        }
        const auto encoded = rec.encode();
        if (!old) {
            added_bytes += encoded.size();
        }
        batch.Put(h_->cfs[cf_items], encode_be64(rec.seq), encoded);
        if (!rec.digest.empty() && (!old || old->digest != rec.digest)) { // a rewrite changes nothing there
            batch.Merge(h_->cfs[cf_by_digest], rec.digest, encode_be64(rec.seq));
            if (rec.digest.size() == digest_bytes) { // what find_by_digest can ask for
                new_digests.push_back(rec.digest);
            }
        }
        next = std::max(next, rec.seq + 1);
    }
    batch.Put(h_->cfs[cf_meta], "next_seq", encode_be64(next));
    batch.Put(h_->cfs[cf_meta], "counts", encode_counts(counts));
    stage_stream_position(batch, h_->cfs[cf_meta], at, next_seq_);
    check_space();
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    const std::string what = recs.size() == 1
                                 ? "writing item " + std::to_string(recs[0].seq) + " (" + recs[0].source + ")"
                                 : "writing " + std::to_string(recs.size()) + " items";
    if (const auto s = h_->db->Write(wo, &batch); !s.ok()) {
        const std::string msg = "index " + dir_.string() + ": " + what + " failed: " + s.ToString();
        if (s.IsCorruption()) {
            throw IndexError(msg + " (run 'ndrd verify')");
        }
        throw IndexWriteError(msg);
    }
    counts_ = counts;
    next_seq_ = next;
    if (at.entry != 0) {
        applied_entry_ = at.entry;
    }
    if (!at.stream.empty()) {
        stream_id_ = at.stream;
    }
    if (const auto* r = at.control != nullptr ? std::get_if<RulesChange>(at.control) : nullptr) {
        rules_ = r->rules;
    }
    item_bytes_ += added_bytes;
    cache_item_reads();
    note_written(key_changes, new_digests);
}

// The in-memory mirrors follow a batch once RocksDB has it.
void HashIndex::note_written(std::span<const KeyChange> key_changes, std::span<const std::string_view> new_digests)
{
    if (digests_) {
        for (const auto d : new_digests) {
            digests_->add(d);
        }
    }
    if (reference_keys_) {
        // Removals first: a record rewritten with the same key is the same
        // (key, seq) pair, which the set holds once.
        for (const auto& c : key_changes) {
            if (!c.added) reference_keys_->remove(c.key, c.seq);
        }
        for (const auto& c : key_changes) {
            if (c.added) reference_keys_->add(c.key, c.seq);
        }
    }
}

void HashIndex::sync_journal()
{
    if (const auto s = h_->db->SyncWAL(); !s.ok()) {
        throw IndexWriteError("index " + dir_.string() + ": syncing the write-ahead log failed: " + s.ToString());
    }
}

std::optional<std::string> HashIndex::space_problem(const fs::path& dir, std::uint64_t min_free)
{
    if (min_free == 0) {
        return std::nullopt;
    }
    // Before the first start the directory may not exist: its nearest
    // existing ancestor is on the file system it will be created on.
    fs::path probe = dir;
    std::error_code ec;
    while (!fs::exists(probe, ec) && probe.has_relative_path()) {
        probe = probe.parent_path();
    }
    struct statvfs st {};
    if (::statvfs(probe.c_str(), &st) != 0) {
        return "cannot read the free space of " + probe.string() + ": " + std::strerror(errno);
    }
    if ((st.f_flag & ST_RDONLY) != 0) {
        return "the file system of " + dir.string() + " is read-only";
    }
    const auto free_bytes = static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
    if (free_bytes < min_free) {
        return "only " + std::to_string(free_bytes >> 20) + " MiB free on the file system of " + dir.string() +
               ", below index_min_free (" + std::to_string(min_free >> 20) + " MiB); free some space";
    }
    return std::nullopt;
}

void HashIndex::check_space() const
{
    if (auto problem = space_problem(dir_, min_free_)) {
        throw IndexWriteError("index " + dir_.string() + ": " + *problem);
    }
}

std::optional<ItemRecord> HashIndex::find_by_digest(std::string_view digest) const
{
    if (digest.size() != digest_bytes || h_->cfs.size() <= cf_by_digest) {
        return std::nullopt; // not an XXH3-128 digest: nothing was stored under it
    }
    const rocksdb::Slice wanted(digest.data(), digest.size());
    if (digest_keys_with_seq_) {
        // A read-only look at an index not upgraded yet, or whose upgrade a
        // crash cut short: the digest's entries of either schema, the
        // smallest number they name.
        rocksdb::ReadOptions ro;
        ro.prefix_same_as_start = true;
        std::unique_ptr<rocksdb::Iterator> it(h_->db->NewIterator(ro, h_->cfs[cf_by_digest]));
        std::optional<std::uint64_t> earliest;
        for (it->Seek(wanted); it->Valid() && it->key().starts_with(wanted); it->Next()) {
            const auto k = it->key().ToStringView();
            const auto seq = k.size() == digest_bytes ? decode_be64(it->value().ToStringView())
                                                      : decode_be64(k.substr(digest_bytes));
            earliest = std::min(earliest.value_or(seq), seq);
        }
        check(it->status(), "looking up a digest");
        return earliest ? get(*earliest) : std::nullopt;
    }
    if (digests_ && !digests_->may_contain(digest)) {
        return std::nullopt; // the common case: bytes never indexed
    }
    rocksdb::PinnableSlice seq;
    const auto s = h_->db->Get(rocksdb::ReadOptions(), h_->cfs[cf_by_digest], wanted, &seq);
    if (s.IsNotFound()) {
        return std::nullopt;
    }
    check(s, "looking up a digest");
    return get(decode_be64(seq.ToStringView()));
}

// Rewrites the by_digest entries of an older schema (digest + be64(seq) ->
// "") as schema 3's (digest -> be64(seq)), in batches. The new schema tag
// comes first, synced, with a marker that the upgrade is under way: an older
// ndrd then refuses the index instead of recovering its write-ahead log up to
// the first merge, which it cannot read, and going on without the rest. An
// upgrade cut short by a crash runs again at the next open (the marker) and
// merges the same numbers again, which changes nothing. The marker goes in
// the last batch. About 4 s per million items, once.
void HashIndex::upgrade_digest_keys()
{
    auto* meta = h_->cfs[cf_meta];
    rocksdb::WriteOptions synced;
    synced.sync = true;
    rocksdb::WriteBatch start;
    check(start.Put(meta, "schema", schema_tag), "upgrading its schema tag");
    check(start.Put(meta, upgrade_marker, ""), "upgrading its schema tag");
    check(h_->db->Write(synced, &start), "upgrading its schema tag");
    auto* cf = h_->cfs[cf_by_digest];
    rocksdb::ReadOptions ro;
    ro.total_order_seek = true; // every entry, whatever its prefix
    ro.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it(h_->db->NewIterator(ro, cf));
    rocksdb::WriteBatch batch;
    constexpr std::uint32_t batch_entries = 20'000;
    std::uint64_t rewritten = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
        const auto k = it->key().ToStringView();
        if (k.size() != digest_bytes + 8) {
            continue;
        }
        check(batch.Merge(cf, k.substr(0, digest_bytes), k.substr(digest_bytes)), "upgrading the digest index");
        check(batch.Delete(cf, k), "upgrading the digest index");
        ++rewritten;
        if (batch.Count() >= batch_entries) {
            check(h_->db->Write(rocksdb::WriteOptions(), &batch), "upgrading the digest index");
            batch.Clear();
        }
    }
    check(it->status(), "reading the digest index to upgrade it");
    check(batch.Delete(meta, upgrade_marker), "upgrading the digest index");
    check(h_->db->Write(synced, &batch), "upgrading the digest index");
    digest_keys_with_seq_ = false;
    upgraded_digests_ = rewritten;
}

bool HashIndex::resume()
{
    return h_->db->Resume().ok();
}

void HashIndex::for_each(const std::function<bool(const ItemRecord&)>& fn) const
{
    std::unique_ptr<rocksdb::Iterator> it(h_->db->NewIterator(rocksdb::ReadOptions(), h_->cfs[cf_items]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
        const auto seq = decode_be64(it->key().ToStringView());
        if (!fn(ItemRecord::decode(seq, it->value().ToStringView()))) {
            break;
        }
    }
    check(it->status(), "scanning items");
}

std::vector<ItemRecord> HashIndex::scan(std::uint64_t first, std::size_t limit) const
{
    std::vector<ItemRecord> out;
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it(h_->db->NewIterator(ro, h_->cfs[cf_items]));
    for (it->Seek(encode_be64(first)); it->Valid() && out.size() < limit; it->Next()) {
        out.push_back(ItemRecord::decode(decode_be64(it->key().ToStringView()), it->value().ToStringView()));
    }
    check(it->status(), "scanning items from " + std::to_string(first));
    return out;
}

std::vector<ItemRecord> HashIndex::planned() const
{
    std::vector<ItemRecord> out;
    if (counts_.planned == 0) {
        return out;
    }
    for_each([&](const ItemRecord& r) {
        if (r.state == RouteState::planned) {
            out.push_back(r);
        }
        return true;
    });
    return out;
}

bool HashIndex::background_work_pending() const
{
    std::uint64_t v = 0;
    const auto positive = [&](rocksdb::ColumnFamilyHandle* cf, const std::string& property) {
        return h_->db->GetIntProperty(cf, property, &v) && v != 0;
    };
    auto* any = h_->cfs.front();
    if (positive(any, rocksdb::DB::Properties::kNumRunningCompactions) ||
        positive(any, rocksdb::DB::Properties::kNumRunningFlushes)) {
        return true;
    }
    return std::any_of(h_->cfs.begin(), h_->cfs.end(), [&](rocksdb::ColumnFamilyHandle* cf) {
        return positive(cf, rocksdb::DB::Properties::kEstimatePendingCompactionBytes) ||
               positive(cf, rocksdb::DB::Properties::kCompactionPending) ||
               positive(cf, rocksdb::DB::Properties::kMemTableFlushPending);
    });
}

// CompactRange flushes the memtables first, then rewrites each column
// family's tables; kForce rewrites the last level too, where nearly every
// record lives and where a record shrunk in place would otherwise keep its
// old version's space until a compaction happened to pick that file.
bool HashIndex::compact(std::atomic<bool>* cancel)
{
    if (h_->read_only) {
        throw IndexError("index " + dir_.string() + ": cannot compact an index opened read-only");
    }
    rocksdb::CompactRangeOptions opts;
    opts.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    opts.canceled = cancel;
    for (auto* cf : h_->cfs) {
        const auto s = h_->db->CompactRange(opts, cf, nullptr, nullptr);
        if (s.IsIncomplete() && cancel != nullptr && cancel->load()) {
            return false;
        }
        check(s, "compacting column family " + cf->GetName());
    }
    return true;
}

std::uint64_t HashIndex::disk_bytes() const
{
    std::uint64_t total = 0;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir_, ec)) {
        if (entry.is_regular_file(ec)) {
            total += entry.file_size(ec);
        }
    }
    return total;
}

// RocksDB's checkpoint: the live tables (hard links on the same file system),
// a copy of the manifest and of the write-ahead log, fsynced, then renamed
// into place, so that a half-made copy is never found at `dir`. No flush
// (log_size_for_flush at its maximum): the copy takes the unflushed writes
// from its copy of the log, replayed when it opens, and the index's directory
// is not written, as a flush on a full disk trips an assertion in Debian's
// RocksDB build (see open). Every write goes through the log, so nothing is
// missed.
void HashIndex::checkpoint(const fs::path& dir) const
{
    fs::path target = fs::absolute(dir).lexically_normal();
    if (!target.has_filename()) { // "/srv/copy/": its parent is /srv
        target = target.parent_path();
    }
    const std::string what = "making a checkpoint at " + target.string();
    std::error_code ec;
    if (fs::exists(fs::symlink_status(target, ec))) {
        throw IndexError("index " + dir_.string() + ": " + what + " failed: it already exists (a checkpoint is a " +
                         "new directory)");
    }
    const fs::path parent = target.parent_path();
    if (!fs::is_directory(parent, ec)) {
        throw IndexError("index " + dir_.string() + ": " + what + " failed: its parent " + parent.string() +
                         " is not a directory");
    }
    rocksdb::Checkpoint* raw = nullptr;
    check(rocksdb::Checkpoint::Create(h_->db.get(), &raw), what);
    const std::unique_ptr<rocksdb::Checkpoint> cp(raw);
    check(cp->CreateCheckpoint(target.string(), std::numeric_limits<std::uint64_t>::max()), what);
}

} // namespace ndrd::index
