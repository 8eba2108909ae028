// What `decode_scale: auto` costs in fidelity (issue 7): every JPEG is hashed
// twice, once from a full decode and once from the reduced decode the daemon
// makes with auto (libjpeg DCT scaling to 1/2, 1/4 or 1/8), and the two are
// compared where it matters: the feature (dot product), the key, and the
// keep/duplicate decision of a stream through the daemon's decision rule.
//
// Usage: bench_reduced_fidelity DIR...
// Each DIR is a flat directory of images, taken in name order (the order of
// the daemon's backlog scan). When DIR.manifest.tsv exists beside it (the
// benchmark corpus, bench/make_corpus.sh), the files whose decisions differ are
// listed with their kind from it.
//
// The daemon's defaults throughout (config/config.hpp): 8x8 grid, 32-bit key,
// projection seed 0, sim_threshold 0.5, probe_radius 2; max_pixels 64M.
// Deterministic: fixed order, no randomness, no timing.
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>

#include "bench/bench_util.hpp"
#include "index/hash/decision.hpp"
#include "index/hash/feature.hpp"
#include "index/hash/key.hpp"
#include "index/hash/projection.hpp"
#include "index/image/decode.hpp"

namespace idx = ndrd::index;
namespace fs = std::filesystem;

namespace {

constexpr idx::Grid grid{8, 8};
constexpr int hash_dim = 32;
constexpr std::uint64_t projection_seed = 0;
constexpr double sim_threshold = 0.5;
constexpr int default_radius = 2; // config::kDefaultProbeRadius
constexpr std::uint64_t max_pixels = 64'000'000;
constexpr std::array<int, 2> radii = {default_radius, 0};

// One image hashed one way: the feature the daemon decides with, the float32
// copy its index stores (and later items are compared against), the key.
struct Hashed {
    idx::Feature feature;
    std::vector<float> stored;
    idx::Key key;
};

Hashed hash(const cv::Mat& image, const idx::Projection& projection)
{
    Hashed h;
    h.feature = idx::compute_feature(image, grid);
    h.stored.assign(h.feature.values.begin(), h.feature.values.end());
    h.key = idx::compute_key(h.feature, projection);
    return h;
}

int hamming(const idx::Key& a, const idx::Key& b)
{
    int d = 0;
    for (std::size_t i = 0; i < a.bytes.size() && i < b.bytes.size(); ++i) {
        d += std::popcount(static_cast<unsigned>(static_cast<unsigned char>(a.bytes[i] ^ b.bytes[i])));
    }
    return d;
}

// dot(full, reduced) in double, with the decision rule's convention for
// all-black images (two degenerate features are the same content).
double feature_dot(const idx::Feature& a, const idx::Feature& b)
{
    if (a.degenerate || b.degenerate) {
        return a.degenerate && b.degenerate ? 1.0 : 0.0;
    }
    double dot = 0.0;
    for (std::size_t i = 0; i < a.values.size(); ++i) {
        dot += a.values[i] * b.values[i];
    }
    return dot;
}

// The scale the reduced decode actually used, from the sizes (libjpeg's
// scaled side is ceil(side / scale)); 0 if the sizes match no scale.
int observed_scale(const cv::Mat& full, const cv::Mat& reduced)
{
    for (const int s : {1, 2, 4, 8}) {
        if ((full.cols + s - 1) / s == reduced.cols && (full.rows + s - 1) / s == reduced.rows) {
            return s;
        }
    }
    return 0;
}

// A simulated index: the kept items in arrival order, each new item judged
// against the kept ones within Hamming `radius` of its key by index::decide,
// and kept when it is not a duplicate. Brute force is fine at corpus sizes.
class SimIndex {
public:
    explicit SimIndex(int radius) : radius_(radius) {}

    // The daemon's decision for the next item (its sequence number is one more
    // than the last). `item` must outlive the index (the kept candidates point
    // into its stored feature).
    idx::Decision judge(const Hashed& item)
    {
        std::vector<const Kept*> near;
        for (const Kept& k : kept_) {
            if (hamming(k.item->key, item.key) <= radius_) {
                near.push_back(&k);
            }
        }
        // The daemon's index hands candidates over in key-then-sequence order
        // (RocksDB bytewise order, which std::string comparison matches), and
        // decide() breaks ties by order: keep that order.
        std::ranges::sort(near, [](const Kept* a, const Kept* b) {
            return std::tie(a->item->key.bytes, a->seq) < std::tie(b->item->key.bytes, b->seq);
        });
        std::vector<idx::KeptCandidate> candidates;
        candidates.reserve(near.size());
        for (const Kept* k : near) {
            candidates.push_back({k->seq, k->item->stored, k->item->feature.degenerate});
        }
        idx::Decision decision = idx::decide(item.stored, item.feature.degenerate, candidates, sim_threshold);
        ++seq_;
        if (!decision.duplicate) {
            kept_.push_back({seq_, &item});
        }
        return decision;
    }

private:
    struct Kept {
        std::uint64_t seq = 0;
        const Hashed* item = nullptr;
    };
    int radius_;
    std::uint64_t seq_ = 0;
    std::vector<Kept> kept_;
};

// Nearest-rank percentile (p in 0..100) of a non-empty sample: an actual
// value, so the 1st percentile of 200 files is the 2nd lowest.
double percentile(std::vector<double> v, double p)
{
    std::ranges::sort(v);
    const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
    return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

// file name -> kind column of DIR.manifest.tsv, empty when there is none.
std::map<std::string, std::string> read_manifest(const fs::path& dir)
{
    std::map<std::string, std::string> kinds;
    std::ifstream in(dir.parent_path() / (dir.filename().string() + ".manifest.tsv"));
    std::string line;
    while (std::getline(in, line)) {
        const auto tab1 = line.find('\t');
        const auto tab2 = tab1 == std::string::npos ? std::string::npos : line.find('\t', tab1 + 1);
        if (tab2 != std::string::npos) {
            kinds[line.substr(0, tab1)] = line.substr(tab1 + 1, tab2 - tab1 - 1);
        }
    }
    return kinds;
}

struct DirResult {
    std::string label;
    std::size_t files = 0;
    std::size_t errors = 0;
    std::map<int, std::size_t> scales;
    std::vector<double> dots;
    std::size_t equal_keys = 0;
    // Files whose reduced hash would find their own full-decoded entry at the
    // default radius (key within 2, dot^50 >= 0.5): what an index filled
    // before decode_scale was switched to auto (a reload allows it) needs.
    std::size_t self_match = 0;
    double hamming_sum = 0;
    int hamming_max = 0;
    // Per radius in `radii`: equal decisions, duplicates with full / reduced features.
    std::array<std::size_t, radii.size()> same{};
    std::array<std::size_t, radii.size()> dup_full{};
    std::array<std::size_t, radii.size()> dup_reduced{};
    std::vector<std::string> differing; // one line per differing decision
};

DirResult measure(const fs::path& dir, const idx::Projection& projection)
{
    DirResult r;
    r.label = dir.filename().empty() ? dir.parent_path().filename().string() : dir.filename().string();
    const auto kinds = read_manifest(dir.filename().empty() ? dir.parent_path() : dir);
    const auto files = ndrd::bench::collect_files({dir.string()});

    // Hashed items live here for the whole stream: the simulated indexes
    // point into them. Reserved up front so no pointer moves.
    std::vector<Hashed> full_items;
    std::vector<Hashed> reduced_items;
    full_items.reserve(files.size());
    reduced_items.reserve(files.size());
    std::vector<std::string> names; // by sequence number - 1, for the matched items
    std::vector<SimIndex> full_index;
    std::vector<SimIndex> reduced_index;
    for (const int radius : radii) {
        full_index.emplace_back(radius);
        reduced_index.emplace_back(radius);
    }

    for (const auto& path : files) {
        ++r.files;
        const auto bytes = ndrd::bench::read_file(path);
        cv::Mat full;
        cv::Mat reduced;
        try {
            full = idx::decode_image(std::as_bytes(std::span(bytes)));
            reduced = idx::decode_image(std::as_bytes(std::span(bytes)), max_pixels, grid.blocks());
        } catch (const idx::DecodeError& e) {
            // The daemon rejects such a file either way: not a fidelity question.
            std::cerr << path.string() << ": " << e.what() << "\n";
            ++r.errors;
            continue;
        }
        ++r.scales[observed_scale(full, reduced)];
        const Hashed& f = full_items.emplace_back(hash(full, projection));
        const Hashed& h = reduced_items.emplace_back(hash(reduced, projection));

        r.dots.push_back(feature_dot(f.feature, h.feature));
        const int d = hamming(f.key, h.key);
        r.equal_keys += d == 0 ? 1 : 0;
        r.hamming_sum += d;
        r.hamming_max = std::max(r.hamming_max, d);
        r.self_match += d <= default_radius && std::pow(r.dots.back(), 50) >= sim_threshold ? 1 : 0;
        names.push_back(path.filename().string());

        for (std::size_t i = 0; i < radii.size(); ++i) {
            const idx::Decision df = full_index[i].judge(f);
            const idx::Decision dh = reduced_index[i].judge(h);
            const bool dup_f = df.duplicate;
            const bool dup_h = dh.duplicate;
            r.dup_full[i] += dup_f ? 1 : 0;
            r.dup_reduced[i] += dup_h ? 1 : 0;
            if (dup_f == dup_h) {
                ++r.same[i];
                continue;
            }
            const auto kind = kinds.find(path.filename().string());
            // The best match each way (or "-": no candidate within the radius)
            // shows how close to the threshold the decision was.
            const auto best = [&names](const idx::Decision& dec) {
                if (!dec.best_similarity) {
                    return std::string("-");
                }
                char buf[80];
                std::snprintf(buf, sizeof buf, "%.4f(%s)", *dec.best_similarity,
                              names[static_cast<std::size_t>(dec.matched_seq) - 1].c_str());
                return std::string(buf);
            };
            char line[320];
            std::snprintf(line, sizeof line,
                          "  r=%d %s %s: full %s best %s, reduced %s best %s; self dot %.6f, key distance %d", radii[i],
                          path.filename().c_str(), kind == kinds.end() ? "?" : kind->second.c_str(),
                          dup_f ? "duplicate" : "kept", best(df).c_str(), dup_h ? "duplicate" : "kept",
                          best(dh).c_str(), r.dots.back(), d);
            r.differing.emplace_back(line);
        }
    }
    return r;
}

std::string share(std::size_t part, std::size_t whole)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole));
    return buf;
}

void print(const std::vector<DirResult>& results)
{
    std::printf("bench_reduced_fidelity: full vs decode_scale auto; grid 8x8, %d-bit key, seed %llu, "
                "sim_threshold %.1f, radius %d (and 0)\n",
                hash_dim, static_cast<unsigned long long>(projection_seed), sim_threshold, default_radius);
    std::printf("%-10s %5s %-12s %9s %9s %9s %9s %9s %9s %6s %6s %6s %7s %9s %10s %9s\n", "dir", "files", "scales",
                "dot_min", "dot_p1", "dot_p5", "dot_med", "sim_min", "sim_med", "keyeq", "ham", "hammax", "self_r2",
                "dec_eq_r2", "dup_r2 f/h", "dec_eq_r0");
    for (const DirResult& r : results) {
        const std::size_t n = r.dots.size();
        if (n == 0) {
            std::printf("%-10s %5zu (nothing decodable)\n", r.label.c_str(), r.files);
            continue;
        }
        std::string scales;
        for (const auto& [scale, count] : r.scales) {
            scales +=
                (scales.empty() ? "" : ",") + std::string("1/") + std::to_string(scale) + ":" + std::to_string(count);
        }
        const double dmin = percentile(r.dots, 0);
        const double dmed = percentile(r.dots, 50);
        const std::string dups = std::to_string(r.dup_full[0]) + "/" + std::to_string(r.dup_reduced[0]);
        std::printf("%-10s %5zu %-12s %9.6f %9.6f %9.6f %9.6f %9.4f %9.4f %6s %6.3f %6d %7s %9s %10s %9s\n",
                    r.label.c_str(), r.files, scales.c_str(), dmin, percentile(r.dots, 1), percentile(r.dots, 5), dmed,
                    std::pow(dmin, 50), std::pow(dmed, 50), share(r.equal_keys, n).c_str(),
                    r.hamming_sum / static_cast<double>(n), r.hamming_max, share(r.self_match, n).c_str(),
                    share(r.same[0], n).c_str(), dups.c_str(), share(r.same[1], n).c_str());
        if (r.errors != 0) {
            std::printf("  %zu files not decodable (left out)\n", r.errors);
        }
        for (const std::string& line : r.differing) {
            std::printf("%s\n", line.c_str());
        }
    }
}

} // namespace

int main(int argc, char** argv)
{
    try {
        if (argc < 2) {
            std::cerr << "usage: bench_reduced_fidelity DIR...\n";
            return 2;
        }
        idx::configure_decoder();
        const auto projection = idx::Projection::generate(projection_seed, grid.feature_dim(), hash_dim);
        std::vector<DirResult> results;
        for (int i = 1; i < argc; ++i) {
            const fs::path dir(argv[i]);
            if (!fs::is_directory(dir)) {
                throw std::runtime_error(dir.string() + ": not a directory");
            }
            results.push_back(measure(dir, projection));
        }
        print(results);
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "bench_reduced_fidelity: " << e.what() << "\n";
        return 1;
    }
}
