// Near-duplicate recall by probe radius (issue 8): how many near-duplicates
// does Hamming-radius multi-probe (gradient.probe_radius = r) catch that
// Datumaro's exact-key lookup (r = 0) misses, and how many distinct photos
// does it wrongly call duplicates? Also flip/rotation invariance on and off.
//
// Everything is in memory: originals are read from the given files, scaled to
// a long side of at most --long-side pixels, encoded as JPEG q95 ("the photo
// on disk") and hashed through index::decode_image like the daemon does. Each
// copy (JPEG re-encode, resize, brightness, blur, crop, watermark; hflip and
// rot90 for invariance) is made with OpenCV from the decoded original, encoded
// with cv::imencode and decoded again, so the codecs' effects are real. Video
// frames (t kept; t+1, t+2 positives) come as extracted frame files and are
// stored as JPEG q90 the same way. The daemon's defaults throughout: 8x8 grid,
// 32-bit key, projection seed 0, sim_threshold 0.5.
//
// "Catchable" positive: dot(copy, original)^50 >= sim_threshold, i.e. the
// similarity test accepts it, so only the key lookup can lose it. A positive
// is caught at radius r when it is catchable and its key is within Hamming r
// of the original's. Distinct originals are also streamed through a simulated
// index (fixed order, the daemon's decision rule) to count false duplicates.
//
// Usage: bench_near_dup_study [--long-side 1280] [--max-anchors 100]
//            [--frames DIR]... [--source LABEL [--artwork]] IMAGE... ...
// --source labels the images after it (for the corpus description); with
// --artwork they are drawn designs, left out of the false-duplicate count on
// photos. --frames DIR is a directory of consecutive video frames (any image
// format).
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "index/hash/decision.hpp"
#include "index/hash/feature.hpp"
#include "index/hash/invariance.hpp"
#include "index/hash/key.hpp"
#include "index/hash/projection.hpp"
#include "index/image/decode.hpp"

namespace idx = ndrd::index;

namespace {

constexpr int max_radius = 3;
constexpr int radii = max_radius + 1;
// The daemon's defaults (config/config.hpp): block_shape 8x8, hash_dim 32,
// seed 0, sim_threshold 0.5.
constexpr idx::Grid grid{8, 8};
constexpr int hash_dim = 32;
constexpr std::uint64_t projection_seed = 0;
constexpr double sim_threshold = 0.5;
// Below this a source is an icon or a synthetic test pattern, not a photo.
constexpr int min_source_side = 200;

struct Options {
    int long_side = 1280;
    std::size_t max_anchors = 100;
    std::vector<std::string> sequences; // directories of consecutive frames
    struct Image {
        std::string source;
        bool artwork = false;
        std::string path;
    };
    std::vector<Image> images;
};

// One hashed image: the feature as the daemon computes it, its float32 copy as
// the index stores it, and the key as a 32-bit word for Hamming distances.
struct Hashed {
    idx::Feature feature;
    std::vector<float> stored;
    std::uint32_t key = 0;
};

class Hasher {
public:
    Hasher() : projection_(idx::Projection::generate(projection_seed, grid.feature_dim(), hash_dim)) {}

    [[nodiscard]] Hashed from_feature(idx::Feature f) const
    {
        Hashed h;
        const idx::Key key = idx::compute_key(f, projection_);
        for (const char byte : key.bytes) {
            h.key = (h.key << 8U) | static_cast<std::uint8_t>(byte);
        }
        h.stored.assign(f.values.begin(), f.values.end());
        h.feature = std::move(f);
        return h;
    }

    // Encodes with a real codec and hashes what the daemon would decode.
    [[nodiscard]] Hashed from_image(const cv::Mat& image, int jpeg_quality) const
    {
        std::vector<uchar> bytes;
        if (!cv::imencode(".jpg", image, bytes, {cv::IMWRITE_JPEG_QUALITY, jpeg_quality})) {
            throw std::runtime_error("cv::imencode failed");
        }
        const cv::Mat decoded = idx::decode_image(std::as_bytes(std::span(bytes)));
        return from_feature(idx::compute_feature(decoded, grid));
    }

private:
    idx::Projection projection_;
};

int hamming(std::uint32_t a, std::uint32_t b)
{
    return std::popcount(a ^ b);
}

double sim(const Hashed& query, const Hashed& kept)
{
    return idx::similarity(query.stored, query.feature.degenerate,
                           idx::KeptCandidate{0, kept.stored, kept.feature.degenerate});
}

// A positive pair: how far apart the keys are and what the similarity test says.
struct Pair {
    int distance = 0;
    double similarity = 0;
    [[nodiscard]] bool catchable() const { return similarity >= sim_threshold; }
    [[nodiscard]] bool caught(int r) const { return catchable() && distance <= r; }
};

// Positives per family, in the order they are printed.
struct Family {
    std::string name;
    std::vector<Pair> pairs;
    [[nodiscard]] std::size_t catchable() const
    {
        return static_cast<std::size_t>(std::ranges::count_if(pairs, &Pair::catchable));
    }
    [[nodiscard]] std::size_t caught(int r) const
    {
        return static_cast<std::size_t>(std::ranges::count_if(pairs, [r](const Pair& p) { return p.caught(r); }));
    }
};

cv::Mat resized(const cv::Mat& image, double scale)
{
    cv::Mat out;
    // Area averaging to shrink (what photo tools do), bilinear to enlarge.
    cv::resize(image, out, cv::Size(), scale, scale, scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
    return out;
}

cv::Mat adjusted(const cv::Mat& image, double alpha, double beta)
{
    cv::Mat out;
    image.convertTo(out, -1, alpha, beta);
    return out;
}

cv::Mat blurred(const cv::Mat& image, int k)
{
    cv::Mat out;
    cv::GaussianBlur(image, out, cv::Size(k, k), 0);
    return out;
}

cv::Mat cropped(const cv::Mat& image, double share)
{
    const int dx = static_cast<int>(std::lround(image.cols * share));
    const int dy = static_cast<int>(std::lround(image.rows * share));
    return image(cv::Rect(dx, dy, image.cols - 2 * dx, image.rows - 2 * dy)).clone();
}

// A photographer's mark: text in the bottom-right corner, on a half-transparent
// dark box when `box` is set. Sizes follow the image so every copy is marked alike.
cv::Mat watermarked(const cv::Mat& image, bool box)
{
    cv::Mat out = image.clone();
    const double font_scale = image.cols / 900.0;
    const int thickness = std::max(1, static_cast<int>(std::lround(2 * font_scale)));
    const std::string text = "(c) ndrd 2026";
    int baseline = 0;
    const cv::Size size = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, font_scale, thickness, &baseline);
    const int margin = image.cols / 50;
    const cv::Point origin(image.cols - size.width - 2 * margin, image.rows - 2 * margin);
    if (box) {
        const cv::Rect area(origin.x - margin, origin.y - size.height - margin, size.width + 2 * margin,
                            size.height + baseline + 2 * margin);
        cv::Mat roi = out(area & cv::Rect(0, 0, out.cols, out.rows));
        cv::Mat dark(roi.size(), roi.type(), cv::Scalar::all(0));
        cv::addWeighted(roi, 0.5, dark, 0.5, 0, roi);
    }
    cv::putText(out, text, origin, cv::FONT_HERSHEY_SIMPLEX, font_scale, cv::Scalar(255, 255, 255), thickness,
                cv::LINE_AA);
    return out;
}

cv::Mat flipped(const cv::Mat& image)
{
    cv::Mat out;
    cv::flip(image, out, 1);
    return out;
}

cv::Mat rotated90(const cv::Mat& image)
{
    cv::Mat out;
    cv::rotate(image, out, cv::ROTATE_90_CLOCKWISE);
    return out;
}

// The catchable transformations of the issue, each a family of one or more copies.
struct Transform {
    std::string family;
    int quality = 90; // the copy's own JPEG quality
    cv::Mat (*make)(const cv::Mat&);
};

const std::vector<Transform>& transforms()
{
    static const std::vector<Transform> all{
        {"jpeg", 50,
         [](const cv::Mat& m) {
             return m;
         }},
        {"jpeg", 70,
         [](const cv::Mat& m) {
             return m;
         }},
        {"jpeg", 90,
         [](const cv::Mat& m) {
             return m;
         }},
        {"resize", 90,
         [](const cv::Mat& m) {
             return resized(m, 0.5);
         }},
        {"resize", 90,
         [](const cv::Mat& m) {
             return resized(m, 0.75);
         }},
        {"resize", 90,
         [](const cv::Mat& m) {
             return resized(m, 1.25);
         }},
        {"bright", 90,
         [](const cv::Mat& m) {
             return adjusted(m, 1.1, 10);
         }},
        {"bright", 90,
         [](const cv::Mat& m) {
             return adjusted(m, 0.9, -10);
         }},
        {"blur", 90,
         [](const cv::Mat& m) {
             return blurred(m, 3);
         }},
        {"blur", 90,
         [](const cv::Mat& m) {
             return blurred(m, 5);
         }},
        {"crop", 90,
         [](const cv::Mat& m) {
             return cropped(m, 0.02);
         }},
        {"crop", 90,
         [](const cv::Mat& m) {
             return cropped(m, 0.05);
         }},
        {"wmark", 90,
         [](const cv::Mat& m) {
             return watermarked(m, false);
         }},
        {"wmark", 90,
         [](const cv::Mat& m) {
             return watermarked(m, true);
         }},
    };
    return all;
}

struct Original {
    std::string source;
    bool artwork = false; // a drawn design, not a photo
    std::string path;
    cv::Mat pixels; // as decoded from its JPEG q95 encoding
    Hashed hashed;
};

// Invariance positives: the copy as is, and every variant of its feature.
struct InvariantPair {
    Pair plain;
    std::vector<Pair> variants; // identity first, then all_variants
    [[nodiscard]] bool caught_on(int r) const
    {
        return std::ranges::any_of(variants, [r](const Pair& p) { return p.caught(r); });
    }
    [[nodiscard]] bool catchable_on() const { return std::ranges::any_of(variants, &Pair::catchable); }
};

InvariantPair invariant_pair(const Hasher& hasher, const Hashed& copy, const Hashed& original)
{
    InvariantPair p;
    p.plain = {hamming(copy.key, original.key), sim(copy, original)};
    p.variants.push_back(p.plain);
    for (const idx::Variant v : idx::all_variants) {
        const Hashed t = hasher.from_feature(idx::transformed(copy.feature, grid, v));
        p.variants.push_back({hamming(t.key, original.key), sim(t, original)});
    }
    return p;
}

// The items a new image is looked up as: itself, plus its seven variants with
// invariance on.
std::vector<Hashed> probes(const Hasher& hasher, const Hashed& item, bool invariance)
{
    std::vector<Hashed> out{item};
    if (invariance) {
        for (const idx::Variant v : idx::all_variants) {
            out.push_back(hasher.from_feature(idx::transformed(item.feature, grid, v)));
        }
    }
    return out;
}

struct StreamResult {
    std::size_t duplicates = 0;
    double candidates_per_query = 0; // kept items within r, summed over a query's probes
    double kept_share = 0;           // the same over the kept set's size at the time
};

// Distinct images through a simulated index: each judged against the kept ones
// whose key is within r of any probe, kept when not a duplicate.
StreamResult stream(const Hasher& hasher, const std::vector<Hashed>& items, int r, bool invariance)
{
    StreamResult res;
    std::vector<const Hashed*> kept;
    double share_sum = 0;
    std::size_t share_n = 0;
    std::size_t candidates = 0;
    for (const Hashed& item : items) {
        bool duplicate = false;
        std::size_t found = 0;
        for (const Hashed& probe : probes(hasher, item, invariance)) {
            std::vector<idx::KeptCandidate> cands;
            for (std::size_t k = 0; k < kept.size(); ++k) {
                if (hamming(probe.key, kept[k]->key) <= r) {
                    cands.push_back({k + 1, kept[k]->stored, kept[k]->feature.degenerate});
                }
            }
            found += cands.size();
            duplicate =
                duplicate || idx::decide(probe.stored, probe.feature.degenerate, cands, sim_threshold).duplicate;
        }
        candidates += found;
        if (!kept.empty()) {
            share_sum += static_cast<double>(found) / static_cast<double>(kept.size());
            ++share_n;
        }
        if (duplicate) {
            ++res.duplicates;
        } else {
            kept.push_back(&item);
        }
    }
    res.candidates_per_query = static_cast<double>(candidates) / static_cast<double>(items.size());
    res.kept_share = share_n == 0 ? 0 : share_sum / static_cast<double>(share_n);
    return res;
}

std::string ratio(std::size_t num, std::size_t den)
{
    if (den == 0) {
        return "-";
    }
    std::array<char, 32> buf{};
    std::snprintf(buf.data(), buf.size(), "%.3f", static_cast<double>(num) / static_cast<double>(den));
    return buf.data();
}

std::string fixed(double v, int digits)
{
    std::array<char, 32> buf{};
    std::snprintf(buf.data(), buf.size(), "%.*f", digits, v);
    return buf.data();
}

std::string percent(std::size_t num, std::size_t den)
{
    return den == 0 ? "-" : fixed(100.0 * static_cast<double>(num) / static_cast<double>(den), 1) + "%";
}

void print_row(const std::vector<std::string>& cells)
{
    std::string line = "|";
    for (const auto& c : cells) {
        line += " " + c + " |";
    }
    std::cout << line << '\n';
}

void print_header(const std::vector<std::string>& cells)
{
    print_row(cells);
    std::string rule = "|";
    for (std::size_t i = 0; i < cells.size(); ++i) {
        rule += " --- |";
    }
    std::cout << rule << '\n';
}

Options parse(int argc, char** argv)
{
    Options o;
    std::string source = "images";
    bool artwork = false;
    const std::vector<std::string_view> args(argv + 1, argv + argc);
    for (std::size_t i = 0; i < args.size(); ++i) {
        const auto value = [&]() -> std::string {
            if (i + 1 >= args.size()) {
                throw std::invalid_argument(std::string(args[i]) + " needs a value");
            }
            return std::string(args[++i]);
        };
        if (args[i] == "--long-side") {
            o.long_side = std::stoi(value());
        } else if (args[i] == "--max-anchors") {
            o.max_anchors = std::stoul(value());
        } else if (args[i] == "--frames") {
            o.sequences.push_back(value());
        } else if (args[i] == "--source") {
            source = value();
            artwork = false;
        } else if (args[i] == "--artwork") {
            artwork = true;
        } else if (args[i].starts_with("--")) {
            throw std::invalid_argument("unknown option " + std::string(args[i]));
        } else {
            o.images.push_back({source, artwork, std::string(args[i])});
        }
    }
    if (o.images.size() < 2) {
        throw std::invalid_argument("give at least two images");
    }
    return o;
}

std::vector<Original> load_originals(const Options& o, const Hasher& hasher)
{
    std::vector<Original> out;
    std::map<std::string, std::pair<int, int>> per_source; // used, skipped
    for (const auto& [source, artwork, path] : o.images) {
        cv::Mat image = cv::imread(path, cv::IMREAD_COLOR);
        if (image.empty() || std::min(image.rows, image.cols) < min_source_side) {
            ++per_source[source + (artwork ? " (artwork)" : "")].second;
            continue;
        }
        const int long_side = std::max(image.rows, image.cols);
        if (long_side > o.long_side) {
            image = resized(image, static_cast<double>(o.long_side) / long_side);
        }
        // The original as it sits on disk: a good JPEG. Copies start from its pixels.
        std::vector<uchar> bytes;
        cv::imencode(".jpg", image, bytes, {cv::IMWRITE_JPEG_QUALITY, 95});
        Original orig{source, artwork, path, idx::decode_image(std::as_bytes(std::span(bytes))), {}};
        orig.hashed = hasher.from_feature(idx::compute_feature(orig.pixels, grid));
        out.push_back(std::move(orig));
        ++per_source[source + (artwork ? " (artwork)" : "")].first;
    }
    std::cout << "Originals (distinct images, long side <= " << o.long_side << " px, JPEG q95):\n";
    for (const auto& [source, counts] : per_source) {
        std::cout << "  " << source << ": " << counts.first << " used";
        if (counts.second != 0) {
            std::cout << ", " << counts.second << " skipped (unreadable or < " << min_source_side << " px)";
        }
        std::cout << '\n';
    }
    std::cout << "  total: " << out.size() << "\n";
    return out;
}

// Frame t of a sequence kept, frames t+1 and t+2 as positives; anchors
// evenly spread. A sequence is a directory of consecutive frames, in name
// order, as a camera or a video decoder (bench/near_dup_study.sh) writes them.
void sequence_pairs(const Options& o, const Hasher& hasher, Family& next1, Family& next2)
{
    for (const auto& dir : o.sequences) {
        std::vector<std::filesystem::path> files;
        for (const auto& e : std::filesystem::directory_iterator(dir)) {
            if (e.is_regular_file()) {
                files.push_back(e.path());
            }
        }
        std::ranges::sort(files);
        if (files.size() < 3) {
            std::cout << "  sequence " << dir << ": fewer than 3 frames, skipped\n";
            continue;
        }
        // Frames as the camera would store them: JPEG q90 of the decoded frame.
        const auto frame = [&](std::size_t t) {
            return hasher.from_image(cv::imread(files[t].string()), 90);
        };
        const std::size_t step = std::max<std::size_t>(1, (files.size() - 2) / o.max_anchors);
        std::size_t anchors = 0;
        for (std::size_t t = 0; t + 2 < files.size() && anchors < o.max_anchors; t += step, ++anchors) {
            const Hashed a = frame(t);
            const Hashed b = frame(t + 1);
            const Hashed c = frame(t + 2);
            next1.pairs.push_back({hamming(a.key, b.key), sim(b, a)});
            next2.pairs.push_back({hamming(a.key, c.key), sim(c, a)});
        }
        std::cout << "  " << std::filesystem::path(dir).filename().string() << ": " << files.size() << " frames, "
                  << anchors << " anchors (t -> t+1, t -> t+2)\n";
    }
}

void print_distance_histogram(const std::string& name, const std::vector<Pair>& pairs)
{
    std::array<std::size_t, 6> hist{}; // 0..4, 5+
    for (const Pair& p : pairs) {
        if (p.catchable()) {
            ++hist[static_cast<std::size_t>(std::min(p.distance, 5))];
        }
    }
    std::cout << "  " << name << ": d0 " << hist[0] << ", d1 " << hist[1] << ", d2 " << hist[2] << ", d3 " << hist[3]
              << ", d4 " << hist[4] << ", d5+ " << hist[5] << '\n';
}

int run(const Options& o)
{
    const Hasher hasher;
    std::cout << "Defaults: grid 8x8, hash_dim 32, projection seed 0, sim_threshold 0.5 (dot^50)\n";
    const std::vector<Original> originals = load_originals(o, hasher);
    if (originals.size() < 2) {
        throw std::runtime_error("fewer than two usable images");
    }

    std::vector<Family> families;
    const auto family = [&families](const std::string& name) -> Family& {
        for (Family& f : families) {
            if (f.name == name) {
                return f;
            }
        }
        return families.emplace_back(Family{name, {}});
    };
    std::vector<InvariantPair> hflips;
    std::vector<InvariantPair> rot90s;
    for (const Original& orig : originals) {
        for (const Transform& t : transforms()) {
            const Hashed copy = hasher.from_image(t.make(orig.pixels), t.quality);
            family(t.family).pairs.push_back({hamming(copy.key, orig.hashed.key), sim(copy, orig.hashed)});
        }
        hflips.push_back(invariant_pair(hasher, hasher.from_image(flipped(orig.pixels), 90), orig.hashed));
        rot90s.push_back(invariant_pair(hasher, hasher.from_image(rotated90(orig.pixels), 90), orig.hashed));
    }
    Family all{"all", {}};
    for (const Family& f : families) {
        all.pairs.insert(all.pairs.end(), f.pairs.begin(), f.pairs.end());
    }
    Family next1{"frame+1", {}};
    Family next2{"frame+2", {}};
    std::cout << "Frame sequences:\n";
    sequence_pairs(o, hasher, next1, next2);
    Family frames{"frames", next1.pairs};
    frames.pairs.insert(frames.pairs.end(), next2.pairs.begin(), next2.pairs.end());

    std::cout << "\nPositives, catchable / total (catchable: dot^50 >= " << sim_threshold << "):\n  ";
    for (const Family& f : families) {
        std::cout << f.name << " " << f.catchable() << "/" << f.pairs.size() << "  ";
    }
    for (const Family* f : {&all, &next1, &next2}) {
        std::cout << f->name << " " << f->catchable() << "/" << f->pairs.size() << "  ";
    }
    std::cout << "\nKey distance of the catchable positives:\n";
    print_distance_histogram("transformations", all.pairs);
    print_distance_histogram("frames", frames.pairs);

    // The images a false duplicate is counted on: the distinct originals, in argument order.
    std::vector<Hashed> distinct;
    // Flat drawn designs share one feature (the zero-padded border dominates
    // their weak gradients), so the similarity test itself confuses them; the
    // photos alone show what the radius does to real pictures.
    std::vector<Hashed> photos;
    distinct.reserve(originals.size());
    for (const Original& orig : originals) {
        distinct.push_back(orig.hashed);
        if (!orig.artwork) {
            photos.push_back(orig.hashed);
        }
    }
    // Pairs of distinct images that the similarity test itself calls alike:
    // no radius avoids these once their keys are close enough.
    std::size_t similar_pairs = 0;
    std::size_t similar_pairs_inv = 0;
    std::array<std::size_t, radii> similar_within{};
    for (std::size_t i = 0; i < distinct.size(); ++i) {
        const std::vector<Hashed> variants = probes(hasher, distinct[i], true);
        for (std::size_t j = 0; j < i; ++j) {
            const Pair p{hamming(distinct[i].key, distinct[j].key), sim(distinct[i], distinct[j])};
            if (p.catchable()) {
                ++similar_pairs;
                std::cout << "  similar distinct pair: " << originals[j].path << " ~ " << originals[i].path
                          << " (dot^50 " << fixed(p.similarity, 3) << ", key distance " << p.distance << ")\n";
            }
            for (int r = 0; r < radii; ++r) {
                similar_within[static_cast<std::size_t>(r)] += p.caught(r) ? 1 : 0;
            }
            similar_pairs_inv +=
                std::ranges::any_of(variants, [&](const Hashed& v) { return sim(v, distinct[j]) >= sim_threshold; })
                    ? 1
                    : 0;
        }
    }
    const std::size_t pair_count = distinct.size() * (distinct.size() - 1) / 2;
    std::cout << "Distinct pairs with dot^50 >= threshold: " << similar_pairs << " of " << pair_count
              << " (with invariance variants: " << similar_pairs_inv << ")\n";

    std::cout << "\nRecall on catchable positives, false duplicates among " << distinct.size() << " distinct images ("
              << photos.size() << " photos), mean candidates per query:\n\n";
    std::vector<std::string> header{"r"};
    for (const Family& f : families) {
        header.push_back(f.name);
    }
    for (const char* h : {"all catchable", "all positives", "frames +1", "frames +2", "frames", "false dup (all)",
                          "false dup (photos)", "similar pairs in r", "cand/query", "cand share"}) {
        header.emplace_back(h);
    }
    print_header(header);
    for (int r = 0; r < radii; ++r) {
        std::vector<std::string> row{std::to_string(r)};
        for (const Family& f : families) {
            row.push_back(ratio(f.caught(r), f.catchable()));
        }
        row.push_back(ratio(all.caught(r), all.catchable()));
        row.push_back(ratio(all.caught(r), all.pairs.size()));
        row.push_back(ratio(next1.caught(r), next1.catchable()));
        row.push_back(ratio(next2.caught(r), next2.catchable()));
        row.push_back(ratio(frames.caught(r), frames.catchable()));
        const StreamResult s = stream(hasher, distinct, r, false);
        row.push_back(percent(s.duplicates, distinct.size()) + " (" + std::to_string(s.duplicates) + ")");
        const StreamResult p = stream(hasher, photos, r, false);
        row.push_back(percent(p.duplicates, photos.size()) + " (" + std::to_string(p.duplicates) + ")");
        row.push_back(std::to_string(similar_within[static_cast<std::size_t>(r)]));
        row.push_back(fixed(s.candidates_per_query, 3));
        row.push_back(fixed(100 * s.kept_share, 2) + "%");
        print_row(row);
    }

    const auto count = [](const std::vector<InvariantPair>& v, auto pred) {
        return static_cast<std::size_t>(std::ranges::count_if(v, pred));
    };
    const auto plain_catchable = [](const InvariantPair& p) {
        return p.plain.catchable();
    };
    std::cout << "\nInvariance: hflip and rot90 copies of each original, share of ALL copies caught. Catchable "
              << "without / with the variants: hflip " << count(hflips, plain_catchable) << " / "
              << count(hflips, &InvariantPair::catchable_on) << ", rot90 " << count(rot90s, plain_catchable) << " / "
              << count(rot90s, &InvariantPair::catchable_on) << ", of " << hflips.size() << " each.\n\n";
    print_header({"r", "hflip off", "hflip on", "rot90 off", "rot90 on", "false dup all (inv on)",
                  "false dup photos (inv on)", "cand/query (inv on)"});
    for (int r = 0; r < radii; ++r) {
        const auto off = [r](const InvariantPair& p) {
            return p.plain.caught(r);
        };
        const auto on = [r](const InvariantPair& p) {
            return p.caught_on(r);
        };
        const StreamResult s = stream(hasher, distinct, r, true);
        const StreamResult p = stream(hasher, photos, r, true);
        print_row({std::to_string(r), ratio(count(hflips, off), hflips.size()), ratio(count(hflips, on), hflips.size()),
                   ratio(count(rot90s, off), rot90s.size()), ratio(count(rot90s, on), rot90s.size()),
                   percent(s.duplicates, distinct.size()) + " (" + std::to_string(s.duplicates) + ")",
                   percent(p.duplicates, photos.size()) + " (" + std::to_string(p.duplicates) + ")",
                   fixed(s.candidates_per_query, 3)});
    }
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    try {
        return run(parse(argc, argv));
    } catch (const std::exception& e) {
        std::cerr << "bench_near_dup_study: " << e.what() << '\n';
        return 1;
    }
}
