// Runs the pipeline as the daemon (`run`: backlog, then live inotify events
// until SIGTERM/SIGINT) or as a batch (`once`: backlog only, then exit), with
// the rebalancer beside it and the control socket in front of both.
#pragma once

#include <filesystem>

#include "config/config.hpp"
#include "daemon/rebalancer.hpp"
#include "index/hash_index.hpp"

namespace ndrd::daemon {

enum class ServiceMode { run, once };

// Opens (or creates) the index the configuration describes: a new index gets
// the imported projection file or one generated from `seed`; an existing one
// must match the configuration (index::IndexMismatch otherwise).
index::HashIndex open_index(const config::Config& cfg);

// The configuration's projection: the gradient.projection file, or one
// generated from seed. Throws config::ConfigError naming the file.
index::Projection configured_projection(const config::Config& cfg);

// The projection `ndrd hash` uses: the index's if there is one, else the
// configuration's (imported file or generated from seed).
index::Projection projection_for(const config::Config& cfg, index::Grid& grid);

RebalancePolicy rebalance_policy(const config::Config& cfg);
Areas areas_of(const config::Config& cfg);

// Runs with `initial` (live settings may change on reload). Returns the
// process exit code. Throws config::ConfigError, index::IndexError.
// `config_file` is what SIGHUP re-reads (empty: reload is not possible).
int run_service(const config::Config& initial, ServiceMode mode, const std::filesystem::path& config_file = {});

} // namespace ndrd::daemon
