// Live latency (issue 7, step 4), measured from outside the daemon: renames
// the files of a staging directory into the running daemon's ingest directory
// at a steady rate, and watches the output subsets with inotify; latency is
// rename-to-arrival of the same name in a subset (the daemon moves files with
// rename(2), so arrival is one IN_MOVED_TO). Staging must be on the ingest
// directory's file system, so that the rename is atomic, as a camera's or
// scraper's rename-into-place is.
//
// Usage: bench_live --stage DIR --ingest DIR --out DIR --rate FILES_PER_S
//            [--subsets train,duplicated,rejected] [--timeout SECONDS]
//            [--per-file FILE]
// Prints one key=value line; exit 1 when some file never arrived. --per-file
// writes "index name sent_s latency_ms" per file, in sending order, so a tail
// can be traced to the files (and the moments) that made it.
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

struct Arrivals {
    std::mutex mutex;
    std::map<std::string, Clock::time_point> seen;
};

// Owns the inotify descriptor; reads events until told to stop.
class Watcher {
public:
    explicit Watcher(const std::vector<fs::path>& dirs) : fd_(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK))
    {
        if (fd_ < 0) {
            throw std::runtime_error(std::string("inotify_init1: ") + std::strerror(errno));
        }
        for (const auto& d : dirs) {
            if (::inotify_add_watch(fd_, d.c_str(), IN_MOVED_TO | IN_CREATE) < 0) {
                const int err = errno;
                ::close(fd_);
                throw std::runtime_error("watching " + d.string() + ": " + std::strerror(err));
            }
        }
    }
    Watcher(const Watcher&) = delete;
    Watcher& operator=(const Watcher&) = delete;
    ~Watcher() { ::close(fd_); }

    void run(Arrivals& arrivals, const std::atomic<bool>& stop) const
    {
        alignas(inotify_event) char buf[64 * 1024];
        while (!stop) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 20) <= 0) {
                continue;
            }
            const ssize_t n = ::read(fd_, buf, sizeof buf);
            // Time-stamp the whole read at once: the events in it arrived
            // before this instant, so latencies are never understated by
            // more than the poll wake-up.
            const auto now = Clock::now();
            if (n <= 0) {
                continue;
            }
            const std::scoped_lock lock(arrivals.mutex);
            for (ssize_t off = 0; off < n;) {
                const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
                if (ev->len > 0) {
                    arrivals.seen.try_emplace(std::string(ev->name), now);
                }
                off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
            }
        }
    }

private:
    int fd_;
};

std::vector<std::string> split(const std::string& s)
{
    std::vector<std::string> out;
    std::stringstream in(s);
    std::string part;
    while (std::getline(in, part, ',')) {
        out.push_back(part);
    }
    return out;
}

double percentile(const std::vector<double>& sorted, double q)
{
    // Nearest rank, as ndrd's own status computes it.
    const auto n = static_cast<double>(sorted.size());
    const auto k = static_cast<std::size_t>(std::max(1.0, std::ceil(q * n)));
    return sorted[k - 1];
}

int run(int argc, char** argv)
{
    fs::path stage;
    fs::path ingest;
    fs::path out;
    fs::path per_file;
    double rate = 0;
    double timeout = 60;
    std::vector<std::string> subsets = {"train", "duplicated", "rejected"};
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        const std::string v = argv[i + 1];
        if (a == "--stage") {
            stage = v;
        } else if (a == "--ingest") {
            ingest = v;
        } else if (a == "--out") {
            out = v;
        } else if (a == "--rate") {
            rate = std::stod(v);
        } else if (a == "--timeout") {
            timeout = std::stod(v);
        } else if (a == "--per-file") {
            per_file = v;
        } else if (a == "--subsets") {
            subsets = split(v);
        } else {
            std::cerr << "bench_live: unknown option " << a << "\n";
            return 64;
        }
    }
    if (stage.empty() || ingest.empty() || out.empty() || rate <= 0 || argc % 2 == 0) {
        std::cerr << "usage: bench_live --stage DIR --ingest DIR --out DIR --rate FILES_PER_S "
                     "[--subsets a,b,c] [--timeout S] [--per-file FILE]\n";
        return 64;
    }
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(stage)) {
        if (e.is_regular_file()) {
            names.push_back(e.path().filename().string());
        }
    }
    std::sort(names.begin(), names.end());
    if (names.empty()) {
        throw std::runtime_error(stage.string() + " holds no files");
    }
    // The daemon creates subset directories on first use; creating them now
    // lets the watch start before the first file is routed.
    std::vector<fs::path> dirs;
    for (const auto& s : subsets) {
        dirs.push_back(out / s);
        fs::create_directories(dirs.back());
    }
    const Watcher watcher(dirs);
    Arrivals arrivals;
    std::atomic<bool> stop{false};
    std::thread watch_thread([&] { watcher.run(arrivals, stop); });

    std::vector<Clock::time_point> sent(names.size());
    const auto start = Clock::now();
    const auto period = std::chrono::duration<double>(1.0 / rate);
    for (std::size_t i = 0; i < names.size(); ++i) {
        std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(period * i));
        sent[i] = Clock::now();
        fs::rename(stage / names[i], ingest / names[i]);
    }
    const double send_seconds = std::chrono::duration<double>(Clock::now() - start).count();

    const auto deadline =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout));
    while (Clock::now() < deadline) {
        {
            const std::scoped_lock lock(arrivals.mutex);
            if (arrivals.seen.size() >= names.size()) {
                break;
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    stop = true;
    watch_thread.join();

    std::vector<double> latencies_ms;
    std::ofstream per_file_out;
    if (!per_file.empty()) {
        per_file_out.open(per_file);
        if (!per_file_out) {
            throw std::runtime_error("cannot write " + per_file.string());
        }
    }
    for (std::size_t i = 0; i < names.size(); ++i) {
        const auto it = arrivals.seen.find(names[i]);
        const bool arrived = it != arrivals.seen.end();
        const double ms = arrived ? std::chrono::duration<double, std::milli>(it->second - sent[i]).count() : -1.0;
        if (arrived) {
            latencies_ms.push_back(ms);
        }
        if (per_file_out.is_open()) {
            per_file_out << i << ' ' << names[i] << ' ' << std::chrono::duration<double>(sent[i] - start).count() << ' '
                         << (arrived ? std::to_string(ms) : std::string("missing")) << '\n';
        }
    }
    std::sort(latencies_ms.begin(), latencies_ms.end());
    const std::size_t missing = names.size() - latencies_ms.size();
    std::cout << "files=" << names.size() << " rate="
              << rate
              // n files span n - 1 periods
              << " sent_per_s=" << static_cast<double>(names.size() - 1) / std::max(send_seconds, 1e-9)
              << " routed=" << latencies_ms.size() << " missing=" << missing;
    if (!latencies_ms.empty()) {
        std::cout << " p50_ms=" << percentile(latencies_ms, 0.50) << " p90_ms=" << percentile(latencies_ms, 0.90)
                  << " p99_ms=" << percentile(latencies_ms, 0.99) << " max_ms=" << latencies_ms.back();
    }
    std::cout << "\n";
    return missing == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv)
{
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "bench_live: " << e.what() << "\n";
        return 1;
    }
}
