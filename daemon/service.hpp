// Runs the pipeline as the daemon (`run`: backlog, then live inotify events
// until SIGTERM/SIGINT) or as a batch (`once`: backlog only, then exit), with
// the rebalancer beside it and the control socket in front of both.
#pragma once

#include <filesystem>

#include "config/config.hpp"

namespace ndrd::daemon {

enum class ServiceMode { run, once };

// Runs with `initial` (live settings may change on reload). Returns the
// process exit code. Throws config::ConfigError, index::IndexError.
// `config_file` is what SIGHUP re-reads (empty: reload is not possible).
int run_service(const config::Config& initial, ServiceMode mode, const std::filesystem::path& config_file = {});

} // namespace ndrd::daemon
