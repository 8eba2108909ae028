// The decode-only floor of issue 7: read each file into memory and
// cv::imdecode(IMREAD_UNCHANGED) it, on N threads pulling from one shared
// list, and nothing else. With --decoder turbojpeg, JPEGs are decoded the
// way ndrd decodes them (index::decode_jpeg_bgr: the same libjpeg-turbo
// decode without OpenCV 4.6's byte-by-byte RGB-to-BGR copy), so ndrd can beat
// the OpenCV floor but not this one. --scale 2, 4 or 8 decodes JPEGs at that
// reduced size through libjpeg's DCT scaling (OpenCV: IMREAD_REDUCED_COLOR_N),
// as decode_scale: auto does: the floor of a reduced decode, which still
// entropy-decodes every coefficient of the file.
//
// Usage: bench_decode_floor [--threads N] [--decoder opencv|turbojpeg] [--scale 1|2|4|8] FILE_OR_DIR...
// Prints one line of key=value pairs (read by bench/run.sh).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <iostream>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "bench/bench_util.hpp"
#include "index/image/jpeg_decoder.hpp"

namespace {

struct Totals {
    std::atomic<std::size_t> next{0};
    std::atomic<std::uint64_t> pixels{0};
    std::atomic<std::uint64_t> bytes{0};
    std::atomic<std::size_t> failed{0};
};

bool use_turbojpeg = false;
int scale = 1;

int reduced_flag()
{
    switch (scale) {
    case 2: return cv::IMREAD_REDUCED_COLOR_2;
    case 4: return cv::IMREAD_REDUCED_COLOR_4;
    case 8: return cv::IMREAD_REDUCED_COLOR_8;
    default: return cv::IMREAD_UNCHANGED;
    }
}

cv::Mat decode(const std::vector<unsigned char>& bytes)
{
    if (use_turbojpeg) {
        auto image = ndrd::index::decode_jpeg_bgr(std::as_bytes(std::span(bytes)), scale);
        if (image) {
            return std::move(*image);
        }
        // not a colour JPEG: OpenCV, as ndrd does
    }
    // imdecode wants a Mat header; it does not modify the buffer.
    const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8UC1,
                         const_cast<unsigned char*>(bytes.data())); // NOLINT(cppcoreguidelines-pro-type-const-cast)
    return cv::imdecode(buffer, reduced_flag());
}

void worker(const std::vector<std::filesystem::path>& files, Totals& t)
{
    for (std::size_t i = t.next++; i < files.size(); i = t.next++) {
        try {
            const auto bytes = ndrd::bench::read_file(files[i]);
            const cv::Mat image = decode(bytes);
            if (image.empty()) {
                throw std::runtime_error(files[i].string() + ": not decodable");
            }
            t.pixels += static_cast<std::uint64_t>(image.total());
            t.bytes += bytes.size();
        } catch (const std::exception& e) {
            // A failure must not end the thread early (that would shorten the
            // run and inflate the rate); count it, and the exit code tells.
            ++t.failed;
            std::cerr << "bench_decode_floor: " << e.what() << "\n";
        }
    }
}

int run(int argc, char** argv)
{
    unsigned threads = 1;
    std::vector<std::string> args;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--threads" && i + 1 < argc) {
            threads = static_cast<unsigned>(std::stoul(argv[++i]));
        } else if (a == "--decoder" && i + 1 < argc &&
                   (argv[i + 1] == std::string("opencv") || argv[i + 1] == std::string("turbojpeg"))) {
            use_turbojpeg = argv[++i] == std::string("turbojpeg");
        } else if (a == "--scale" && i + 1 < argc &&
                   (std::string("1248").find(argv[i + 1]) != std::string::npos &&
                    std::string(argv[i + 1]).size() == 1)) {
            scale = std::stoi(argv[++i]);
        } else if (a.starts_with("--")) {
            std::cerr << "usage: bench_decode_floor [--threads N] [--decoder opencv|turbojpeg] [--scale 1|2|4|8] "
                         "FILE_OR_DIR...\n";
            return 64;
        } else {
            args.push_back(a);
        }
    }
    if (threads == 0 || args.empty()) {
        std::cerr << "usage: bench_decode_floor [--threads N] [--decoder opencv|turbojpeg] [--scale 1|2|4|8] "
                     "FILE_OR_DIR...\n";
        return 64;
    }
    const auto files = ndrd::bench::collect_files(args);
    // Untimed warm-up: loads the codec and its tables once, as any
    // long-running process would have done before the files arrive.
    (void)decode(ndrd::bench::read_file(files.front()));

    Totals totals;
    const auto started = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    pool.reserve(threads);
    for (unsigned i = 0; i < threads; ++i) {
        pool.emplace_back(worker, std::cref(files), std::ref(totals));
    }
    for (auto& th : pool) {
        th.join();
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const auto n = static_cast<double>(files.size());
    std::cout << "files=" << files.size() << " decoder=" << (use_turbojpeg ? "turbojpeg" : "opencv")
              << " scale=" << scale << " threads=" << threads << " failed=" << totals.failed << " seconds=" << seconds
              << " images_per_s=" << n / seconds << " mpix_per_s=" << static_cast<double>(totals.pixels) / 1e6 / seconds
              << " mib_per_s=" << static_cast<double>(totals.bytes) / 1048576.0 / seconds << "\n";
    return totals.failed == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv)
{
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "bench_decode_floor: " << e.what() << "\n";
        return 1;
    }
}
