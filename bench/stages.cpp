// Where one file's hashing time goes in ndrd's own code, on one thread: read
// (into memory), decode (index::decode_image: header checks, imdecode
// IMREAD_UNCHANGED, channel normalisation), feature (index::compute_feature)
// and key (index::compute_key with the projection ndrd generates for seed 0).
// Whatever index/ currently does is what is timed.
//
// Usage: bench_stages [--repeat R] [--decode-scale auto] FILE_OR_DIR...
// With --decode-scale auto, JPEGs decode reduced as ndrd's `decode_scale:
// auto` does, so the feature stage sees the images that mode hands it.
// Prints one key=value line with the mean milliseconds per stage: for each
// stage the median over R passes of that pass's mean.
#include <chrono>
#include <exception>
#include <iostream>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bench/bench_util.hpp"
#include "index/hash/feature.hpp"
#include "index/hash/key.hpp"
#include "index/hash/projection.hpp"
#include "index/image/decode.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point& t)
{
    const auto now = Clock::now();
    const double ms = std::chrono::duration<double, std::milli>(now - t).count();
    t = now;
    return ms;
}

constexpr const char* usage = "usage: bench_stages [--repeat R] [--decode-scale auto] FILE_OR_DIR...\n";

int run(int argc, char** argv)
{
    int repeat = 1;
    bool reduced = false;
    std::vector<std::string> args;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--repeat" && i + 1 < argc) {
            repeat = std::stoi(argv[++i]);
        } else if (a == "--decode-scale" && i + 1 < argc && std::string(argv[i + 1]) == "auto") {
            reduced = true;
            ++i;
        } else if (a.starts_with("--")) {
            std::cerr << usage;
            return 64;
        } else {
            args.push_back(a);
        }
    }
    if (repeat < 1 || args.empty()) {
        std::cerr << usage;
        return 64;
    }
    const auto files = ndrd::bench::collect_files(args);
    constexpr std::uint64_t max_pixels = 64'000'000; // ndrd's default
    ndrd::index::configure_decoder();
    const ndrd::index::Grid grid; // the default 8x8, Datumaro's
    const auto reduce_for = reduced ? std::optional(grid.blocks()) : std::nullopt;
    const auto projection = ndrd::index::Projection::generate(0, grid.feature_dim(), 32);

    std::vector<double> read_ms;
    std::vector<double> decode_ms;
    std::vector<double> feature_ms;
    std::vector<double> key_ms;
    unsigned sink = 0; // keeps the key computation observable
    for (int pass = 0; pass < repeat; ++pass) {
        double r = 0;
        double d = 0;
        double f = 0;
        double k = 0;
        for (const auto& file : files) {
            auto t = Clock::now();
            const auto bytes = ndrd::bench::read_file(file);
            r += ms_since(t);
            const cv::Mat image = ndrd::index::decode_image(std::as_bytes(std::span(bytes)), max_pixels, reduce_for);
            d += ms_since(t);
            const auto feature = ndrd::index::compute_feature(image, grid);
            f += ms_since(t);
            const auto key = ndrd::index::compute_key(feature, projection);
            k += ms_since(t);
            sink += key.bytes.empty() ? 0U : static_cast<unsigned char>(key.bytes[0]);
        }
        const auto n = static_cast<double>(files.size());
        read_ms.push_back(r / n);
        decode_ms.push_back(d / n);
        feature_ms.push_back(f / n);
        key_ms.push_back(k / n);
    }
    using ndrd::bench::median;
    const double total = median(read_ms) + median(decode_ms) + median(feature_ms) + median(key_ms);
    std::cout << "files=" << files.size() << " passes=" << repeat << " read_ms=" << median(read_ms)
              << " decode_ms=" << median(decode_ms) << " feature_ms=" << median(feature_ms)
              << " key_ms=" << median(key_ms) << " total_ms=" << total << " images_per_s=" << 1000.0 / total
              << " checksum=" << sink % 256 << "\n";
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "bench_stages: " << e.what() << "\n";
        return 1;
    }
}
