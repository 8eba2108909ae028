// Key search scale (issue 8): does index::KeySet's exact Hamming-radius search
// stay flat as the set of kept 32-bit keys grows, and what does the set cost
// in memory? Fills a KeySet with N random keys for each size, then times
// within(key, r) for r = 0..3 over --queries keys (half present, half random),
// and checks the first --verify queries per size against a linear scan (whose
// time is printed too, for scale).
//
// Usage: bench_key_search [--sizes 10000,1000000,10000000] [--queries 2000]
//            [--verify 20] [--seed S]
// Sizes run ascending in one process, so VmHWM (peak RSS so far) at a size
// is that size's peak: the linear-scan reference is built after it is read.
#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "bench/bench_util.hpp"
#include "index/hash/key.hpp"
#include "index/store/key_set.hpp"

namespace idx = ndrd::index;
using ndrd::bench::SplitMix64;

namespace {

using Clock = std::chrono::steady_clock;
constexpr int radii = idx::KeySet::max_radius + 1;

struct Options {
    std::vector<std::size_t> sizes{10'000, 1'000'000, 10'000'000};
    std::size_t queries = 2000;
    std::size_t verify = 20;
    std::uint64_t seed = 7;
};

struct Row {
    std::size_t n = 0;
    std::size_t distinct = 0;
    double add_us = 0;
    std::array<double, radii> lookup_us{};
    std::array<double, radii> hits{};
    double linear_us = 0;
    double rss_mib = 0;
    double hwm_mib = 0;
    double set_mib = 0;
};

idx::Key make_key(std::uint32_t k)
{
    return idx::Key{
        {static_cast<char>(k >> 24U), static_cast<char>(k >> 16U), static_cast<char>(k >> 8U), static_cast<char>(k)}};
}

// A line "Name:   1234 kB" of /proc/self/status, in MiB (0 when missing).
double status_mib(std::string_view name)
{
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.starts_with(name)) {
            std::istringstream fields(line.substr(name.size()));
            double kib = 0;
            fields >> kib;
            return kib / 1024.0;
        }
    }
    return 0;
}

std::string load_average()
{
    std::ifstream in("/proc/loadavg");
    std::string one;
    std::string five;
    std::string fifteen;
    in >> one >> five >> fifteen;
    return one + " " + five + " " + fifteen;
}

Options parse(int argc, char** argv)
{
    Options o;
    const std::vector<std::string> args(argv + 1, argv + argc);
    for (std::size_t i = 0; i < args.size(); ++i) {
        const auto value = [&]() -> const std::string& {
            if (i + 1 >= args.size()) throw std::invalid_argument(args[i] + " needs a value");
            return args[++i];
        };
        if (args[i] == "--sizes") {
            o.sizes = ndrd::bench::parse_sizes(value());
        } else if (args[i] == "--queries") {
            o.queries = std::stoull(value());
        } else if (args[i] == "--verify") {
            o.verify = std::stoull(value());
        } else if (args[i] == "--seed") {
            o.seed = std::stoull(value());
        } else {
            throw std::invalid_argument("unknown argument " + args[i] +
                                        " (usage: bench_key_search [--sizes A,B,..] [--queries Q] [--verify V] "
                                        "[--seed S])");
        }
    }
    if (o.sizes.empty() || o.queries == 0) {
        throw std::invalid_argument("need at least one size and one query");
    }
    std::sort(o.sizes.begin(), o.sizes.end());
    return o;
}

// Seconds for one within() per query at radius r; `hits` gets the keys found.
double time_lookups(const idx::KeySet& set, const std::vector<idx::Key>& queries, int r, std::size_t& hits)
{
    hits = 0;
    const auto t0 = Clock::now();
    for (const auto& q : queries) {
        hits += set.within(q, r).size();
    }
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

Row measure(std::size_t n, const Options& o)
{
    Row row;
    row.n = n;
    idx::KeySet set(32);
    std::vector<idx::Key> queries;
    // The keys are a SplitMix64 stream of `seed`; half the queries are keys of
    // it picked evenly, half come from another stream (almost always absent).
    SplitMix64 keys(o.seed);
    const std::size_t present = (o.queries + 1) / 2;
    const std::size_t stride = std::max<std::size_t>(1, n / present);
    const auto t0 = Clock::now();
    for (std::size_t i = 0; i < n; ++i) {
        const auto k = make_key(static_cast<std::uint32_t>(keys.next()));
        set.add(k, i + 1);
        if (i % stride == 0 && queries.size() < present) queries.push_back(k);
    }
    row.add_us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / static_cast<double>(n);
    row.distinct = set.distinct();
    row.rss_mib = status_mib("VmRSS:");
    row.hwm_mib = status_mib("VmHWM:");
    row.set_mib = static_cast<double>(set.memory_bytes()) / (1024.0 * 1024.0);

    SplitMix64 other(o.seed ^ 0xA5A5A5A5A5A5A5A5ULL);
    while (queries.size() < o.queries) {
        queries.push_back(make_key(static_cast<std::uint32_t>(other.next())));
    }
    // Interleave present and random queries, so neither runs as a warm block.
    SplitMix64 shuffle(o.seed + 1);
    for (std::size_t i = queries.size(); i > 1; --i) {
        std::swap(queries[i - 1], queries[shuffle.below(i)]);
    }

    for (int r = 0; r < radii; ++r) {
        const auto ri = static_cast<std::size_t>(r);
        std::size_t hits = 0;
        (void)time_lookups(set, queries, r, hits); // warm-up: first touch of the buckets
        std::vector<double> runs(3);
        for (double& run : runs) {
            run = time_lookups(set, queries, r, hits);
        }
        row.lookup_us[ri] = ndrd::bench::median(runs) * 1e6 / static_cast<double>(queries.size());
        row.hits[ri] = static_cast<double>(hits) / static_cast<double>(queries.size());
    }

    // The linear-scan reference, after the memory readings above.
    std::vector<std::uint32_t> all(n);
    SplitMix64 replay(o.seed);
    for (auto& k : all) {
        k = static_cast<std::uint32_t>(replay.next());
    }
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    const std::size_t checks = std::min(o.verify, queries.size());
    double linear_s = 0;
    for (std::size_t i = 0; i < checks; ++i) {
        const auto& qb = queries[i].bytes;
        std::uint32_t q = 0;
        for (const char c : qb) {
            q = q << 8U | static_cast<unsigned char>(c);
        }
        const auto t = Clock::now();
        std::vector<idx::Key> want;
        for (const std::uint32_t k : all) {
            if (std::popcount(k ^ q) <= idx::KeySet::max_radius) want.push_back(make_key(k));
        }
        linear_s += std::chrono::duration<double>(Clock::now() - t).count();
        if (set.within(queries[i], idx::KeySet::max_radius) != want) {
            throw std::runtime_error("within(" + queries[i].hex() +
                                     ", 3) differs from the linear scan at N=" + std::to_string(n));
        }
    }
    row.linear_us = checks > 0 ? linear_s * 1e6 / static_cast<double>(checks) : 0;
    return row;
}

} // namespace

int main(int argc, char** argv)
{
    try {
        const Options o = parse(argc, argv);
        std::printf("bench_key_search: 32-bit keys, %zu queries (half present), seed %llu, load %s\n", o.queries,
                    static_cast<unsigned long long>(o.seed), load_average().c_str());
        std::printf("%10s %10s %7s %2s %10s %8s %10s %9s %9s %9s\n", "N", "distinct", "add_us", "r", "lookup_us",
                    "hits/q", "linear_us", "RSS_MiB", "HWM_MiB", "set_MiB");
        std::vector<Row> rows;
        for (const std::size_t n : o.sizes) {
            rows.push_back(measure(n, o));
            const Row& w = rows.back();
            for (int r = 0; r < radii; ++r) {
                const auto ri = static_cast<std::size_t>(r);
                std::printf("%10zu %10zu %7.3f %2d %10.2f %8.3f", w.n, w.distinct, w.add_us, r, w.lookup_us[ri],
                            w.hits[ri]);
                if (r == idx::KeySet::max_radius) {
                    std::printf(" %10.0f %9.1f %9.1f %9.1f\n", w.linear_us, w.rss_mib, w.hwm_mib, w.set_mib);
                } else {
                    std::printf("\n");
                }
            }
            std::fflush(stdout);
        }
        const Row& lo = rows.front();
        const Row& hi = rows.back();
        std::printf("lookup time ratio N=%zu / N=%zu:", hi.n, lo.n);
        for (int r = 0; r < radii; ++r) {
            const auto ri = static_cast<std::size_t>(r);
            std::printf("  r=%d %.2f", r, hi.lookup_us[ri] / lo.lookup_us[ri]);
        }
        std::printf("\nlinear scan / within(r=3) at N=%zu: %.0f\n", hi.n,
                    hi.linear_us / hi.lookup_us[idx::KeySet::max_radius]);
        std::printf("load at end %s\n", load_average().c_str());
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "bench_key_search: " << e.what() << '\n';
        return 1;
    }
}
