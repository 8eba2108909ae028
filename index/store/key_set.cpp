// Kept hash keys with exact Hamming-radius search (see key_set.hpp).
#include "index/store/key_set.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace ndrd::index {

namespace {

constexpr int bucket_bits = 16;
constexpr std::size_t max_suffix_bytes = (KeySet::max_hash_dim + 7) / 8 - bucket_bits / 8;

// One binary-search step (a load that depends on the previous compare) costs
// about this many scan steps (independent loads, an xor and a bit count);
// tuned with bench_key_search on 32-bit keys, where both strategies occur
// (1..8 were within noise of each other at 1M and 10M keys).
constexpr std::uint64_t probe_step_cost = 2;

// The build targets baseline x86-64, where std::popcount is a libgcc call;
// the scan below does one per entry, so count bits inline unless POPCNT is
// available.
int popcount64(std::uint64_t x)
{
#if defined(__POPCNT__)
    return std::popcount(x);
#else
    x -= (x >> 1U) & 0x5555555555555555ULL;
    x = (x & 0x3333333333333333ULL) + ((x >> 2U) & 0x3333333333333333ULL);
    x = (x + (x >> 4U)) & 0x0F0F0F0F0F0F0F0FULL;
    return static_cast<int>((x * 0x0101010101010101ULL) >> 56U);
#endif
}

// True when the n bytes at a and b differ in at most `budget` bits. Stops at
// the first 8-byte word that exceeds the budget: wide keys rarely get far.
bool differ_in_at_most(const unsigned char* a, const unsigned char* b, std::size_t n, int budget)
{
    int d = 0;
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        std::uint64_t x = 0;
        std::uint64_t y = 0;
        std::memcpy(&x, a + i, 8);
        std::memcpy(&y, b + i, 8);
        d += popcount64(x ^ y);
        if (d > budget) return false;
    }
    std::uint64_t tail = 0;
    for (; i < n; ++i) {
        tail = tail << 8U | static_cast<unsigned>(a[i] ^ b[i]);
    }
    return d + popcount64(tail) <= budget;
}

// A bucket's suffixes as a sorted array of entries of width() bytes. For
// 32-bit keys (the default hash_dim) the width is the compile-time W = 2, so
// compares and bit counts inline to a few instructions; W = 0 takes the width
// at run time, for every other hash_dim.
template <std::size_t W> class Suffixes {
public:
    Suffixes(const unsigned char* data, std::size_t n, std::size_t width) : data_(data), n_(n), width_(width) {}

    [[nodiscard]] std::size_t width() const { return W != 0 ? W : width_; }
    [[nodiscard]] const unsigned char* at(std::size_t i) const { return data_ + i * width(); }
    [[nodiscard]] int compare(std::size_t i, const unsigned char* s) const
    {
        const unsigned char* e = at(i);
        if constexpr (W == 2) {
            return (e[0] << 8U | e[1]) - (s[0] << 8U | s[1]);
        } else {
            return std::memcmp(e, s, width());
        }
    }
    // The first entry not less than s. Halving without a branch: the outcome
    // of each compare is a coin flip, and a mispredict costs more than a step.
    [[nodiscard]] std::size_t lower_bound(const unsigned char* s) const
    {
        return partition_point([&](std::size_t i) { return compare(i, s) < 0; });
    }
    // The first entry greater than s.
    [[nodiscard]] std::size_t upper_bound(const unsigned char* s) const
    {
        return partition_point([&](std::size_t i) { return compare(i, s) <= 0; });
    }
    [[nodiscard]] bool contains_at(std::size_t i, const unsigned char* s) const { return i < n_ && compare(i, s) == 0; }
    // hit(i) for every entry within `budget` bits of s, ascending.
    template <class Hit> void scan(const unsigned char* s, int budget, Hit&& hit) const
    {
        if constexpr (W == 2) { // the hot loop for 32-bit keys: one load, xor and count per entry
            const unsigned q = s[0] << 8U | s[1];
            for (std::size_t i = 0; i < n_; ++i) {
                const unsigned char* e = at(i);
                if (popcount64((e[0] << 8U | e[1]) ^ q) <= budget) hit(i);
            }
        } else {
            for (std::size_t i = 0; i < n_; ++i) {
                if (differ_in_at_most(at(i), s, width(), budget)) hit(i);
            }
        }
    }

private:
    template <class Before> [[nodiscard]] std::size_t partition_point(Before before) const
    {
        if (n_ == 0) return 0;
        std::size_t base = 0;
        for (std::size_t len = n_; len > 1; len -= len / 2) {
            base = before(base + len / 2) ? base + len / 2 : base;
        }
        return before(base) ? base + 1 : base;
    }

    const unsigned char* data_;
    std::size_t n_;
    std::size_t width_;
};

// f(std::integral_constant<std::size_t, W>) with W = 2 for 2-byte suffixes
// (32-bit keys), W = 0 (run-time width) otherwise.
template <class F> decltype(auto) with_width(std::size_t width, F&& f)
{
    if (width == 2) return f(std::integral_constant<std::size_t, 2>{});
    return f(std::integral_constant<std::size_t, 0>{});
}

// Calls f(positions) for every set of 0..max_flips distinct bit positions in
// [0, bits), each set once, positions ascending. max_flips <= 3.
template <class F> void for_each_flip_set(int bits, int max_flips, F&& f)
{
    std::array<int, 3> p{};
    const auto first = [&p](std::size_t n) {
        return std::span<const int>(p.data(), n);
    };
    f(first(0));
    for (p[0] = 0; max_flips >= 1 && p[0] < bits; ++p[0]) {
        f(first(1));
        for (p[1] = p[0] + 1; max_flips >= 2 && p[1] < bits; ++p[1]) {
            f(first(2));
            for (p[2] = p[1] + 1; max_flips >= 3 && p[2] < bits; ++p[2]) {
                f(first(3));
            }
        }
    }
}

// C(n, 0) + ... + C(n, k): the keys within distance k of one n-bit key.
constexpr std::uint64_t ball_size(int n, int k)
{
    std::uint64_t total = 0;
    std::uint64_t c = 1; // C(n, i)
    for (int i = 0; i <= k && i <= n; ++i) {
        total += c;
        c = c * static_cast<std::uint64_t>(n - i) / static_cast<std::uint64_t>(i + 1);
    }
    return total;
}

// The most buckets one search visits: C(16, <= 3) = 697.
constexpr std::size_t max_visits = ball_size(bucket_bits, KeySet::max_radius);
struct Visit {
    std::uint32_t bucket;
    int budget; // suffix bits that may still differ
};
// How many leading bytes of a bucket's suffixes a search prefetches: 32-bit
// keys at 10M keys fill ~300 bytes per bucket.
constexpr std::size_t prefetch_bytes = 512;

void prefetch(const void* p)
{
#if defined(__GNUC__)
    __builtin_prefetch(p);
#else
    (void)p;
#endif
}

} // namespace

KeySet::SummaryBits KeySet::summary_bits(const unsigned char* suffix) const
{
    // A multiplicative hash of the suffix's first (up to) 8 bytes: its top
    // two bytes are the two bits.
    std::uint64_t v = 0;
    std::memcpy(&v, suffix, std::min<std::size_t>(suffix_bytes_, sizeof v));
    const std::uint64_t h = v * 0x9E3779B97F4A7C15ULL;
    return {static_cast<unsigned>(h >> 56U), static_cast<unsigned>((h >> 48U) & 0xFFU)};
}

void KeySet::summarise(std::uint32_t b)
{
    Summary summary;
    const Bucket& bucket = buckets_[b];
    for (std::size_t i = 0; i < entries(bucket); ++i) {
        summary.add(summary_bits(bucket.data() + i * suffix_bytes_));
    }
    summaries_[b] = summary;
}

KeySet::KeySet(int hash_dim) : hash_dim_(hash_dim)
{
    if (hash_dim < 1 || hash_dim > max_hash_dim) {
        throw std::invalid_argument("KeySet: hash_dim " + std::to_string(hash_dim) + " is outside 1.." +
                                    std::to_string(max_hash_dim));
    }
    prefix_bits_ = std::min(hash_dim, bucket_bits);
    suffix_bits_ = hash_dim - prefix_bits_;
    key_bytes_ = static_cast<std::size_t>((hash_dim + 7) / 8);
    suffix_bytes_ = suffix_bits_ > 0 ? key_bytes_ - bucket_bits / 8 : 0;
    entry_bytes_ = suffix_bytes_ + sizeof(std::uint64_t);
    for (int k = 0; k <= max_radius; ++k) {
        suffix_probes_[static_cast<std::size_t>(k)] = ball_size(suffix_bits_, k);
    }
    buckets_.resize(std::size_t{1} << static_cast<unsigned>(prefix_bits_));
    summaries_.resize(buckets_.size());
}

void KeySet::check_key(const Key& key) const
{
    if (key.bytes.size() != key_bytes_) {
        throw std::invalid_argument("KeySet: key has " + std::to_string(key.bytes.size()) + " bytes, hash_dim " +
                                    std::to_string(hash_dim_) + " needs " + std::to_string(key_bytes_));
    }
    const unsigned used_in_last = static_cast<unsigned>(hash_dim_) % 8U;
    if (used_in_last != 0 && (static_cast<unsigned char>(key.bytes.back()) & (0xFFU >> used_in_last)) != 0) {
        throw std::invalid_argument("KeySet: key " + key.hex() + " has a pad bit set (hash_dim " +
                                    std::to_string(hash_dim_) + ")");
    }
}

std::uint32_t KeySet::bucket_of(std::string_view bytes) const
{
    const unsigned hi = static_cast<unsigned char>(bytes[0]);
    const unsigned lo = key_bytes_ >= 2 ? static_cast<unsigned char>(bytes[1]) : 0U;
    return (hi << 8U | lo) >> static_cast<unsigned>(bucket_bits - prefix_bits_);
}

const unsigned char* KeySet::suffix_of(const Key& key) const
{
    return reinterpret_cast<const unsigned char*>(key.bytes.data()) + (key_bytes_ - suffix_bytes_);
}

std::size_t KeySet::seq_offset(const Bucket& b, std::size_t i) const
{
    return entries(b) * suffix_bytes_ + i * sizeof(std::uint64_t);
}

std::uint64_t KeySet::seq_at(const Bucket& b, std::size_t i) const
{
    std::uint64_t seq = 0;
    std::memcpy(&seq, b.data() + seq_offset(b, i), sizeof seq);
    return seq;
}

KeySet::Run KeySet::find(const Bucket& b, const unsigned char* suffix) const
{
    return with_width(suffix_bytes_, [&](auto w) {
        const Suffixes<decltype(w)::value> sorted(b.data(), entries(b), suffix_bytes_);
        const std::size_t first = sorted.lower_bound(suffix);
        std::size_t last = first;
        if (sorted.contains_at(last, suffix)) ++last; // most keys: no item or one
        if (sorted.contains_at(last, suffix)) {
            // A key many items share (all-black frames share the all-zero
            // key): search its end rather than walk a run of thousands.
            last = sorted.upper_bound(suffix);
        }
        return Run{first, last};
    });
}

std::size_t KeySet::seq_lower_bound(const Bucket& b, Run r, std::uint64_t seq) const
{
    while (r.first < r.last) { // a run is one key's items: short but for degenerate keys
        const std::size_t mid = r.first + (r.last - r.first) / 2;
        if (seq_at(b, mid) < seq) {
            r.first = mid + 1;
        } else {
            r.last = mid;
        }
    }
    return r.first;
}

void KeySet::add(const Key& key, std::uint64_t seq)
{
    check_key(key);
    const std::uint32_t bucket = bucket_of(key.bytes);
    Bucket& b = buckets_[bucket];
    const unsigned char* suffix = suffix_of(key);
    const Run run = find(b, suffix);
    const std::size_t at = seq_lower_bound(b, run, seq);
    if (at < run.last && seq_at(b, at) == seq) {
        throw std::logic_error("KeySet::add: item " + std::to_string(seq) + " is already in the set with key " +
                               key.hex());
    }
    // Grow by half, not to the exact size, so inserts stay amortised O(bucket);
    // reserving first is the only step that can throw, so a failed add leaves
    // the bucket as it was.
    if (b.capacity() < b.size() + entry_bytes_) {
        b.reserve(std::max(b.size() + entry_bytes_, b.capacity() + b.capacity() / 2));
    }
    const std::size_t seq_at_offset = seq_offset(b, at) + suffix_bytes_; // after the new suffix
    b.insert(b.begin() + static_cast<std::ptrdiff_t>(at * suffix_bytes_), suffix, suffix + suffix_bytes_);
    const auto bytes = std::bit_cast<std::array<unsigned char, sizeof(std::uint64_t)>>(seq);
    b.insert(b.begin() + static_cast<std::ptrdiff_t>(seq_at_offset), bytes.begin(), bytes.end());
    if (run.first == run.last) {
        ++distinct_;
        summaries_[bucket].add(summary_bits(suffix));
    }
    ++size_;
}

void KeySet::remove(const Key& key, std::uint64_t seq)
{
    check_key(key);
    const std::uint32_t bucket = bucket_of(key.bytes);
    Bucket& b = buckets_[bucket];
    const Run run = find(b, suffix_of(key));
    const std::size_t at = seq_lower_bound(b, run, seq);
    if (at == run.last || seq_at(b, at) != seq) {
        throw std::logic_error("KeySet::remove: item " + std::to_string(seq) + " with key " + key.hex() +
                               " is not in the set");
    }
    const auto erase = [&b](std::size_t from, std::size_t bytes) {
        const auto first = b.begin() + static_cast<std::ptrdiff_t>(from);
        b.erase(first, first + static_cast<std::ptrdiff_t>(bytes));
    };
    erase(seq_offset(b, at), sizeof(std::uint64_t)); // the item number first: it sits behind every suffix
    erase(at * suffix_bytes_, suffix_bytes_);
    if (b.empty()) {
        b = Bucket{}; // give the capacity back
    }
    if (run.last - run.first == 1) {
        --distinct_;
        summarise(bucket); // another suffix may share the bit
    }
    --size_;
}

std::size_t KeySet::count(const Key& key) const
{
    check_key(key);
    const Bucket& b = buckets_[bucket_of(key.bytes)];
    const Run run = find(b, suffix_of(key));
    return run.last - run.first;
}

void KeySet::search_bucket(std::uint32_t b, const unsigned char* suffix, int budget,
                           std::vector<std::uint64_t>& hits) const
{
    const Bucket& bucket = buckets_[b];
    const std::size_t n = entries(bucket);
    const auto hit = [&](std::size_t i) {
        hits.push_back(std::uint64_t{b} << 32U | i);
    };
    const std::uint64_t probes = suffix_probes_[static_cast<std::size_t>(budget)];
    const bool probe = probes * (static_cast<std::uint64_t>(std::bit_width(n)) + 1) * probe_step_cost < n;
    with_width(suffix_bytes_, [&](auto w) {
        const Suffixes<decltype(w)::value> sorted(bucket.data(), n, suffix_bytes_);
        if (!probe) {
            sorted.scan(suffix, budget, hit);
            return;
        }
        std::array<unsigned char, max_suffix_bytes> key{};
        std::copy_n(suffix, suffix_bytes_, key.begin());
        const auto flip = [&key](std::span<const int> positions) {
            for (const int p : positions) {
                key[static_cast<std::size_t>(p / 8)] ^=
                    static_cast<unsigned char>(0x80U >> static_cast<unsigned>(p % 8));
            }
        };
        for_each_flip_set(suffix_bits_, budget, [&](std::span<const int> positions) {
            flip(positions);
            for (std::size_t i = sorted.lower_bound(key.data()); sorted.contains_at(i, key.data()); ++i) {
                hit(i); // each item holding the key
            }
            flip(positions); // back to the query's suffix
        });
    });
}

Key KeySet::key_at(std::uint32_t b, std::size_t index) const
{
    Key key;
    key.bytes.resize(key_bytes_);
    const unsigned top = b << static_cast<unsigned>(bucket_bits - prefix_bits_);
    key.bytes[0] = static_cast<char>(top >> 8U);
    if (key_bytes_ >= 2) {
        key.bytes[1] = static_cast<char>(top & 0xFFU);
    }
    std::copy_n(buckets_[b].data() + index * suffix_bytes_, suffix_bytes_,
                key.bytes.begin() + static_cast<std::ptrdiff_t>(key_bytes_ - suffix_bytes_));
    return key;
}

std::vector<std::uint64_t> KeySet::search(const Key& key, int radius) const
{
    check_key(key);
    if (radius < 0 || radius > max_radius) {
        throw std::invalid_argument("KeySet::within: radius " + std::to_string(radius) + " is outside 0.." +
                                    std::to_string(max_radius));
    }
    const std::uint32_t home = bucket_of(key.bytes);
    const unsigned char* suffix = suffix_of(key);
    // Every bucket whose prefix is within the radius, each exactly once, with
    // the bits left for its suffix.
    std::array<Visit, max_visits> visits; // no zero fill: only the first n_visits are read
    std::size_t n_visits = 0;
    for_each_flip_set(prefix_bits_, radius, [&](std::span<const int> flips) {
        std::uint32_t b = home;
        for (const int p : flips) {
            b ^= 1U << static_cast<unsigned>(prefix_bits_ - 1 - p);
        }
        visits[n_visits++] = {b, radius - static_cast<int>(flips.size())};
    });
    // A visit with no bits left for the suffix asks for one exact suffix,
    // and the bucket's summary can rule it out without touching the bucket:
    // at a million keys it does for ~99% of the visits at radius 2 (120 of
    // its 137), each a cache miss saved.
    if (suffix_bytes_ > 0) {
        const SummaryBits bits = summary_bits(suffix);
        std::size_t kept = 0;
        for (std::size_t i = 0; i < n_visits; ++i) {
            if (visits[i].budget > 0 || summaries_[visits[i].bucket].may_hold(bits)) {
                visits[kept++] = visits[i];
            }
        }
        n_visits = kept;
    }
    // With millions of keys each remaining visit costs two cache misses (the
    // bucket, then its suffixes) and little work, so time goes to memory
    // latency. Prefetching every bucket, then every bucket's suffixes, before
    // the first search lets all of those misses overlap.
    for (std::size_t i = 0; i < n_visits; ++i) {
        prefetch(&buckets_[visits[i].bucket]);
    }
    for (std::size_t i = 0; i < n_visits; ++i) {
        const Bucket& b = buckets_[visits[i].bucket];
        const std::size_t suffix_bytes = std::min(entries(b) * suffix_bytes_, prefetch_bytes);
        for (std::size_t line = 0; line < suffix_bytes; line += 64) {
            prefetch(b.data() + line);
        }
    }
    std::vector<std::uint64_t> hits;
    for (std::size_t i = 0; i < n_visits; ++i) {
        if (!buckets_[visits[i].bucket].empty()) {
            search_bucket(visits[i].bucket, suffix, visits[i].budget, hits);
        }
    }
    // The bucket is the key's leading bits and a bucket is sorted by suffix
    // then item, so (bucket, index) order is byte order, then item order.
    std::sort(hits.begin(), hits.end());
    return hits;
}

std::vector<Key> KeySet::within(const Key& key, int radius) const
{
    std::vector<Key> out;
    for (const std::uint64_t h : search(key, radius)) {
        Key k = key_at(static_cast<std::uint32_t>(h >> 32U), static_cast<std::size_t>(h & 0xFFFFFFFFU));
        if (out.empty() || out.back() != k) { // one per key, not per item
            out.push_back(std::move(k));
        }
    }
    return out;
}

std::vector<KeySet::Ref> KeySet::refs_within(const Key& key, int radius) const
{
    const auto hits = search(key, radius);
    std::vector<Ref> out;
    out.reserve(hits.size());
    for (const std::uint64_t h : hits) {
        const auto b = static_cast<std::uint32_t>(h >> 32U);
        const auto i = static_cast<std::size_t>(h & 0xFFFFFFFFU);
        out.push_back({key_at(b, i), seq_at(buckets_[b], i)});
    }
    return out;
}

std::size_t KeySet::memory_bytes() const
{
    std::size_t total = sizeof(*this) + buckets_.capacity() * sizeof(Bucket) + summaries_.capacity() * sizeof(Summary);
    for (const Bucket& b : buckets_) {
        total += b.capacity();
    }
    return total;
}

} // namespace ndrd::index
