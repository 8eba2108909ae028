// The route room's parts as a configuration describes them: the index it
// opens, the projection, the output areas and the rebalance policy. Shared by
// the service, the commands and verify, so each reads the configuration alike.
#pragma once

#include "config/config.hpp"
#include "daemon/route/rebalancer.hpp"
#include "daemon/route/relocator.hpp"
#include "index/store/hash_index.hpp"

namespace ndrd::daemon {

// Opens (or creates) the index the configuration describes: a new index gets
// the imported projection file or one generated from `seed`; an existing one
// must match the configuration (index::IndexMismatch otherwise).
index::HashIndex open_index(const config::Config& cfg);

// open_index() for the commands beside the daemon, which never create an
// index: index::IndexMissing when index_dir holds none.
index::HashIndex open_existing_index(const config::Config& cfg);

// Whether an existing index agrees with the configuration as open_index()
// requires: empty when it does, else what differs (for `ndrd check`).
std::string index_disagreement(const config::Config& cfg, const index::HashIndex& idx);

// The configuration's projection: the gradient.projection file, or one
// generated from seed. Throws config::ConfigError naming the file.
index::Projection configured_projection(const config::Config& cfg);

// The projection `ndrd hash` uses: the index's if there is one, else the
// configuration's (imported file or generated from seed).
index::Projection projection_for(const config::Config& cfg, index::Grid& grid);

RebalancePolicy rebalance_policy(const config::Config& cfg);
Areas areas_of(const config::Config& cfg);

} // namespace ndrd::daemon
