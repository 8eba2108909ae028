// Drained subdirectories of the ingest directory, removed once they have
// stayed empty for a grace period (date-partitioned camera trees would
// otherwise pile up, each holding an inotify watch).
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace ndrd::daemon {

// Removes, deepest first, every subdirectory of `root` (never `root`) that
// is empty and was last modified before `cutoff`, judged by its
// modification time before this sweep removed anything below it (so a
// drained date/hour tree goes in one sweep). Hidden directories (an
// uploader's scratch space) and symlinks are left alone, and rmdir(2)
// itself refuses a directory a writer has just put something in. Returns
// the removed directories, relative to `root`. Errors other than a
// directory gone or no longer empty are thrown as std::filesystem_error.
std::vector<std::string> remove_empty_dirs(const std::filesystem::path& root, std::filesystem::file_time_type cutoff);

} // namespace ndrd::daemon
