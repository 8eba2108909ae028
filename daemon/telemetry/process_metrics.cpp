// process_* metrics from /proc (see process_metrics.hpp), computed as the
// Prometheus Go and Python clients do.
#include "daemon/telemetry/process_metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace ndrd::daemon {

namespace {

// The fields of /proc/self/stat after the command name (which may hold
// spaces and parentheses, hence the last ')'): index 0 is field 3, state.
std::vector<std::string> stat_fields()
{
    std::ifstream in("/proc/self/stat");
    const std::string line((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto end_of_name = line.rfind(')');
    if (end_of_name == std::string::npos) return {};
    std::istringstream rest(line.substr(end_of_name + 1));
    return {std::istream_iterator<std::string>(rest), std::istream_iterator<std::string>()};
}

double field(const std::vector<std::string>& fields, std::size_t stat_number)
{
    const std::size_t i = stat_number - 3;
    return i < fields.size() ? std::stod(fields[i]) : 0.0;
}

// Seconds since the epoch at boot, from /proc/stat's btime.
double boot_time()
{
    std::ifstream in("/proc/stat");
    std::string key;
    double value = 0;
    while (in >> key) {
        if (key == "btime") {
            in >> value;
            return value;
        }
        in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
    }
    return 0;
}

double open_fds()
{
    std::error_code ec;
    double n = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) {
        ++n;
    }
    return n > 0 ? n - 1 : 0; // without the descriptor the listing itself holds
}

} // namespace

void add_process_metrics(MetricsRegistry& registry)
{
    const auto ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    const auto page = static_cast<double>(::sysconf(_SC_PAGESIZE));
    auto& cpu = registry.counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.");
    // The counter follows the kernel's total: each scrape adds what was
    // spent since the last one.
    auto counted = std::make_shared<double>(0.0);
    registry.on_collect([&cpu, counted, ticks] {
        const auto f = stat_fields();
        const double total = (field(f, 14) + field(f, 15)) / ticks; // utime + stime
        if (total > *counted) {
            cpu.add(total - *counted);
            *counted = total;
        }
    });
    registry.gauge("process_resident_memory_bytes", "Resident memory size in bytes.").set_callback([page] {
        return field(stat_fields(), 24) * page; // rss, in pages
    });
    registry.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.").set_callback([] {
        return field(stat_fields(), 23); // vsize, in bytes
    });
    registry.gauge("process_open_fds", "Number of open file descriptors.").set_callback(open_fds);
    registry.gauge("process_max_fds", "Maximum number of open file descriptors.").set_callback([] {
        rlimit rl{};
        if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 0.0;
        return static_cast<double>(rl.rlim_cur);
    });
    const double start = boot_time() + field(stat_fields(), 22) / ticks; // starttime, in ticks since boot
    registry.gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.").set(start);
}

} // namespace ndrd::daemon
