// The kept references in memory -- each one's hash key and item number -- and
// an exact search for every reference whose key is within Hamming distance
// 0..3 of a new key (issue 8). A lookup learns here which item records to
// read, so it never seeks the on-disk key index: at a million references that
// seek was most of a lookup's time (issue 7).
//
// Layout: 2^p buckets indexed by the key's first p = min(hash_dim, 16) bits;
// each bucket is one byte vector holding one entry per reference: the rest of
// its key (the suffix, hash_dim - 16 bits), sorted by suffix then item number,
// and after all suffixes their item numbers. Why:
// - memory: a 32-bit key costs 2 suffix bytes + an 8-byte item number, ~13
//   bytes with growth slack (1M references: 13 MiB; 10M: 125 MiB), where an
//   unordered_multimap costs 60+;
// - insertion shifts one bucket (N / 65536 entries), never the whole set;
// - a search visits only the C(16, <= r) <= 697 buckets whose prefix is within
//   the radius, and in each either probes the C(suffix bits, <= r') suffixes
//   by binary search or scans the bucket, whichever is cheaper for its size.
//   Both are exact, so no key within the radius is missed. For 32-bit keys
//   the cost per bucket is bounded by the probes, not by N. For wide keys
//   (hash_dim 64..768) probing more than the exact suffix is hopeless, so
//   buckets are scanned: the linear fallback, still limited to the buckets
//   the radius can reach;
// - results come out sorted by (bucket, position in bucket), which is byte
//   order then item order, so ordering them is a sort of small integers;
// - the search reads only the suffixes; item numbers are read for hits;
// - most visits (120 of 137 at radius 2) leave no bits for the suffix: they
//   ask for one exact suffix, which a 256-bit summary per bucket (two bits
//   per suffix, a small bloom filter; 2 MiB in all) rules out without
//   touching the bucket: ~99% of such visits at 1M keys, ~50% at 10M. A
//   64-bit summary with one bit per suffix (512 KB) ruled out ~80% at 1M:
//   the search at radius 2 took 2.8 us there against 1.6 now, 19 against 13
//   at 10M (bench_key_search).
// The time goes to cache misses (one or two per visited bucket), which the
// search prefetches all at once; bench/key_search.cpp measures it.
// Not thread-safe for writers; const calls keep no scratch state, so any
// number of threads may call within() while nobody writes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "index/hash/key.hpp"

namespace ndrd::index {

class KeySet {
public:
    static constexpr int max_radius = 3;
    static constexpr int max_hash_dim = 768;

    // hash_dim in 1..768 (std::invalid_argument otherwise).
    explicit KeySet(int hash_dim);

    // A reference: a kept item's key and its item number (seq).
    struct Ref {
        Key key;
        std::uint64_t seq = 0;
        friend bool operator==(const Ref&, const Ref&) = default;
    };

    // Kept item `seq` holds this key. std::logic_error when it is already in
    // the set with this key: the caller's bookkeeping and the set disagree,
    // which must not pass silently.
    void add(const Key& key, std::uint64_t seq);
    // Kept item `seq` no longer holds this key; the key disappears with its
    // last item. std::logic_error when the pair is not in the set.
    void remove(const Key& key, std::uint64_t seq);

    // Kept items with exactly this key (0 when absent).
    [[nodiscard]] std::size_t count(const Key& key) const;
    // Number of different keys present, and of references.
    [[nodiscard]] std::size_t distinct() const { return distinct_; }
    [[nodiscard]] std::size_t size() const { return size_; }
    [[nodiscard]] int hash_dim() const { return hash_dim_; }

    // Every present key at Hamming distance <= radius from `key`, the key
    // itself included when present, ascending by bytes. radius in 0..3.
    [[nodiscard]] std::vector<Key> within(const Key& key, int radius) const;
    // Every reference whose key is within the radius: ascending by key bytes,
    // then by item number (the order decisions visit candidates in).
    [[nodiscard]] std::vector<Ref> refs_within(const Key& key, int radius) const;

    // Heap and object bytes held, by vector capacity (malloc's own overhead
    // is not counted). Walks all buckets: for status and benchmarks, not for
    // every lookup.
    [[nodiscard]] std::size_t memory_bytes() const;

    // Every add(key), remove(key), count(key) and within(key, ...) checks the
    // key first with this: std::invalid_argument when its length is not
    // ceil(hash_dim / 8) bytes or a pad bit is set.
    void check_key(const Key& key) const;

private:
    // One bucket: its n suffixes (suffix_bytes_ each, ascending by memcmp, a
    // suffix repeated for each item holding it), then the n item numbers
    // (uint64, native byte order, ascending within equal suffixes). One vector
    // per bucket keeps the 65536 bucket headers at 1.5 MB and a bucket's
    // suffixes contiguous for the scan.
    using Bucket = std::vector<unsigned char>;
    struct Run { // the entries [first, last) with one suffix; empty when absent
        std::size_t first;
        std::size_t last;
    };

    [[nodiscard]] std::uint32_t bucket_of(std::string_view bytes) const;
    [[nodiscard]] const unsigned char* suffix_of(const Key& key) const;
    [[nodiscard]] std::size_t entries(const Bucket& b) const { return b.size() / entry_bytes_; }
    [[nodiscard]] std::size_t seq_offset(const Bucket& b, std::size_t i) const;
    [[nodiscard]] std::uint64_t seq_at(const Bucket& b, std::size_t i) const;
    [[nodiscard]] Run find(const Bucket& b, const unsigned char* suffix) const;
    // The first entry of run r whose item number is not less than seq.
    [[nodiscard]] std::size_t seq_lower_bound(const Bucket& b, Run r, std::uint64_t seq) const;
    // Appends (bucket << 32 | index) of every entry of bucket `b` whose suffix
    // is within `budget` bits of `suffix`.
    void search_bucket(std::uint32_t b, const unsigned char* suffix, int budget,
                       std::vector<std::uint64_t>& hits) const;
    // Every hit of a radius search, sorted: (bucket << 32 | index).
    [[nodiscard]] std::vector<std::uint64_t> search(const Key& key, int radius) const;
    [[nodiscard]] Key key_at(std::uint32_t b, std::size_t index) const;
    // A bucket's summary: for each suffix present, two of 256 bits, picked
    // by a hash of the suffix (a small bloom filter). A search that needs one
    // exact suffix skips the bucket when either bit is clear.
    struct SummaryBits {
        unsigned first;
        unsigned second;
    };
    struct Summary {
        std::array<std::uint64_t, 4> words{};
        void add(SummaryBits s)
        {
            set(s.first);
            set(s.second);
        }
        [[nodiscard]] bool may_hold(SummaryBits s) const { return has(s.first) && has(s.second); }

    private:
        void set(unsigned bit) { words[bit / 64] |= std::uint64_t{1} << (bit % 64); }
        [[nodiscard]] bool has(unsigned bit) const { return ((words[bit / 64] >> (bit % 64)) & 1U) != 0; }
    };
    // The bits a suffix sets in its bucket's summary, and recomputing a
    // bucket's summary after a suffix left it.
    [[nodiscard]] SummaryBits summary_bits(const unsigned char* suffix) const;
    void summarise(std::uint32_t b);

    int hash_dim_;
    int prefix_bits_;          // bits that pick the bucket: min(hash_dim, 16)
    int suffix_bits_;          // hash_dim - prefix_bits_
    std::size_t key_bytes_;    // ceil(hash_dim / 8)
    std::size_t suffix_bytes_; // key_bytes_ - 2 when hash_dim > 16, else 0
    std::size_t entry_bytes_;  // suffix_bytes_ + the item number
    // C(suffix_bits_, <= k) for k = 0..3: the probes one bucket search needs.
    std::array<std::uint64_t, max_radius + 1> suffix_probes_{};
    std::vector<Bucket> buckets_;
    // Per bucket, its summary: 32 bytes a bucket, 2 MiB in all.
    std::vector<Summary> summaries_;
    std::size_t distinct_ = 0;
    std::size_t size_ = 0;
};

} // namespace ndrd::index
