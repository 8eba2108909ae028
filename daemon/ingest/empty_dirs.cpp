// Removing drained ingest subdirectories (see empty_dirs.hpp).
#include "daemon/ingest/empty_dirs.hpp"

#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "daemon/ingest/ingest_scan.hpp"

namespace ndrd::daemon {

namespace fs = std::filesystem;

namespace {

// Sweeps `dir` (relative `rel`); true when it was removed.
bool sweep(const fs::path& dir, const std::string& rel, fs::file_time_type cutoff, std::vector<std::string>& removed)
{
    std::error_code ec;
    const auto modified = fs::last_write_time(dir, ec); // before anything below is removed
    if (ec) return false;                               // gone meanwhile
    bool empty = true;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        const bool subdir = it->is_directory(ec) && !it->is_symlink(ec);
        std::string sub = rel;
        if (!sub.empty()) sub += '/';
        sub += name;
        if (!subdir || is_hidden_name(name) || !sweep(it->path(), sub, cutoff, removed)) {
            empty = false;
        }
    }
    if (ec) return false;
    if (rel.empty() || !empty || modified >= cutoff) return false;
    if (::rmdir(dir.c_str()) != 0) {
        const int err = errno;
        if (err == ENOTEMPTY || err == EEXIST || err == ENOENT || err == EBUSY) return false; // a writer won the race
        throw fs::filesystem_error("cannot remove empty ingest directory", dir,
                                   std::error_code(err, std::generic_category()));
    }
    removed.push_back(rel);
    return true;
}

} // namespace

std::vector<std::string> remove_empty_dirs(const fs::path& root, fs::file_time_type cutoff)
{
    std::vector<std::string> removed;
    (void)sweep(root, {}, cutoff, removed);
    return removed;
}

} // namespace ndrd::daemon
