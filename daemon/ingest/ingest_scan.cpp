// Backlog listing (see ingest_scan.hpp).
#include "daemon/ingest/ingest_scan.hpp"

#include <algorithm>

#include "daemon/telemetry/logger.hpp"

namespace ndrd::daemon {

namespace fs = std::filesystem;

bool is_hidden_name(std::string_view name)
{
    return !name.empty() && name.front() == '.';
}

std::vector<std::string> scan_ingest(const fs::path& root, const std::string& sub)
{
    std::vector<std::string> out;
    std::error_code ec;
    const fs::path start = sub.empty() ? root : root / sub;
    fs::recursive_directory_iterator it(start, fs::directory_options::skip_permission_denied, ec);
    if (ec) {
        log_warning("cannot list ", start.string(), ": ", ec.message());
        return out;
    }
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) {
            log_warning("error while listing ", start.string(), ": ", ec.message());
            break;
        }
        const auto& entry = *it;
        const std::string name = entry.path().filename().string();
        const bool is_dir = entry.is_directory(ec) && !entry.is_symlink(ec);
        if (is_hidden_name(name)) {
            if (is_dir) it.disable_recursion_pending();
            continue;
        }
        if (!is_dir) {
            out.push_back(entry.path().lexically_relative(root).string());
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace ndrd::daemon
