// Small helpers the benchmark tools share: a fixed random stream, which files
// to measure, reading a file the way ndrd does (one open, fstat, read into
// memory), medians.
#pragma once

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "index/hash/split_mix64.hpp"

namespace ndrd::bench {

// std:: distributions differ between standard libraries; this stream (shared
// with the projection) is fully specified, so the corpus is the same everywhere.
using index::SplitMix64;

// Each argument is a file or a directory; a directory contributes its regular
// files (not recursively) in name order, so runs see the same order ndrd's
// backlog scan does.
inline std::vector<std::filesystem::path> collect_files(const std::vector<std::string>& args)
{
    namespace fs = std::filesystem;
    std::vector<fs::path> files;
    for (const auto& a : args) {
        if (fs::is_directory(a)) {
            std::vector<fs::path> in_dir;
            for (const auto& e : fs::directory_iterator(a)) {
                if (e.is_regular_file()) {
                    in_dir.push_back(e.path());
                }
            }
            std::sort(in_dir.begin(), in_dir.end());
            files.insert(files.end(), in_dir.begin(), in_dir.end());
        } else if (fs::is_regular_file(a)) {
            files.emplace_back(a);
        } else {
            throw std::runtime_error(a + ": not a file or directory");
        }
    }
    if (files.empty()) {
        throw std::runtime_error("no files to measure");
    }
    return files;
}

// The whole file in memory. Plain POSIX calls, as ndrd's reader makes, so
// the read cost compares (ndrd adds O_NOFOLLOW and a type check, both cheap).
inline std::vector<unsigned char> read_file(const std::filesystem::path& path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        throw std::runtime_error("cannot open " + path.string() + ": " + std::strerror(errno));
    }
    struct stat st {};
    std::vector<unsigned char> bytes;
    if (::fstat(fd, &st) == 0) {
        bytes.resize(static_cast<std::size_t>(st.st_size));
    }
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            const int err = errno;
            ::close(fd);
            throw std::runtime_error("cannot read " + path.string() + ": " +
                                     (n == 0 ? "short read" : std::strerror(err)));
        }
        done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    return bytes;
}

inline double median(std::vector<double> v)
{
    if (v.empty()) {
        return 0.0;
    }
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

// Peak resident set size of this process so far, in MiB.
inline double peak_rss_mib()
{
    struct rusage ru {};
    ::getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_maxrss) / 1024.0; // ru_maxrss is in KiB on Linux
}

// "10000,100000,1000000" -> sizes (the --sizes option of the index benches).
inline std::vector<std::size_t> parse_sizes(const std::string& list)
{
    std::vector<std::size_t> out;
    std::istringstream in(list);
    std::string item;
    while (std::getline(in, item, ',')) {
        out.push_back(std::stoull(item));
    }
    return out;
}

} // namespace ndrd::bench
