// The route room's configured parts (see configured.hpp).
#include "daemon/route/configured.hpp"

#include <fstream>
#include <sstream>

#include "daemon/telemetry/logger.hpp"

namespace ndrd::daemon {

namespace fs = std::filesystem;

namespace {

index::IndexParams params_of(const config::Config& cfg)
{
    return {cfg.algorithm,
            {cfg.gradient.grid_rows, cfg.gradient.grid_cols},
            cfg.gradient.hash_dim,
            cfg.exif_orientation == config::ExifOrientation::apply};
}

} // namespace

index::Projection configured_projection(const config::Config& cfg)
{
    const int rows = cfg.gradient.feature_dim();
    const int cols = cfg.gradient.hash_dim;
    if (!cfg.gradient.projection) {
        return index::Projection::generate(cfg.seed, rows, cols);
    }
    const fs::path& file = *cfg.gradient.projection;
    std::ifstream in(file);
    if (!in) {
        throw config::ConfigError("gradient.projection: cannot read " + file.string());
    }
    std::stringstream ss;
    ss << in.rdbuf();
    try {
        auto p = index::Projection::parse_text(ss.str(), rows, cols, file.string());
        if (const double err = p.orthonormality_error(); err > 1e-6) {
            log_warning("gradient.projection ", file.string(), ": columns are not orthonormal (max |PtP - I| = ", err,
                        "); keys are still well defined");
        }
        return p;
    } catch (const index::ProjectionError& e) {
        throw config::ConfigError(std::string("gradient.projection: ") + e.what());
    }
}

index::HashIndex open_index(const config::Config& cfg)
{
    const bool existed = index::HashIndex::exists(cfg.index_dir);
    auto idx = index::HashIndex::open(
        cfg.index_dir, params_of(cfg), [&] { return configured_projection(cfg); }, cfg.index_cache);
    if (existed && cfg.gradient.projection && !(configured_projection(cfg) == idx.projection())) {
        throw index::IndexMismatch("gradient.projection " + cfg.gradient.projection->string() +
                                   " differs from the projection stored in index " + cfg.index_dir.string() +
                                   "; keys would not be comparable. Use the index's projection or a new index_dir.");
    }
    idx.set_min_free_space(cfg.index_min_free);
    return idx;
}

index::HashIndex open_existing_index(const config::Config& cfg)
{
    if (!index::HashIndex::exists(cfg.index_dir)) {
        throw index::IndexMissing("no index at " + cfg.index_dir.string() +
                                  " (index_dir): only 'ndrd run' and 'ndrd once' create one; check the path with "
                                  "'ndrd check --print'");
    }
    return open_index(cfg);
}

std::string index_disagreement(const config::Config& cfg, const index::HashIndex& idx)
{
    if (!(idx.params() == params_of(cfg))) {
        return "index " + cfg.index_dir.string() + " was built with " + index::describe(idx.params()) +
               "; the configuration asks for " + index::describe(params_of(cfg)) +
               " (the daemon would refuse to start)";
    }
    if (cfg.gradient.projection && !(configured_projection(cfg) == idx.projection())) {
        return "gradient.projection " + cfg.gradient.projection->string() + " differs from the projection stored in " +
               "index " + cfg.index_dir.string() + " (the daemon would refuse to start)";
    }
    return {};
}

RebalancePolicy rebalance_policy(const config::Config& cfg)
{
    RebalancePolicy p;
    p.num_cut = cfg.num_cut;
    p.over =
        cfg.over_sample == config::OverSample::similarity ? index::OverSample::similarity : index::OverSample::random;
    p.under =
        cfg.under_sample == config::UnderSample::inverse ? index::UnderSample::inverse : index::UnderSample::uniform;
    p.seed = cfg.seed;
    return p;
}

Areas areas_of(const config::Config& cfg)
{
    return {cfg.working_subset, cfg.duplicated_subset, "rejected"};
}

index::Projection projection_for(const config::Config& cfg, index::Grid& grid)
{
    if (index::HashIndex::exists(cfg.index_dir)) {
        try {
            const auto idx = index::HashIndex::open_read_only(cfg.index_dir);
            grid = idx.params().grid;
            return idx.projection();
        } catch (const index::IndexMissing& e) {
            // An empty database from a failed first start: use the configuration.
            log_debug("index ", cfg.index_dir.string(), " holds no parameters yet (", e.what(), ")");
        }
    }
    grid = {cfg.gradient.grid_rows, cfg.gradient.grid_cols};
    return configured_projection(cfg);
}

} // namespace ndrd::daemon
