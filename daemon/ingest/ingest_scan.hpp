// Lists what is waiting in the ingest directory (the backlog at start-up, a
// rescan after an inotify overflow, a new subdirectory's contents).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace ndrd::daemon {

// Names starting with '.' are skipped at every level: that is how rsync,
// browsers and most uploaders mark a file still being written before they
// rename it into place.
[[nodiscard]] bool is_hidden_name(std::string_view name);

// Every non-directory entry below root/sub (symlinks not followed), as paths
// relative to root, sorted lexicographically by byte value.
std::vector<std::string> scan_ingest(const std::filesystem::path& root, const std::string& sub = {});

} // namespace ndrd::daemon
