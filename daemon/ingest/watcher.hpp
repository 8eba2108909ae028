// inotify on the ingest directory and every subdirectory (including ones
// created later), on the Boost.Asio loop. Reports a file only once it is
// complete: IN_CLOSE_WRITE (written in place) or IN_MOVED_TO (renamed in);
// never on IN_CREATE of a file being written. A queue overflow asks the
// owner for a full rescan (as watchman does).
#pragma once

#include <sys/inotify.h>

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

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
    // Called (once) when a directory cannot be watched for lack of inotify
    // watches, so the owner can fall back to polling.
    void set_on_watch_limit(std::function<void()> fn) { on_watch_limit_ = std::move(fn); }
    [[nodiscard]] std::size_t watch_count() const { return dirs_.size(); }

private:
    struct WatchedDir {
        std::string rel; // relative to root
        ino_t ino = 0;
    };
    struct Unsettled {
        std::string rel;
        std::int64_t size = -1;
        std::int64_t mtime_ns = -1;
    };

    void add_tree(const std::string& rel_dir, bool report_files);
    void add_watch(const std::string& rel_dir);
    void drop_tree(int wd);
    void lose_root();
    void wait_for_root();
    void read_events();
    void handle(const inotify_event& ev);
    void settle_later(const std::string& rel);
    void check_unsettled();

    boost::asio::posix::stream_descriptor stream_;
    std::filesystem::path root_;
    FileHandler on_file_;
    RescanHandler on_rescan_;
    std::function<void()> on_watch_limit_;
    std::vector<char> buffer_;
    std::map<int, WatchedDir> dirs_; // by watch descriptor
    // Files found in a directory that appeared while we run: they may still
    // be open for writing (their IN_CLOSE_WRITE will come) or already
    // complete (no event will come). Reported once unchanged for a while.
    std::vector<Unsettled> unsettled_;
    boost::asio::steady_timer settle_timer_;
    boost::asio::steady_timer root_timer_;
    bool stopped_ = false;
    bool watch_limit_hit_ = false;
};

} // namespace ndrd::daemon
