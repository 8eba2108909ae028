// Builds one resolution of the benchmark corpus (issue 7) from source images:
// unique images (crops of the sources), near-duplicates derived from them and
// byte-identical copies, as JPEG, with exact counts and a manifest saying what
// each file is. Deterministic: every random choice comes from SplitMix64
// seeded by --seed, and grain from cv::RNG seeded per image, so the same
// sources, seed and OpenCV/libjpeg give the same bytes.
//
// Usage: bench_corpus_tool --out DIR --manifest FILE --size WxH --count N
//            [--seed S] [--near-share F] [--copy-share F] [--quality Q]
//            [--grain SIGMA] SOURCE...
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "bench/bench_util.hpp"

namespace fs = std::filesystem;

namespace {

using ndrd::bench::SplitMix64;

enum class Kind { unique, near, copy };

// How a near-duplicate differs from its original.
enum class NearKind { requality, rescale, brightness, crop };
constexpr std::array<std::string_view, 4> near_names = {"requality", "rescale", "brightness", "crop"};

struct Item {
    Kind kind = Kind::unique;
    std::size_t origin = 0; // unique: index into sources; near/copy: index of the item it derives from
    // unique: crop window in the source, flip, grain seed
    cv::Rect2d window;
    bool flip = false;
    std::uint64_t grain_seed = 0;
    // near: which transform and its parameter
    NearKind near = NearKind::requality;
    double amount = 0.0;
    cv::Vec4d crop_edges; // left, top, right, bottom fractions for NearKind::crop
    std::string note;     // for the manifest
};

struct Options {
    fs::path out;
    fs::path manifest;
    cv::Size size;
    std::size_t count = 0;
    std::uint64_t seed = 7;
    double near_share = 0.2;
    double copy_share = 0.1;
    int quality = 90;
    double grain = 2.0;
    std::vector<fs::path> sources;
};

[[noreturn]] void usage(const std::string& why)
{
    throw std::invalid_argument(why + "\nusage: bench_corpus_tool --out DIR --manifest FILE --size WxH --count N "
                                      "[--seed S] [--near-share F] [--copy-share F] [--quality Q] [--grain SIGMA] "
                                      "SOURCE...");
}

Options parse(int argc, char** argv)
{
    Options o;
    const std::vector<std::string> args(argv + 1, argv + argc);
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        const auto value = [&]() -> const std::string& {
            if (i + 1 >= args.size()) {
                usage(a + " needs a value");
            }
            return args[++i];
        };
        if (a == "--out") {
            o.out = value();
        } else if (a == "--manifest") {
            o.manifest = value();
        } else if (a == "--size") {
            const std::string& v = value();
            const auto x = v.find('x');
            if (x == std::string::npos) {
                usage("--size wants WxH, got " + v);
            }
            o.size = cv::Size(std::stoi(v.substr(0, x)), std::stoi(v.substr(x + 1)));
        } else if (a == "--count") {
            o.count = std::stoul(value());
        } else if (a == "--seed") {
            o.seed = std::stoull(value());
        } else if (a == "--near-share") {
            o.near_share = std::stod(value());
        } else if (a == "--copy-share") {
            o.copy_share = std::stod(value());
        } else if (a == "--quality") {
            o.quality = std::stoi(value());
        } else if (a == "--grain") {
            o.grain = std::stod(value());
        } else if (a.starts_with("--")) {
            usage("unknown option " + a);
        } else {
            o.sources.emplace_back(a);
        }
    }
    if (o.out.empty() || o.manifest.empty() || o.size.area() == 0 || o.count == 0 || o.sources.empty()) {
        usage("--out, --manifest, --size, --count and at least one SOURCE are required");
    }
    if (o.near_share < 0 || o.copy_share < 0 || o.near_share + o.copy_share >= 1.0) {
        usage("--near-share and --copy-share must be >= 0 and leave room for unique images");
    }
    return o;
}

cv::Mat load_color(const fs::path& path)
{
    // IMREAD_COLOR: sources come in gray, BGRA and 16-bit; the corpus is what
    // a camera writes, 8-bit BGR.
    cv::Mat m = cv::imread(path.string(), cv::IMREAD_COLOR);
    if (m.empty()) {
        throw std::runtime_error("cannot decode " + path.string());
    }
    return m;
}

cv::Mat fit(const cv::Mat& image, cv::Size size)
{
    if (image.size() == size) {
        return image;
    }
    cv::Mat out;
    // Area averaging when shrinking (no aliasing), cubic when enlarging.
    const bool shrink = image.cols >= size.width && image.rows >= size.height;
    cv::resize(image, out, size, 0, 0, shrink ? cv::INTER_AREA : cv::INTER_CUBIC);
    return out;
}

void write_jpeg(const fs::path& path, const cv::Mat& image, int quality)
{
    if (!cv::imwrite(path.string(), image, {cv::IMWRITE_JPEG_QUALITY, quality})) {
        throw std::runtime_error("cannot write " + path.string());
    }
}

std::string file_name(std::size_t i)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "img_%05zu.jpg", i);
    return buf;
}

// Exact counts, shuffled, with a unique image first so that every derived
// item has an earlier original: the stream order a dedup daemon sees.
std::vector<Item> plan(const Options& o, const std::vector<cv::Size>& source_sizes, SplitMix64& rng)
{
    const auto n_near = static_cast<std::size_t>(std::lround(static_cast<double>(o.count) * o.near_share));
    const auto n_copy = static_cast<std::size_t>(std::lround(static_cast<double>(o.count) * o.copy_share));
    const std::size_t n_unique = o.count - n_near - n_copy;
    std::vector<Kind> kinds(n_unique, Kind::unique);
    kinds.insert(kinds.end(), n_near, Kind::near);
    kinds.insert(kinds.end(), n_copy, Kind::copy);
    for (std::size_t i = kinds.size() - 1; i > 0; --i) {
        std::swap(kinds[i], kinds[rng.below(i + 1)]);
    }
    const auto first_unique = std::find(kinds.begin(), kinds.end(), Kind::unique);
    std::iter_swap(kinds.begin(), first_unique);

    // Sources in a shuffled round-robin, so each is used about equally; the
    // first use of a source is its whole frame, later ones smaller crops.
    std::vector<std::size_t> source_order(source_sizes.size());
    for (std::size_t i = 0; i < source_order.size(); ++i) {
        source_order[i] = i;
    }
    for (std::size_t i = source_order.size() - 1; i > 0; --i) {
        std::swap(source_order[i], source_order[rng.below(i + 1)]);
    }

    const double aspect = static_cast<double>(o.size.width) / o.size.height;
    std::vector<Item> items(o.count);
    std::vector<std::size_t> uniques;
    std::size_t unique_no = 0;
    std::size_t near_no = 0;
    for (std::size_t i = 0; i < o.count; ++i) {
        Item& it = items[i];
        it.kind = kinds[i];
        if (it.kind == Kind::unique) {
            const std::size_t round = unique_no / source_order.size();
            it.origin = source_order[unique_no % source_order.size()];
            ++unique_no;
            const cv::Size s = source_sizes[it.origin];
            // Largest window of the target aspect, then scaled by f.
            double w = s.width;
            double h = w / aspect;
            if (h > s.height) {
                h = s.height;
                w = h * aspect;
            }
            const double f = round == 0 ? 1.0 : rng.uniform(0.55, 0.95);
            w *= f;
            h *= f;
            it.window = cv::Rect2d(rng.uniform(0.0, s.width - w), rng.uniform(0.0, s.height - h), w, h);
            it.flip = round % 2 == 1;
            it.grain_seed = rng.next();
            uniques.push_back(i);
            char buf[96];
            std::snprintf(buf, sizeof buf, "crop %.0fx%.0f+%.0f+%.0f%s", it.window.width, it.window.height, it.window.x,
                          it.window.y, it.flip ? " flipped" : "");
            it.note = buf;
        } else if (it.kind == Kind::near) {
            it.origin = uniques[rng.below(uniques.size())];
            it.near = static_cast<NearKind>(near_no++ % near_names.size());
            char buf[96];
            switch (it.near) {
            case NearKind::requality:
                it.amount = static_cast<double>(60 + rng.below(21)); // JPEG quality 60..80
                std::snprintf(buf, sizeof buf, "quality %.0f", it.amount);
                break;
            case NearKind::rescale:
                it.amount = rng.uniform(0.4, 0.7); // down to this factor and back
                std::snprintf(buf, sizeof buf, "rescaled via %.2f", it.amount);
                break;
            case NearKind::brightness:
                it.amount = rng.uniform(8.0, 20.0) * (rng.below(2) == 0 ? -1.0 : 1.0);
                std::snprintf(buf, sizeof buf, "brightness %+.1f", it.amount);
                break;
            case NearKind::crop:
                for (int e = 0; e < 4; ++e) {
                    it.crop_edges[e] = rng.uniform(0.0, 0.05);
                }
                std::snprintf(buf, sizeof buf, "cropped l%.3f t%.3f r%.3f b%.3f", it.crop_edges[0], it.crop_edges[1],
                              it.crop_edges[2], it.crop_edges[3]);
                break;
            }
            it.note = buf;
        } else {
            it.origin = rng.below(i); // any earlier file, unique or near
            it.note = "byte copy";
        }
    }
    return items;
}

cv::Mat render_unique(const cv::Mat& source, const Item& it, cv::Size size, double grain)
{
    const cv::Rect window(static_cast<int>(it.window.x), static_cast<int>(it.window.y),
                          static_cast<int>(it.window.width), static_cast<int>(it.window.height));
    cv::Mat img = fit(source(window & cv::Rect(0, 0, source.cols, source.rows)), size);
    if (it.flip) {
        cv::flip(img, img, 1);
    }
    if (grain > 0) {
        // Sensor-like grain. Most sources are smaller or smoother than a
        // camera frame; upscaled they would encode to unusually small JPEGs
        // that decode faster than real photos. Grain restores a realistic
        // entropy (and so decode cost) without changing the content.
        cv::Mat noise(img.size(), CV_16SC3);
        cv::RNG rng(it.grain_seed);
        rng.fill(noise, cv::RNG::NORMAL, 0.0, grain);
        cv::Mat wide;
        img.convertTo(wide, CV_16SC3);
        wide += noise;
        wide.convertTo(img, CV_8UC3);
    } else {
        img = img.clone();
    }
    return img;
}

cv::Mat render_near(const cv::Mat& original, const Item& it, cv::Size size)
{
    cv::Mat out;
    switch (it.near) {
    case NearKind::requality: return original; // only the encoding quality differs
    case NearKind::rescale: {
        cv::Mat small;
        cv::resize(original, small, cv::Size(), it.amount, it.amount, cv::INTER_AREA);
        cv::resize(small, out, size, 0, 0, cv::INTER_LINEAR);
        return out;
    }
    case NearKind::brightness: original.convertTo(out, -1, 1.0, it.amount); return out;
    case NearKind::crop: {
        const auto w = static_cast<double>(original.cols);
        const auto h = static_cast<double>(original.rows);
        const int x0 = static_cast<int>(it.crop_edges[0] * w);
        const int y0 = static_cast<int>(it.crop_edges[1] * h);
        const int x1 = original.cols - static_cast<int>(it.crop_edges[2] * w);
        const int y1 = original.rows - static_cast<int>(it.crop_edges[3] * h);
        cv::resize(original(cv::Rect(x0, y0, x1 - x0, y1 - y0)), out, size, 0, 0, cv::INTER_LINEAR);
        return out;
    }
    }
    return original;
}

int run(const Options& o)
{
    fs::create_directories(o.out);
    // Sizes first (decoding each source once more later, grouped by source,
    // keeps only one full-size source in memory at a time).
    std::vector<cv::Size> sizes;
    sizes.reserve(o.sources.size());
    for (const auto& s : o.sources) {
        sizes.push_back(load_color(s).size());
    }
    SplitMix64 rng(o.seed);
    const std::vector<Item> items = plan(o, sizes, rng);

    std::map<std::size_t, std::vector<std::size_t>> by_source;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (items[i].kind == Kind::unique) {
            by_source[items[i].origin].push_back(i);
        }
    }
    for (const auto& [source, members] : by_source) {
        const cv::Mat src = load_color(o.sources[source]);
        for (const std::size_t i : members) {
            write_jpeg(o.out / file_name(i), render_unique(src, items[i], o.size, o.grain), o.quality);
        }
    }
    // Derived items in order: a copy may copy a near-duplicate written earlier.
    std::map<std::string, std::size_t> near_counts;
    for (std::size_t i = 0; i < items.size(); ++i) {
        const Item& it = items[i];
        if (it.kind == Kind::near) {
            const cv::Mat original = load_color(o.out / file_name(it.origin));
            const int q = it.near == NearKind::requality ? static_cast<int>(it.amount) : o.quality;
            write_jpeg(o.out / file_name(i), render_near(original, it, o.size), q);
            ++near_counts[std::string(near_names[static_cast<std::size_t>(it.near)])];
        } else if (it.kind == Kind::copy) {
            fs::copy_file(o.out / file_name(it.origin), o.out / file_name(i), fs::copy_options::overwrite_existing);
        }
    }

    std::ofstream manifest(o.manifest);
    manifest << "file\tkind\tderived_from\tsource_or_transform\n";
    std::size_t counts[3] = {0, 0, 0};
    std::uintmax_t bytes = 0;
    for (std::size_t i = 0; i < items.size(); ++i) {
        const Item& it = items[i];
        const auto k = static_cast<std::size_t>(it.kind);
        ++counts[k];
        bytes += fs::file_size(o.out / file_name(i));
        manifest << file_name(i) << '\t'
                 << (k == 0   ? "unique"
                     : k == 1 ? "near"
                              : "copy")
                 << '\t' << (it.kind == Kind::unique ? "-" : file_name(it.origin)) << '\t'
                 << (it.kind == Kind::unique ? o.sources[it.origin].string() + " " + it.note : it.note) << '\n';
    }
    if (!manifest) {
        throw std::runtime_error("cannot write " + o.manifest.string());
    }
    std::cout << o.size.width << "x" << o.size.height << ": " << items.size() << " files (" << counts[0] << " unique, "
              << counts[1] << " near-duplicates [";
    bool first = true;
    for (const auto& [name, n] : near_counts) {
        std::cout << (first ? "" : ", ") << n << " " << name;
        first = false;
    }
    std::cout << "], " << counts[2] << " byte-identical copies), " << o.sources.size() << " sources, mean "
              << bytes / items.size() / 1024 << " KiB per file\n";
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    try {
        return run(parse(argc, argv));
    } catch (const std::invalid_argument& e) {
        std::cerr << "bench_corpus_tool: " << e.what() << "\n";
        return 64;
    } catch (const std::exception& e) {
        std::cerr << "bench_corpus_tool: " << e.what() << "\n";
        return 1;
    }
}
