// The inotify watcher (see watcher.hpp).
#include "daemon/ingest/watcher.hpp"

#include <sys/inotify.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "daemon/ingest/ingest_scan.hpp"
#include "daemon/ingest/source_file.hpp"
#include "daemon/telemetry/logger.hpp"

namespace ndrd::daemon {

namespace fs = std::filesystem;

namespace {

constexpr std::uint32_t dir_mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF |
                                   IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK;

int make_inotify()
{
    const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) {
        throw WatchError(std::string("inotify_init1 failed: ") + std::strerror(errno) +
                         " (raise fs.inotify.max_user_instances?)");
    }
    return fd;
}

std::string join(const std::string& dir, const char* name)
{
    return dir.empty() ? std::string(name) : dir + "/" + name;
}

} // namespace

Watcher::Watcher(boost::asio::io_context& io, fs::path root, FileHandler on_file, RescanHandler on_rescan)
    : stream_(io, make_inotify()), root_(std::move(root)), on_file_(std::move(on_file)),
      on_rescan_(std::move(on_rescan)), buffer_(std::size_t{64} * 1024), settle_timer_(io), root_timer_(io)
{
}

Watcher::~Watcher() = default;

void Watcher::start()
{
    add_tree("", false);
    log_info("watching ", root_.string(), " (", dirs_.size(), " directories)");
    read_events();
}

void Watcher::stop()
{
    stopped_ = true;
    boost::system::error_code ec;
    stream_.cancel(ec);
    settle_timer_.cancel();
    root_timer_.cancel();
}

void Watcher::add_watch(const std::string& rel_dir)
{
    const fs::path dir = rel_dir.empty() ? root_ : root_ / rel_dir;
    const int wd = ::inotify_add_watch(stream_.native_handle(), dir.c_str(), dir_mask);
    if (wd < 0) {
        const int err = errno;
        if (err == ENOENT || err == ENOTDIR) return; // gone again, or replaced by a file
        if (err == ENOSPC && on_watch_limit_) {
            if (!watch_limit_hit_) {
                watch_limit_hit_ = true;
                on_watch_limit_();
            }
            return;
        }
        if (err == ENOSPC) {
            throw WatchError("cannot watch " + dir.string() +
                             ": out of inotify watches (raise fs.inotify.max_user_watches)");
        }
        throw WatchError("cannot watch " + dir.string() + ": " + std::strerror(err));
    }
    struct stat st {};
    ::stat(dir.c_str(), &st);
    dirs_[wd] = {rel_dir, st.st_ino};
}

// The directory left the tree (or is gone): stop watching it and everything
// below it, so nothing outside the ingest directory is ever reported.
void Watcher::drop_tree(int wd)
{
    const auto it = dirs_.find(wd);
    if (it == dirs_.end()) return;
    const std::string prefix = it->second.rel + "/";
    for (auto d = dirs_.begin(); d != dirs_.end();) {
        if (d->first == wd || d->second.rel.starts_with(prefix)) {
            ::inotify_rm_watch(stream_.native_handle(), d->first);
            d = dirs_.erase(d);
        } else {
            ++d;
        }
    }
}

// The ingest directory itself was removed or moved away: drop every watch
// and poll until a directory is back at its path, then watch and rescan it.
void Watcher::lose_root()
{
    for (const auto& [wd, dir] : dirs_) {
        ::inotify_rm_watch(stream_.native_handle(), wd);
    }
    dirs_.clear();
    log_error("the ingest directory ", root_.string(), " was removed or moved; waiting for it to come back");
    wait_for_root();
}

void Watcher::wait_for_root()
{
    root_timer_.expires_after(std::chrono::seconds(1));
    root_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopped_) return;
        std::error_code fec;
        if (!fs::is_directory(root_, fec)) {
            wait_for_root();
            return;
        }
        try {
            add_tree("", false);
        } catch (const WatchError& e) {
            log_error(e.what());
            wait_for_root();
            return;
        }
        log_info("the ingest directory ", root_.string(), " is back; rescanning it");
        on_rescan_();
    });
}

void Watcher::settle_later(const std::string& rel)
{
    unsettled_.push_back({rel, -1, -1});
    if (unsettled_.size() == 1) {
        check_unsettled();
    }
}

// A file nobody writes is reported at once; one still open for writing is
// left to its IN_CLOSE_WRITE (the directory's watch already exists). When
// the kernel cannot tell (a file we do not own), the file is reported once
// its size and mtime have not changed for a settle period.
void Watcher::check_unsettled()
{
    std::vector<Unsettled> still;
    for (auto& u : unsettled_) {
        struct stat st {};
        if (::lstat((root_ / u.rel).c_str(), &st) != 0) {
            continue; // gone: moved by the pipeline already, or deleted
        }
        const WriterState writer = S_ISREG(st.st_mode) ? writer_state(root_ / u.rel) : WriterState::none;
        if (writer == WriterState::open) {
            continue;
        }
        if (writer == WriterState::none) {
            on_file_(u.rel);
            continue;
        }
        const std::int64_t mtime = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
        if (u.size == st.st_size && u.mtime_ns == mtime) {
            on_file_(u.rel);
            continue;
        }
        u.size = st.st_size;
        u.mtime_ns = mtime;
        still.push_back(u);
    }
    unsettled_ = std::move(still);
    if (!unsettled_.empty() && !stopped_) {
        settle_timer_.expires_after(std::chrono::milliseconds(500));
        settle_timer_.async_wait([this](const boost::system::error_code& ec) {
            if (!ec) check_unsettled();
        });
    }
}

// Watches rel_dir and everything below it. For a directory that appeared
// while we run, files may have landed in it before its watch existed:
// report them (the pipeline ignores paths it already has).
void Watcher::add_tree(const std::string& rel_dir, bool report_files)
{
    add_watch(rel_dir);
    const fs::path dir = rel_dir.empty() ? root_ : root_ / rel_dir;
    std::error_code ec;
    std::vector<std::string> subdirs;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (is_hidden_name(name)) continue;
        std::error_code e2;
        if (entry.is_directory(e2) && !entry.is_symlink(e2)) {
            subdirs.push_back(join(rel_dir, name.c_str()));
        }
    }
    for (const auto& sub : subdirs) {
        add_tree(sub, report_files);
    }
    if (report_files) {
        for (const auto& file : scan_ingest(root_, rel_dir)) {
            if (fs::path(file).parent_path().string() == rel_dir) {
                settle_later(file);
            }
        }
    }
}

void Watcher::read_events()
{
    stream_.async_read_some(boost::asio::buffer(buffer_), [this](const boost::system::error_code& ec, std::size_t n) {
        if (stopped_ || ec == boost::asio::error::operation_aborted) {
            return;
        }
        if (ec) {
            log_error("reading inotify events failed: ", ec.message(), "; rescanning");
            on_rescan_();
        } else {
            std::size_t off = 0;
            while (off + sizeof(inotify_event) <= n) {
                const auto* ev = reinterpret_cast<const inotify_event*>(buffer_.data() + off); // NOLINT
                handle(*ev);
                off += sizeof(inotify_event) + ev->len;
            }
        }
        read_events();
    });
}

void Watcher::handle(const inotify_event& ev)
{
    if ((ev.mask & IN_Q_OVERFLOW) != 0U) {
        log_warning("inotify queue overflowed: events were lost, rescanning ", root_.string());
        on_rescan_();
        return;
    }
    if ((ev.mask & IN_IGNORED) != 0U) {
        dirs_.erase(ev.wd);
        return;
    }
    const auto it = dirs_.find(ev.wd);
    if (it == dirs_.end()) {
        return;
    }
    if ((ev.mask & (IN_MOVE_SELF | IN_DELETE_SELF)) != 0U) {
        // A rename inside the tree has already re-registered this watch under
        // the new name (IN_MOVED_TO comes first); anything else left the tree.
        struct stat st {};
        const fs::path now = it->second.rel.empty() ? root_ : root_ / it->second.rel;
        if (it->second.rel.empty()) {
            lose_root();
        } else if (::stat(now.c_str(), &st) != 0 || st.st_ino != it->second.ino) {
            drop_tree(ev.wd);
        }
        return;
    }
    if (ev.len == 0) {
        return;
    }
    const char* name = ev.name;
    if (is_hidden_name(name)) {
        return;
    }
    const std::string rel = join(it->second.rel, name);
    if ((ev.mask & IN_ISDIR) != 0U) {
        if ((ev.mask & (IN_CREATE | IN_MOVED_TO)) != 0U) {
            try {
                add_tree(rel, true);
            } catch (const WatchError& e) {
                log_error(e.what());
            }
        }
        return;
    }
    if ((ev.mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) != 0U) {
        on_file_(rel);
        return;
    }
    // A symlink, FIFO or socket is never closed after writing: report its
    // creation so it is logged (and left alone) instead of silently ignored.
    // A hard link (link(2)) brings a complete file with IN_CREATE alone.
    if ((ev.mask & IN_CREATE) != 0U) {
        struct stat st {};
        if (::lstat((root_ / rel).c_str(), &st) == 0 && (!S_ISREG(st.st_mode) || st.st_nlink > 1)) {
            on_file_(rel);
        }
    }
}

} // namespace ndrd::daemon
