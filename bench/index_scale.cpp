// Index scale (issue 7, step 5): does ndrd's RocksDB index slow down as it
// grows? Fills an index::HashIndex with kept records carrying random unit
// float32 features, random 32-bit keys and random content digests, and at each
// size measures --ops operations, each one what the daemon asks of the index
// for a new image: find_by_digest() (is it a byte-identical copy? almost
// never), judge() (its lookup), then one put() of a new kept record (what
// keeping it writes). Half the lookups
// ask for a key the index holds (candidates are read and compared), half for
// a random key (almost always absent at these sizes: the bloom filter's case).
// Puts in the timed phase are unsynced, to measure the index rather than the
// disk's fsync; the synced put cost is measured once at the end. ops_per_s
// is the median rate of 5 consecutive chunks of the timed phase
// (ops_per_s_mean: over all of it).
//
// Usage: bench_index --dir DIR [--sizes 10000,100000,1000000] [--ops 10000]
//            [--seed S] [--synced-puts N] [--radius R]
// --radius is the Hamming radius of the lookups (default: the daemon's
// default probe_radius). At the end the index is opened again, which reads
// every reference key into the in-memory key set: the start-up cost.
// DIR must not exist yet (a fresh index). Prints one key=value line per size.
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
#include "index/hash_index.hpp"
#include "index/key.hpp"
#include "index/projection.hpp"
#include "index/record.hpp"

namespace fs = std::filesystem;
namespace idx = ndrd::index;

namespace {

using Clock = std::chrono::steady_clock;

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

int run(int argc, char** argv)
{
    fs::path dir;
    std::vector<std::size_t> sizes = {10'000, 100'000, 1'000'000};
    std::size_t ops = 10'000;
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
        std::cerr << "usage: bench_index --dir DIR [--sizes 10000,100000,1000000] [--ops N] [--seed S] "
                     "[--synced-puts N] [--radius R]\n";
        return 64;
    }
    if (ops < 5) {
        std::cerr << "bench_index: --ops must be at least 5 (the timed phase runs in 5 chunks)\n";
        return 64;
    }
    if (fs::exists(dir)) {
        std::cerr << "bench_index: " << dir << " exists; give a fresh directory\n";
        return 64;
    }
    const idx::IndexParams params; // ndrd's defaults: gradient, 8x8, 32 bits
    const int dim = params.grid.feature_dim();
    auto index = idx::HashIndex::open(dir, params, [&] { return idx::Projection::generate(0, dim, params.hash_dim); });
    SplitMix64 rng(seed);
    std::vector<std::uint32_t> keys; // of the items in the index, by seq - 1
    std::uint64_t seq = index.next_seq();
    double fill_seconds = 0;

    for (const std::size_t target : sizes) {
        // Fill (untimed for the rate; its own time is reported) in batches:
        // the public batch write, which keeps a 1M fill to minutes.
        const auto fill_start = Clock::now();
        std::vector<idx::ItemRecord> batch;
        while (keys.size() < target) {
            const auto k = static_cast<std::uint32_t>(rng.next());
            batch.push_back(kept_record(seq++, k, random_feature(rng, dim), random_digest(rng)));
            keys.push_back(k);
            if (batch.size() == 1000 || keys.size() == target) {
                index.put_batch(batch, false);
                batch.clear();
            }
        }
        fill_seconds += std::chrono::duration<double>(Clock::now() - fill_start).count();
        // A fill writes in a minute what a site writes in weeks: let RocksDB
        // finish compacting it (up to 5 minutes) so that the timed phase sees
        // the steady state rather than the compaction debt of the burst.
        const auto settle_start = Clock::now();
        // Settled once nothing has been running or due for two seconds: a
        // compaction can start a moment after the previous one ends.
        for (auto quiet_since = Clock::now(); Clock::now() - settle_start < std::chrono::minutes(5);) {
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            if (index.background_work_pending()) {
                quiet_since = Clock::now();
            } else if (Clock::now() - quiet_since >= std::chrono::seconds(2)) {
                break;
            }
        }
        const double settle_s = std::chrono::duration<double>(Clock::now() - settle_start).count();

        // The timed phase: lookup then insert, as for each new kept image.
        // Timed in 5 consecutive chunks, whose median rate is the size's
        // rate: one compaction or a neighbour's burst on this shared VM lands
        // in one chunk instead of moving the whole figure (at 10k a chunk
        // lasts a tenth of a second).
        constexpr std::size_t chunks = 5;
        const std::size_t chunk_ops = ops / chunks;
        std::vector<double> chunk_rates;
        double chunk_s = 0;
        double lookup_s = 0;
        double put_s = 0;
        std::size_t candidates = 0;
        const std::size_t held = keys.size();
        for (std::size_t i = 0; i < ops; ++i) {
            const auto probe = random_feature(rng, dim);
            const std::uint32_t k = i % 2 == 0 ? keys[rng.next() % held] : static_cast<std::uint32_t>(rng.next());
            const auto digest = random_digest(rng);
            auto t0 = Clock::now();
            candidates += index.find_by_digest(digest) ? 1 : 0; // never: the digests are random
            const auto decision = index.judge(probe, make_key(k), idx::MatchRule{0.5, radius, {}});
            auto t1 = Clock::now();
            candidates += decision.best_similarity ? 1 : 0;
            const auto new_key = static_cast<std::uint32_t>(rng.next());
            index.put(kept_record(seq++, new_key, probe, digest), false);
            keys.push_back(new_key);
            const auto t2 = Clock::now();
            lookup_s += std::chrono::duration<double>(t1 - t0).count();
            put_s += std::chrono::duration<double>(t2 - t1).count();
            chunk_s += std::chrono::duration<double>(t2 - t0).count();
            if ((i + 1) % chunk_ops == 0 && chunk_rates.size() < chunks) {
                chunk_rates.push_back(static_cast<double>(chunk_ops) / chunk_s);
                chunk_s = 0;
            }
        }
        std::sort(chunk_rates.begin(), chunk_rates.end());
        // Where a lookup's time goes, measured apart on the same index:
        // the key-set search at the radius, then reading the references of
        // one held key (by_key, then the item records with their features),
        // and of one absent key, and the digest lookup of a new file (by_digest's
        // bloom filters' case).
        double search_s = 0;
        double fetch_held_s = 0;
        double fetch_absent_s = 0;
        double digest_s = 0;
        std::size_t seen = 0; // keeps the calls from being optimised away
        for (std::size_t i = 0; i < ops; ++i) {
            const auto probe_key = make_key(static_cast<std::uint32_t>(rng.next()));
            const auto held_key = make_key(keys[rng.next() % held]);
            const auto t0 = Clock::now();
            seen += index.reference_keys().within(probe_key, radius).size();
            const auto t1 = Clock::now();
            seen += index.kept_with_key(held_key).size();
            const auto t2 = Clock::now();
            seen += index.kept_with_key(probe_key).size();
            const auto t3 = Clock::now();
            seen += index.find_by_digest(random_digest(rng)) ? 1 : 0;
            const auto t4 = Clock::now();
            digest_s += std::chrono::duration<double>(t4 - t3).count();
            search_s += std::chrono::duration<double>(t1 - t0).count();
            fetch_held_s += std::chrono::duration<double>(t2 - t1).count();
            fetch_absent_s += std::chrono::duration<double>(t3 - t2).count();
        }
        const auto n = static_cast<double>(ops);
        const auto bytes = static_cast<double>(index.disk_bytes());
        std::cout << "size=" << target << " radius=" << radius << " items=" << keys.size() << " ops=" << ops
                  << " ops_per_s=" << chunk_rates[chunk_rates.size() / 2]
                  << " ops_per_s_mean=" << n / (lookup_s + put_s) << " chunk_ops_per_s_min=" << chunk_rates.front()
                  << " chunk_ops_per_s_max=" << chunk_rates.back() << " lookups_per_s=" << n / lookup_s
                  << " puts_per_s=" << n / put_s << " lookup_us=" << lookup_s / n * 1e6 << " put_us=" << put_s / n * 1e6
                  << " key_search_us=" << search_s / n * 1e6 << " fetch_held_us=" << fetch_held_s / n * 1e6
                  << " fetch_absent_us=" << fetch_absent_s / n * 1e6 << " digest_absent_us=" << digest_s / n * 1e6
                  << " refs_seen=" << seen << " hits=" << candidates << " disk_mib=" << bytes / 1048576.0
                  << " bytes_per_item=" << bytes / static_cast<double>(keys.size()) << " rss_mib=" << rss_mib()
                  << " peak_rss_mib=" << ndrd::bench::peak_rss_mib() << " fill_s_total=" << fill_seconds
                  << " compaction_wait_s=" << settle_s << "\n"
                  << std::flush;
    }

    if (synced_puts > 0) {
        const auto t0 = Clock::now();
        for (std::size_t i = 0; i < synced_puts; ++i) {
            index.put(kept_record(seq++, static_cast<std::uint32_t>(rng.next()), random_feature(rng, dim),
                                  random_digest(rng)),
                      true);
        }
        const double s = std::chrono::duration<double>(Clock::now() - t0).count();
        std::cout << "synced_puts=" << synced_puts << " synced_put_ms=" << s / static_cast<double>(synced_puts) * 1e3
                  << "\n";
    }
    // Start-up: opening the largest index again reads every reference key
    // into the in-memory key set (HashIndex::build_reference_keys).
    const auto references = index.reference_keys().distinct();
    {
        const auto closing = std::move(index);
    } // RocksDB allows one open handle per directory
    const auto t0 = Clock::now();
    index = idx::HashIndex::open(dir, params, [&] { return idx::Projection::generate(0, dim, params.hash_dim); });
    std::cout << "reopen_s=" << std::chrono::duration<double>(Clock::now() - t0).count()
              << " distinct_reference_keys=" << references << "\n";
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
