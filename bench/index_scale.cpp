// Index scale (issue 7, step 5): does ndrd's RocksDB index slow down as it
// grows? One index::HashIndex per size, each filled with kept records
// carrying random unit float32 features, random 32-bit keys and random content
// digests; then --ops operations are timed on each, every one what the daemon
// asks of the index for a new image: find_by_digest() (is it a byte-identical
// copy? almost never), judge() (its lookup), then one put() of a new kept
// record (what keeping it writes). Half the lookups ask for a key the index
// holds (candidates are read and compared), half for a random key (almost
// always absent at these sizes: the bloom filter's case). Puts in the timed
// phase are unsynced, to measure the index rather than the disk's fsync; the
// synced put cost is measured once at the end, on the largest index.
//
// The sizes take turns: the timed phase runs in --rounds rounds, each one
// chunk of ops on every size (ascending, then descending the next round), so
// that a neighbour's burst or a slower minute on this shared VM lands on all
// sizes alike instead of on whichever size was being measured. ops_per_s is
// the median of a size's chunk rates, ratio_to_smallest the median of its
// per-round ratios to the smallest size (ops_per_s_mean: over all chunks).
//
// Usage: bench_index --dir DIR [--sizes 10000,100000,1000000] [--ops 10000]
//            [--rounds 10] [--seed S] [--synced-puts N] [--radius R]
// --radius is the Hamming radius of the lookups (default: the daemon's
// default probe_radius). At the end the largest index is opened again, which
// reads every reference key into the in-memory key set: the start-up cost.
// DIR must not exist yet; each size's index is DIR/<size>. Prints one
// key=value line per size.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.hpp"
#include "config/config.hpp"
#include "index/hash/key.hpp"
#include "index/hash/projection.hpp"
#include "index/hash/record.hpp"
#include "index/store/hash_index.hpp"

namespace fs = std::filesystem;
namespace idx = ndrd::index;

namespace {

using Clock = std::chrono::steady_clock;

using ndrd::bench::median;
using ndrd::bench::SplitMix64;

idx::Key make_key(std::uint32_t k)
{
    idx::Key key;
    key.bytes = {static_cast<char>(k >> 24U), static_cast<char>(k >> 16U), static_cast<char>(k >> 8U),
                 static_cast<char>(k)};
    return key;
}

idx::Feature random_feature(SplitMix64& rng, int dim)
{
    idx::Feature f;
    f.values.resize(static_cast<std::size_t>(dim));
    double norm = 0;
    for (double& v : f.values) {
        v = rng.uniform() * 2.0 - 1.0;
        norm += v * v;
    }
    norm = std::sqrt(norm);
    for (double& v : f.values) {
        v /= norm;
    }
    return f;
}

// 16 random bytes: an XXH3-128 content digest, as the daemon stores it.
std::string random_digest(SplitMix64& rng)
{
    std::string d(16, '\0');
    for (std::size_t i = 0; i < d.size(); i += 8) {
        const std::uint64_t v = rng.next();
        std::memcpy(d.data() + i, &v, 8);
    }
    return d;
}

idx::ItemRecord kept_record(std::uint64_t seq, std::uint32_t key, const idx::Feature& f, std::string digest)
{
    idx::ItemRecord r;
    r.seq = seq;
    char name[48];
    std::snprintf(name, sizeof name, "synthetic/%09llu.jpg", static_cast<unsigned long long>(seq));
    r.source = name;
    r.location = std::string("train/") + name;
    r.verdict = idx::Verdict::kept;
    r.subset = idx::Subset::working;
    r.state = idx::RouteState::done;
    r.key = make_key(key);
    r.feature.assign(f.values.begin(), f.values.end()); // stored as float32, as ndrd stores it
    r.size = 600'000;
    r.digest = std::move(digest);
    r.ingested_ms = idx::unix_ms_now();
    r.routed_ms = r.ingested_ms;
    return r;
}

double rss_mib()
{
    std::ifstream statm("/proc/self/statm");
    std::uint64_t size = 0;
    std::uint64_t resident = 0;
    statm >> size >> resident;
    return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE)) / 1048576.0;
}

double seconds_since(Clock::time_point t0)
{
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// One size's index and what was measured on it.
struct Sized {
    Sized(std::size_t target, fs::path dir, idx::HashIndex index, std::uint64_t seed)
        : target(target), dir(std::move(dir)), index(std::move(index)), rng(seed), seq(this->index.next_seq())
    {
    }
    std::size_t target;
    fs::path dir;
    idx::HashIndex index;
    SplitMix64 rng; // each size its own stream: the turns do not change the items
    std::uint64_t seq;
    std::vector<std::uint32_t> keys; // of the items in the index, by seq - 1
    std::size_t held = 0;            // items before the timed phase: lookups ask for their keys
    double fill_s = 0;
    double settle_s = 0;
    double rss_after_fill = 0;
    std::vector<double> chunk_rates;
    double lookup_s = 0;
    double put_s = 0;
    std::size_t ops = 0;
    std::size_t candidates = 0;
    double search_s = 0;
    double fetch_held_s = 0;
    double fetch_absent_s = 0;
    double digest_s = 0;
    std::size_t parts_ops = 0;
    std::size_t seen = 0; // keeps the calls from being optimised away
};

// Fills with the public batch write (1000 records a batch), which keeps a 1M
// fill to a minute, then lets RocksDB finish compacting (up to 5 minutes): a
// fill writes in a minute what a site writes in weeks, and the timed phase
// should see the steady state rather than the compaction debt of the burst.
void fill(Sized& s, int dim)
{
    const auto fill_start = Clock::now();
    std::vector<idx::ItemRecord> batch;
    while (s.keys.size() < s.target) {
        const auto k = static_cast<std::uint32_t>(s.rng.next());
        batch.push_back(kept_record(s.seq++, k, random_feature(s.rng, dim), random_digest(s.rng)));
        s.keys.push_back(k);
        if (batch.size() == 1000 || s.keys.size() == s.target) {
            s.index.put_batch(batch, false);
            batch.clear();
        }
    }
    s.fill_s = seconds_since(fill_start);
    const auto settle_start = Clock::now();
    // Settled once nothing has been running or due for two seconds: a
    // compaction can start a moment after the previous one ends.
    for (auto quiet_since = Clock::now(); Clock::now() - settle_start < std::chrono::minutes(5);) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        if (s.index.background_work_pending()) {
            quiet_since = Clock::now();
        } else if (Clock::now() - quiet_since >= std::chrono::seconds(2)) {
            break;
        }
    }
    s.settle_s = seconds_since(settle_start);
    s.held = s.keys.size();
    s.rss_after_fill = rss_mib();
}

// One chunk of the timed phase: lookup then insert, as for each new kept image.
void timed_chunk(Sized& s, std::size_t n, int dim, int radius)
{
    double chunk_s = 0;
    for (std::size_t i = 0; i < n; ++i, ++s.ops) {
        const auto probe = random_feature(s.rng, dim);
        const std::uint32_t k =
            s.ops % 2 == 0 ? s.keys[s.rng.next() % s.held] : static_cast<std::uint32_t>(s.rng.next());
        const auto digest = random_digest(s.rng);
        const auto t0 = Clock::now();
        s.candidates += s.index.find_by_digest(digest) ? 1 : 0; // never: the digests are random
        const auto decision = s.index.judge(probe, make_key(k), idx::MatchRule{0.5, radius, {}});
        const auto t1 = Clock::now();
        s.candidates += decision.best_similarity ? 1 : 0;
        const auto new_key = static_cast<std::uint32_t>(s.rng.next());
        s.index.put(kept_record(s.seq++, new_key, probe, digest), false);
        s.keys.push_back(new_key);
        const auto t2 = Clock::now();
        s.lookup_s += std::chrono::duration<double>(t1 - t0).count();
        s.put_s += std::chrono::duration<double>(t2 - t1).count();
        chunk_s += std::chrono::duration<double>(t2 - t0).count();
    }
    s.chunk_rates.push_back(static_cast<double>(n) / chunk_s);
}

// Where a lookup's time goes, measured apart on the same index: the key-set
// search at the radius, then reading the references of one held key (the
// item records with their features), and of one absent key, and the digest
// lookup of a new file (the in-memory digest fingerprints' case).
void parts_chunk(Sized& s, std::size_t n, int radius)
{
    for (std::size_t i = 0; i < n; ++i, ++s.parts_ops) {
        const auto probe_key = make_key(static_cast<std::uint32_t>(s.rng.next()));
        const auto held_key = make_key(s.keys[s.rng.next() % s.held]);
        const auto t0 = Clock::now();
        s.seen += s.index.reference_keys().within(probe_key, radius).size();
        const auto t1 = Clock::now();
        s.seen += s.index.kept_with_key(held_key).size();
        const auto t2 = Clock::now();
        s.seen += s.index.kept_with_key(probe_key).size();
        const auto t3 = Clock::now();
        s.seen += s.index.find_by_digest(random_digest(s.rng)) ? 1 : 0;
        const auto t4 = Clock::now();
        s.search_s += std::chrono::duration<double>(t1 - t0).count();
        s.fetch_held_s += std::chrono::duration<double>(t2 - t1).count();
        s.fetch_absent_s += std::chrono::duration<double>(t3 - t2).count();
        s.digest_s += std::chrono::duration<double>(t4 - t3).count();
    }
}

// Runs `chunk` on every size, round after round, ascending then descending.
template <typename Chunk> void take_turns(std::vector<Sized>& sized, std::size_t rounds, Chunk chunk)
{
    for (std::size_t r = 0; r < rounds; ++r) {
        for (std::size_t i = 0; i < sized.size(); ++i) {
            chunk(sized[r % 2 == 0 ? i : sized.size() - 1 - i]);
        }
    }
}

int run(int argc, char** argv)
{
    fs::path dir;
    std::vector<std::size_t> sizes = {10'000, 100'000, 1'000'000};
    std::size_t ops = 10'000;
    std::size_t rounds = 10;
    std::uint64_t seed = 1;
    std::size_t synced_puts = 200;
    int radius = ndrd::config::kDefaultProbeRadius; // what the daemon probes by default
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        const std::string v = argv[i + 1];
        if (a == "--dir") {
            dir = v;
        } else if (a == "--sizes") {
            sizes = ndrd::bench::parse_sizes(v);
        } else if (a == "--ops") {
            ops = std::stoul(v);
        } else if (a == "--rounds") {
            rounds = std::stoul(v);
        } else if (a == "--seed") {
            seed = std::stoull(v);
        } else if (a == "--synced-puts") {
            synced_puts = std::stoul(v);
        } else if (a == "--radius") {
            radius = std::stoi(v);
        } else {
            std::cerr << "bench_index: unknown option " << a << "\n";
            return 64;
        }
    }
    if (dir.empty() || argc % 2 == 0) {
        std::cerr << "usage: bench_index --dir DIR [--sizes 10000,100000,1000000] [--ops N] [--rounds R] "
                     "[--seed S] [--synced-puts N] [--radius R]\n";
        return 64;
    }
    if (rounds < 1 || ops < rounds) {
        std::cerr << "bench_index: --rounds must be at least 1 and --ops at least --rounds\n";
        return 64;
    }
    if (fs::exists(dir)) {
        std::cerr << "bench_index: " << dir << " exists; give a fresh directory\n";
        return 64;
    }
    std::sort(sizes.begin(), sizes.end());
    sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
    const idx::IndexParams params; // ndrd's defaults: gradient, 8x8, 32 bits
    const int dim = params.grid.feature_dim();
    const auto make_projection = [&] {
        return idx::Projection::generate(0, dim, params.hash_dim);
    };

    std::vector<Sized> sized;
    sized.reserve(sizes.size());
    for (const std::size_t target : sizes) {
        const auto d = dir / std::to_string(target);
        sized.emplace_back(target, d, idx::HashIndex::open(d, params, make_projection), seed * 1'000'003 + target);
        fill(sized.back(), dim);
    }

    const std::size_t chunk_ops = ops / rounds;
    take_turns(sized, rounds, [&](Sized& s) { timed_chunk(s, chunk_ops, dim, radius); });
    take_turns(sized, rounds, [&](Sized& s) { parts_chunk(s, chunk_ops, radius); });

    for (const Sized& s : sized) {
        std::vector<double> ratios;
        ratios.reserve(s.chunk_rates.size());
        for (std::size_t r = 0; r < s.chunk_rates.size(); ++r) {
            ratios.push_back(s.chunk_rates[r] / sized.front().chunk_rates[r]);
        }
        const auto n = static_cast<double>(s.ops);
        const auto p = static_cast<double>(s.parts_ops);
        const auto bytes = static_cast<double>(s.index.disk_bytes());
        const auto [slowest, fastest] = std::minmax_element(s.chunk_rates.begin(), s.chunk_rates.end());
        std::cout << "size=" << s.target << " radius=" << radius << " items=" << s.keys.size() << " ops=" << s.ops
                  << " rounds=" << rounds << " ops_per_s=" << median(s.chunk_rates)
                  << " ratio_to_smallest=" << median(ratios) << " ops_per_s_mean=" << n / (s.lookup_s + s.put_s)
                  << " chunk_ops_per_s_min=" << *slowest << " chunk_ops_per_s_max=" << *fastest
                  << " lookups_per_s=" << n / s.lookup_s << " puts_per_s=" << n / s.put_s
                  << " lookup_us=" << s.lookup_s / n * 1e6 << " put_us=" << s.put_s / n * 1e6
                  << " key_search_us=" << s.search_s / p * 1e6 << " fetch_held_us=" << s.fetch_held_s / p * 1e6
                  << " fetch_absent_us=" << s.fetch_absent_s / p * 1e6 << " digest_absent_us=" << s.digest_s / p * 1e6
                  << " refs_seen=" << s.seen << " hits=" << s.candidates << " disk_mib=" << bytes / 1048576.0
                  << " bytes_per_item=" << bytes / static_cast<double>(s.keys.size()) << " rss_mib=" << s.rss_after_fill
                  << " peak_rss_mib=" << ndrd::bench::peak_rss_mib() << " fill_s=" << s.fill_s
                  << " compaction_wait_s=" << s.settle_s << " chunk_rates=";
        for (std::size_t r = 0; r < s.chunk_rates.size(); ++r) {
            std::cout << (r == 0 ? "" : ",") << static_cast<long>(s.chunk_rates[r]);
        }
        std::cout << "\n";
    }
    std::cout << std::flush;

    Sized& largest = sized.back();
    if (synced_puts > 0) {
        const auto t0 = Clock::now();
        for (std::size_t i = 0; i < synced_puts; ++i) {
            largest.index.put(kept_record(largest.seq++, static_cast<std::uint32_t>(largest.rng.next()),
                                          random_feature(largest.rng, dim), random_digest(largest.rng)),
                              true);
        }
        std::cout << "synced_puts=" << synced_puts
                  << " synced_put_ms=" << seconds_since(t0) / static_cast<double>(synced_puts) * 1e3 << "\n";
    }
    // Start-up: opening the largest index again reads every reference key
    // into the in-memory key set (HashIndex::build_reference_keys).
    const auto references = largest.index.reference_keys().distinct();
    const fs::path largest_dir = largest.dir;
    sized.clear(); // closes every index: RocksDB allows one open handle per directory
    const auto t0 = Clock::now();
    const auto reopened = idx::HashIndex::open(largest_dir, params, make_projection);
    std::cout << "reopen_s=" << seconds_since(t0) << " distinct_reference_keys=" << references << "\n";
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "bench_index: " << e.what() << "\n";
        return 1;
    }
}
