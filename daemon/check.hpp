// `ndrd check`: everything that can be known about a configuration before
// the daemon runs with it (like `nginx -t`), without changing anything.
#pragma once

#include <filesystem>

namespace ndrd::daemon {

// Loads `config_file` (config::ConfigError when it is invalid), then checks
// the directories, the service user's permissions, the index and, for a
// packaged unit's configuration, the unit's sandbox grants. Prints one line
// per finding ("ok: ", "note: ", "problem: ") and, with `print`, the
// effective configuration. Returns 0 when no problem was found, else 1.
int check_command(const std::filesystem::path& config_file, bool print);

} // namespace ndrd::daemon
