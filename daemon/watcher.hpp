// inotify on the ingest directory and every subdirectory (including ones
// created later), on the Boost.Asio loop. Reports a file only once it is
// complete: IN_CLOSE_WRITE (written in place) or IN_MOVED_TO (renamed in);
// never on IN_CREATE. A queue overflow asks the owner for a full rescan.
#pragma once

#include <sys/inotify.h>

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

namespace ndrd::daemon {

class WatchError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Watcher {
public:
    using FileHandler = std::function<void(const std::string& relative_path)>;
    using RescanHandler = std::function<void()>;

    Watcher(boost::asio::io_context& io, std::filesystem::path root, FileHandler on_file, RescanHandler on_rescan);
    Watcher(const Watcher&) = delete;
    Watcher& operator=(const Watcher&) = delete;
    ~Watcher();

    // Adds watches on the whole tree and starts reading events. Files already
    // present are not reported: the caller scans the backlog after start().
    void start();
    void stop();
    [[nodiscard]] std::size_t watch_count() const { return dirs_.size(); }

private:
    void add_tree(const std::string& rel_dir, bool report_files);
    void add_watch(const std::string& rel_dir);
    void read_events();
    void handle(const inotify_event& ev);

    boost::asio::posix::stream_descriptor stream_;
    std::filesystem::path root_;
    FileHandler on_file_;
    RescanHandler on_rescan_;
    std::map<int, std::string> dirs_;  // watch descriptor -> directory relative to root
    std::vector<char> buffer_;
    bool stopped_ = false;
};

}  // namespace ndrd::daemon
