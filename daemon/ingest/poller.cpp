// Polling for new files (see poller.hpp).
#include "daemon/ingest/poller.hpp"

#include <sys/stat.h>

#include "daemon/ingest/ingest_scan.hpp"

namespace ndrd::daemon {

Poller::Poller(boost::asio::io_context& io, std::filesystem::path root, std::chrono::seconds interval,
               FileHandler on_file)
    : timer_(io), root_(std::move(root)), interval_(interval), on_file_(std::move(on_file))
{
}

void Poller::start()
{
    stopped_ = false;
    scan();
    schedule();
}

void Poller::stop()
{
    stopped_ = true;
    timer_.cancel();
}

void Poller::schedule()
{
    timer_.expires_after(interval_);
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopped_) return;
        scan();
        schedule();
    });
}

void Poller::scan()
{
    std::map<std::string, std::pair<std::int64_t, std::int64_t>> now;
    std::set<std::string> odd;
    for (const auto& rel : scan_ingest(root_)) {
        struct stat st {};
        if (::lstat((root_ / rel).c_str(), &st) != 0) {
            continue;
        }
        if (!S_ISREG(st.st_mode)) {
            // Reported once, so it is logged and left alone, not every scan.
            if (!reported_odd_.contains(rel)) on_file_(rel);
            odd.insert(rel);
            continue;
        }
        const std::pair<std::int64_t, std::int64_t> sig{
            st.st_size, static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
        const auto it = last_seen_.find(rel);
        if (it != last_seen_.end() && it->second == sig) {
            on_file_(rel); // unchanged since the last scan: complete
        }
        now.emplace(rel, sig);
    }
    last_seen_ = std::move(now);
    reported_odd_ = std::move(odd);
}

} // namespace ndrd::daemon
