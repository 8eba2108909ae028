// The in-memory key set: radius search (keys and references) equals a
// brute-force scan for every width and radius, both search strategies (bucket
// scan and probing), order, several items per key, and refused inputs.
#define BOOST_TEST_MODULE key_set
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "index/hash/split_mix64.hpp"
#include "index/store/key_set.hpp"

using ndrd::index::Key;
using ndrd::index::KeySet;

namespace {

using ndrd::index::SplitMix64; // fixed and fully specified: every run tests the same keys

std::size_t bytes_for(int hash_dim)
{
    return static_cast<std::size_t>((hash_dim + 7) / 8);
}

Key random_key(SplitMix64& rng, int hash_dim)
{
    Key k;
    k.bytes.resize(bytes_for(hash_dim));
    for (char& c : k.bytes) {
        c = static_cast<char>(rng.next());
    }
    if (hash_dim % 8 != 0) { // pad bits zero
        k.bytes.back() = static_cast<char>(static_cast<unsigned char>(k.bytes.back()) &
                                           (0xFFU << static_cast<unsigned>(8 - hash_dim % 8)));
    }
    return k;
}

Key key32(std::uint32_t v)
{
    return Key{
        {static_cast<char>(v >> 24U), static_cast<char>(v >> 16U), static_cast<char>(v >> 8U), static_cast<char>(v)}};
}

void flip_bit(Key& k, int bit)
{
    auto& byte = k.bytes[static_cast<std::size_t>(bit / 8)];
    byte = static_cast<char>(static_cast<unsigned char>(byte) ^ (0x80U >> static_cast<unsigned>(bit % 8)));
}

// `from` with exactly d distinct bits flipped (d <= hash_dim).
Key at_distance(const Key& from, int d, int hash_dim, SplitMix64& rng)
{
    Key k = from;
    std::vector<int> bits;
    while (std::cmp_less(bits.size(), d)) {
        const int b = static_cast<int>(rng.below(static_cast<std::size_t>(hash_dim)));
        if (std::find(bits.begin(), bits.end(), b) == bits.end()) {
            bits.push_back(b);
            flip_bit(k, b);
        }
    }
    return k;
}

int distance(std::string_view a, std::string_view b)
{
    int d = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        d += std::popcount(static_cast<unsigned>(static_cast<unsigned char>(a[i] ^ b[i])));
    }
    return d;
}

int distance(const Key& a, const Key& b)
{
    return distance(a.bytes, b.bytes);
}

using Present = std::map<std::string, std::set<std::uint64_t>>; // key bytes -> items holding it

// The reference: for each radius 0..3, every present key within it,
// ascending (std::map is ordered by std::string, i.e. by unsigned bytes), and
// every reference (key, item) in key then item order.
struct BruteForce {
    std::array<std::vector<Key>, KeySet::max_radius + 1> keys;
    std::array<std::vector<KeySet::Ref>, KeySet::max_radius + 1> refs;
};

BruteForce brute_force(const Present& present, const Key& q)
{
    BruteForce out;
    for (const auto& [bytes, seqs] : present) {
        const int d = seqs.empty() ? KeySet::max_radius + 1 : distance(bytes, q.bytes);
        for (int r = d; r <= KeySet::max_radius; ++r) {
            const auto ri = static_cast<std::size_t>(r);
            out.keys[ri].push_back(Key{bytes});
            for (const std::uint64_t seq : seqs) {
                out.refs[ri].push_back({Key{bytes}, seq});
            }
        }
    }
    return out;
}

// Queries of every kind: present keys, random keys, and keys at exact
// distance 1, 2 and 3 from a present one.
std::vector<Key> make_queries(const std::vector<Key>& added, int hash_dim, std::size_t per_kind, SplitMix64& rng)
{
    std::vector<Key> q;
    for (std::size_t i = 0; i < per_kind; ++i) {
        const Key& base = added[rng.below(added.size())];
        q.push_back(base);
        q.push_back(random_key(rng, hash_dim));
        for (int d = 1; d <= 3 && d <= hash_dim; ++d) {
            q.push_back(at_distance(base, d, hash_dim, rng));
        }
    }
    return q;
}

// Adds every key as item i + 1, removes some again (a key added twice keeps
// its other item), and compares within() and refs_within() with brute force
// for radius 0..3 on every query. Returns the number of references seen, so
// callers can check the test is not vacuous.
std::size_t check_against_brute_force(int hash_dim, const std::vector<Key>& added, const std::vector<Key>& queries)
{
    KeySet set(hash_dim);
    Present present;
    for (std::size_t i = 0; i < added.size(); ++i) {
        set.add(added[i], i + 1);
        present[added[i].bytes].insert(i + 1);
    }
    for (std::size_t i = 0; i < added.size(); i += 7) {
        set.remove(added[i], i + 1);
        present[added[i].bytes].erase(i + 1);
    }
    const auto n_present =
        std::count_if(present.begin(), present.end(), [](const auto& e) { return !e.second.empty(); });
    BOOST_TEST(set.distinct() == static_cast<std::size_t>(n_present));
    BOOST_TEST(set.size() == added.size() - (added.size() + 6) / 7);

    std::size_t hits = 0;
    for (const Key& q : queries) {
        const auto reference = brute_force(present, q);
        for (int r = 0; r <= KeySet::max_radius; ++r) {
            const auto ri = static_cast<std::size_t>(r);
            const auto got = set.within(q, r);
            BOOST_TEST_REQUIRE((got == reference.keys[ri]), "hash_dim " << hash_dim << " query " << q.hex()
                                                                        << " radius " << r << ": " << got.size()
                                                                        << " keys, want " << reference.keys[ri].size());
            const auto refs = set.refs_within(q, r);
            BOOST_TEST_REQUIRE((refs == reference.refs[ri]),
                               "hash_dim " << hash_dim << " query " << q.hex() << " radius " << r << ": " << refs.size()
                                           << " refs, want " << reference.refs[ri].size());
            hits += refs.size();
        }
    }
    return hits;
}

// Brute force for 32-bit keys over plain integers: the 100k-key tests would
// be slow in a Debug build through the generic map above. Key i is item i + 1;
// every 11th key is held by a second item too, numbered below it (items
// arrive in any order when a rebalance rewrites them).
void check_32_bit_keys(const std::vector<std::uint32_t>& keys, std::size_t n_queries, std::uint64_t seed)
{
    KeySet set(32);
    std::vector<std::pair<std::uint32_t, std::uint64_t>> pairs; // (key, item), sorted below
    for (std::size_t i = 0; i < keys.size(); ++i) {
        pairs.emplace_back(keys[i], (i + 1) * 2);
        if (i % 11 == 0) {
            pairs.emplace_back(keys[i], (i + 1) * 2 - 1);
        }
    }
    for (const auto& [k, seq] : pairs) {
        set.add(key32(k), seq);
    }
    std::sort(pairs.begin(), pairs.end());
    std::vector<std::uint32_t> sorted = keys;
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    BOOST_TEST(set.distinct() == sorted.size());
    BOOST_TEST(set.size() == pairs.size());

    SplitMix64 rng(seed);
    std::vector<std::uint32_t> queries;
    for (std::size_t i = 0; queries.size() < n_queries; ++i) {
        const std::uint32_t base = keys[rng.below(keys.size())];
        const auto kind = static_cast<int>(i % 5);
        if (kind == 0) {
            queries.push_back(base);
        } else if (kind == 1) {
            queries.push_back(static_cast<std::uint32_t>(rng.next()));
        } else { // exact distance 1, 2 or 3 from a present key
            std::uint32_t flips = 0;
            while (std::popcount(flips) < kind - 1) {
                flips |= 1U << rng.below(32);
            }
            queries.push_back(base ^ flips);
        }
    }
    std::size_t hits_at_3 = 0;
    for (const std::uint32_t q : queries) {
        std::vector<int> dist(sorted.size());
        std::transform(sorted.begin(), sorted.end(), dist.begin(),
                       [q](std::uint32_t k) { return std::popcount(k ^ q); });
        for (int r = 0; r <= KeySet::max_radius; ++r) {
            std::vector<Key> want;
            for (std::size_t i = 0; i < sorted.size(); ++i) {
                if (dist[i] <= r) want.push_back(key32(sorted[i])); // ascending integers = ascending bytes
            }
            const auto got = set.within(key32(q), r);
            BOOST_TEST_REQUIRE((got == want), "query " << key32(q).hex() << " radius " << r << ": " << got.size()
                                                       << " keys, want " << want.size());
            if (r == 3) hits_at_3 += got.size();
        }
        // The references at the daemon's default radius, every item of each key.
        std::vector<KeySet::Ref> want_refs;
        for (const auto& [k, seq] : pairs) {
            if (std::popcount(k ^ q) <= 2) want_refs.push_back({key32(k), seq});
        }
        const auto refs = set.refs_within(key32(q), 2);
        BOOST_TEST_REQUIRE((refs == want_refs),
                           "query " << key32(q).hex() << ": " << refs.size() << " refs, want " << want_refs.size());
    }
    BOOST_TEST(hits_at_3 >= n_queries * 4 / 5); // every constructed query has its base in range
}

bool message_mentions(const std::exception& e, const std::string& word)
{
    return std::string(e.what()).find(word) != std::string::npos;
}

} // namespace

BOOST_AUTO_TEST_SUITE(key_set)

BOOST_AUTO_TEST_CASE(radius_search_equals_brute_force_on_100k_random_keys)
{
    // Uniform keys: ~1.5 keys per bucket, so every bucket is scanned.
    SplitMix64 rng(1);
    std::vector<std::uint32_t> keys(100'000);
    for (auto& k : keys) {
        k = static_cast<std::uint32_t>(rng.next());
    }
    // A fifth of them near an earlier key, as near-duplicates that were kept
    // anyway would be, so the radius finds neighbours and not only the base.
    for (std::size_t i = 1; i < keys.size(); i += 5) {
        keys[i] = keys[rng.below(i)] ^ (1U << rng.below(32)) ^ (1U << rng.below(32));
    }
    check_32_bit_keys(keys, 200, 2);
}

BOOST_AUTO_TEST_CASE(radius_search_equals_brute_force_when_buckets_are_dense_enough_to_probe)
{
    // Bucket 0000 holds all but every 97th suffix (~65k keys): there probing
    // the suffixes is cheaper than scanning for every budget 0..3. Buckets
    // 5c11 and ffff hold ~20k random keys each (probed for budgets 0..2,
    // scanned for 3); the 10% in their one-bit neighbours are few per bucket
    // and scanned. Both strategies must give the brute-force answer.
    std::vector<std::uint32_t> keys;
    for (std::uint32_t s = 0; s <= 0xFFFFU; ++s) {
        if (s % 97 != 0) keys.push_back(s);
    }
    SplitMix64 rng(3);
    const std::uint32_t prefixes[] = {0x5c11, 0xffff};
    for (std::size_t i = 0; i < 44'000; ++i) {
        std::uint32_t prefix = prefixes[i % 2];
        if (i % 10 == 0) prefix ^= 1U << rng.below(16); // a neighbouring bucket
        keys.push_back(prefix << 16U | static_cast<std::uint32_t>(rng.next() & 0xFFFFU));
    }
    check_32_bit_keys(keys, 200, 4);
}

BOOST_AUTO_TEST_CASE(key_at_distance_d_is_found_at_radius_d_and_not_below)
{
    // Flips in the bucket prefix, in the suffix, and across both.
    const std::vector<std::vector<int>> flip_sets = {{},      {0},         {31},      {15, 16},
                                                     {3, 20}, {0, 17, 31}, {1, 2, 3}, {29, 30, 31}};
    for (const int hash_dim : {32, 12, 64, 768}) {
        SplitMix64 rng(static_cast<std::uint64_t>(hash_dim));
        const Key kept = random_key(rng, hash_dim);
        KeySet set(hash_dim);
        set.add(kept, 1);
        for (std::uint64_t i = 2; i < 52; ++i) { // unrelated keys around it
            set.add(random_key(rng, hash_dim), i);
        }
        for (const auto& flips : flip_sets) {
            Key q = kept;
            for (const int b : flips) {
                flip_bit(q, b % hash_dim);
            }
            const int d = distance(q, kept);
            const auto has_kept = [&](int r) {
                const auto got = set.within(q, r);
                return std::find(got.begin(), got.end(), kept) != got.end();
            };
            BOOST_TEST(has_kept(d), "hash_dim " << hash_dim << " distance " << d);
            if (d > 0) BOOST_TEST(!has_kept(d - 1), "hash_dim " << hash_dim << " distance " << d);
        }
    }
}

BOOST_AUTO_TEST_CASE(a_key_stays_findable_until_its_last_item_is_removed)
{
    KeySet set(32);
    const Key k = key32(0x5c1172d0);
    const Key neighbour = key32(0x5c1172d1);
    set.add(k, 9);
    set.add(k, 4); // a lower item number after a higher one: still in item order
    set.add(neighbour, 1);
    BOOST_TEST(set.count(k) == 2U);
    BOOST_TEST(set.distinct() == 2U);
    BOOST_TEST(set.size() == 3U);
    BOOST_TEST((set.within(k, 0) == std::vector<Key>{k}));
    BOOST_TEST((set.refs_within(k, 1) == std::vector<KeySet::Ref>{{k, 4}, {k, 9}, {neighbour, 1}}));

    set.remove(k, 9);
    BOOST_TEST(set.count(k) == 1U);
    BOOST_TEST((set.within(k, 1) == std::vector<Key>{k, neighbour}));
    BOOST_TEST((set.refs_within(k, 0) == std::vector<KeySet::Ref>{{k, 4}}));

    set.remove(k, 4);
    BOOST_TEST(set.count(k) == 0U);
    BOOST_TEST(set.distinct() == 1U);
    BOOST_TEST(set.within(k, 0).empty());
    BOOST_TEST(set.refs_within(k, 0).empty());
    BOOST_TEST((set.within(k, 1) == std::vector<Key>{neighbour}));

    BOOST_CHECK_EXCEPTION(set.remove(k, 4), std::logic_error,
                          [](const std::logic_error& e) { return message_mentions(e, "5c1172d0"); });
    BOOST_CHECK_EXCEPTION(set.remove(neighbour, 2), std::logic_error,
                          [](const std::logic_error& e) { return message_mentions(e, "item 2"); });
    BOOST_CHECK_EXCEPTION(set.add(neighbour, 1), std::logic_error,
                          [](const std::logic_error& e) { return message_mentions(e, "already"); });
    BOOST_TEST(set.size() == 1U); // the refused calls changed nothing
    set.remove(neighbour, 1);
    BOOST_TEST(set.distinct() == 0U);
    BOOST_TEST(set.size() == 0U);
    BOOST_TEST(set.within(neighbour, 3).empty());
}

BOOST_AUTO_TEST_CASE(a_key_thousands_of_items_share_keeps_exact_counts_beside_its_neighbours)
{
    // All-black frames share one key; its run must end exactly where the
    // next suffix begins, found by search rather than by walking.
    KeySet set(32);
    const Key below = key32(0x00000000);
    const Key shared = key32(0x00000001);
    const Key above = key32(0x00000003); // one bit from `shared`, as `below` is
    set.add(below, 1);
    set.add(above, 2);
    constexpr std::uint64_t items = 3000;
    for (std::uint64_t i = 0; i < items; ++i) {
        set.add(shared, 10 + (i * 7919) % items); // out of order
    }
    BOOST_TEST(set.count(shared) == items);
    BOOST_TEST(set.count(below) == 1U);
    BOOST_TEST(set.count(above) == 1U);
    const auto refs = set.refs_within(shared, 0);
    BOOST_TEST_REQUIRE(refs.size() == items);
    for (std::uint64_t i = 0; i < items; ++i) {
        BOOST_TEST_REQUIRE((refs[i] == KeySet::Ref{shared, 10 + i}));
    }
    for (std::uint64_t i = 0; i < items; i += 2) {
        set.remove(shared, 10 + i);
    }
    BOOST_TEST(set.count(shared) == items / 2);
    BOOST_TEST(set.count(above) == 1U);
    BOOST_TEST((set.refs_within(shared, 1).front() == KeySet::Ref{below, 1}));
    BOOST_TEST((set.refs_within(shared, 1).back() == KeySet::Ref{above, 2}));
    BOOST_CHECK_THROW(set.remove(shared, 10), std::logic_error); // removed already
}

BOOST_AUTO_TEST_CASE(results_are_sorted_by_bytes)
{
    // Neighbours in buckets visited in a different order than byte order.
    KeySet set(32);
    const std::vector<Key> keys = {key32(0x80000000), key32(0x00000001), key32(0x00010000), key32(0x40000000),
                                   key32(0x00000000), key32(0x00008000), key32(0xC0000000)};
    for (std::size_t i = 0; i < keys.size(); ++i) {
        set.add(keys[i], i + 1);
    }
    auto want = keys;
    // By bytes, spelled out: Key's defaulted <=> trips clang-tidy's modernize-use-nullptr in key.hpp.
    std::sort(want.begin(), want.end(), [](const Key& a, const Key& b) { return a.bytes < b.bytes; });
    BOOST_TEST((set.within(key32(0), 2) == want));
}

BOOST_AUTO_TEST_CASE(radius_search_equals_brute_force_for_other_widths)
{
    // 1..16 bits: the bucket is the whole key. 12 and 20: pad bits. 17: a
    // one-bit suffix. 64 and 768: probing is hopeless, buckets are scanned.
    struct Width {
        int hash_dim;
        std::size_t keys;
    };
    for (const Width w : {Width{1, 3}, Width{8, 100}, Width{12, 1500}, Width{16, 20'000}, Width{17, 20'000},
                          Width{20, 5'000}, Width{33, 5'000}, Width{64, 5'000}, Width{768, 1'000}}) {
        SplitMix64 rng(static_cast<std::uint64_t>(w.hash_dim) * 1000 + 7);
        std::vector<Key> added;
        for (std::size_t i = 0; i < w.keys; ++i) {
            // Every third key near an earlier one (or a repeat), so wide keys
            // have neighbours at all.
            if (i % 3 == 2) {
                const Key& base = added[rng.below(added.size())];
                added.push_back(
                    at_distance(base, std::min(static_cast<int>(rng.below(4)), w.hash_dim), w.hash_dim, rng));
            } else {
                added.push_back(random_key(rng, w.hash_dim));
            }
        }
        const auto queries = make_queries(added, w.hash_dim, 30, rng);
        const std::size_t hits = check_against_brute_force(w.hash_dim, added, queries);
        BOOST_TEST(hits > queries.size(), "hash_dim " << w.hash_dim); // not vacuous
    }
}

BOOST_AUTO_TEST_CASE(bad_inputs_are_refused_with_a_reason)
{
    const auto says = [](const std::string& word) {
        return [word](const std::exception& e) {
            return message_mentions(e, word);
        };
    };
    BOOST_CHECK_EXCEPTION(KeySet(0), std::invalid_argument, says("hash_dim 0"));
    BOOST_CHECK_EXCEPTION(KeySet(769), std::invalid_argument, says("hash_dim 769"));

    KeySet set(32);
    set.add(key32(1), 1);
    const Key short_key{"abc"};
    BOOST_CHECK_EXCEPTION(set.add(short_key, 2), std::invalid_argument, says("3 bytes"));
    BOOST_CHECK_EXCEPTION(set.remove(short_key, 1), std::invalid_argument, says("3 bytes"));
    BOOST_CHECK_EXCEPTION((void)set.count(short_key), std::invalid_argument, says("3 bytes"));
    BOOST_CHECK_EXCEPTION((void)set.within(Key{"abcde"}, 1), std::invalid_argument, says("5 bytes"));
    BOOST_CHECK_EXCEPTION((void)set.within(key32(1), -1), std::invalid_argument, says("radius -1"));
    BOOST_CHECK_EXCEPTION((void)set.within(key32(1), 4), std::invalid_argument, says("radius 4"));
    BOOST_CHECK_EXCEPTION((void)set.refs_within(key32(1), 4), std::invalid_argument, says("radius 4"));
    BOOST_CHECK_EXCEPTION(set.remove(key32(2), 1), std::logic_error, says("not in the set"));
    BOOST_TEST(set.distinct() == 1U); // nothing changed

    // 12 bits in 2 bytes: the last 4 bits must be zero, as compute_key makes them.
    KeySet narrow(12);
    BOOST_CHECK_EXCEPTION(narrow.add(Key{"\x12\x31"}, 1), std::invalid_argument, says("pad bit"));
    BOOST_CHECK_NO_THROW(narrow.add(Key{"\x12\x30"}, 1));
}

BOOST_AUTO_TEST_CASE(memory_grows_with_keys_and_is_given_back)
{
    KeySet set(32);
    const std::size_t empty = set.memory_bytes();
    SplitMix64 rng(5);
    std::vector<Key> keys;
    for (std::uint64_t i = 0; i < 10'000; ++i) {
        keys.push_back(key32(static_cast<std::uint32_t>(rng.next())));
        set.add(keys.back(), i);
    }
    BOOST_TEST(set.memory_bytes() > empty + std::size_t{10'000} * 10); // 2 suffix bytes + an 8-byte item each
    for (std::uint64_t i = 0; i < keys.size(); ++i) {
        set.remove(keys[i], i);
    }
    BOOST_TEST(set.distinct() == 0U);
    BOOST_TEST(set.memory_bytes() == empty);
}

BOOST_AUTO_TEST_SUITE_END()
