// Finds new files by scanning the ingest directory on a timer, for network
// file systems where inotify sees nothing, and as the fallback when inotify
// runs out of watches. A regular file is reported once its size and mtime
// are the same in two consecutive scans (it is no longer being written).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace ndrd::daemon {

class Poller {
public:
    using FileHandler = std::function<void(const std::string& relative_path)>;

    Poller(boost::asio::io_context& io, std::filesystem::path root, std::chrono::seconds interval, FileHandler on_file);

    // Scans now and then every interval.
    void start();
    void stop();
    // One scan, reporting what has settled since the previous one.
    void scan();

private:
    void schedule();

    boost::asio::steady_timer timer_;
    std::filesystem::path root_;
    std::chrono::seconds interval_;
    FileHandler on_file_;
    std::map<std::string, std::pair<std::int64_t, std::int64_t>> last_seen_; // path -> (size, mtime ns)
    std::set<std::string> reported_odd_;                                     // non-regular files already reported once
    bool stopped_ = false;
};

} // namespace ndrd::daemon
