// Reload planning (see reload.hpp).
#include "daemon/reload.hpp"

namespace ndrd::daemon {

namespace {

template <typename T> void compare(std::vector<std::string>& out, const char* key, const T& running, const T& fresh)
{
    if (!(running == fresh)) {
        out.emplace_back(key);
    }
}

} // namespace

ReloadPlan plan_reload(const config::Config& r, const config::Config& f)
{
    ReloadPlan p;
    // Keys, paths and the way files are noticed: changing any of them under
    // a running index would make old and new decisions incomparable or lose
    // track of files.
    compare(p.refused, "base_dir", r.base_dir, f.base_dir);
    compare(p.refused, "ingest_dir", r.ingest_dir, f.ingest_dir);
    compare(p.refused, "output_dir", r.output_dir, f.output_dir);
    compare(p.refused, "index_dir", r.index_dir, f.index_dir);
    compare(p.refused, "working_subset", r.working_subset, f.working_subset);
    compare(p.refused, "duplicated_subset", r.duplicated_subset, f.duplicated_subset);
    compare(p.refused, "algorithm", r.algorithm, f.algorithm);
    if (r.gradient.grid_rows != f.gradient.grid_rows || r.gradient.grid_cols != f.gradient.grid_cols) {
        p.refused.emplace_back("gradient.block_shape");
    }
    compare(p.refused, "gradient.hash_dim", r.gradient.hash_dim, f.gradient.hash_dim);
    compare(p.refused, "exif_orientation", r.exif_orientation, f.exif_orientation);
    compare(p.refused, "gradient.projection", r.gradient.projection, f.gradient.projection);
    compare(p.refused, "watch.mode", r.watch.mode, f.watch.mode);
    compare(p.refused, "watch.poll_interval", r.watch.poll_interval, f.watch.poll_interval);
    compare(p.refused, "control_socket", r.control_socket, f.control_socket);
    // Another stream or instance name is another replica.
    compare(p.refused, "cluster", r.cluster, f.cluster);
    // OpenCV reads its pixel limit once per process.
    compare(p.refused, "max_pixels", r.max_pixels, f.max_pixels);
    // RocksDB's cache is sized when the index opens.
    compare(p.refused, "index_cache", r.index_cache, f.index_cache);

    compare(p.changed, "gradient.sim_threshold", r.gradient.sim_threshold, f.gradient.sim_threshold);
    compare(p.changed, "gradient.probe_radius", r.gradient.probe_radius, f.gradient.probe_radius);
    compare(p.changed, "gradient.invariance", r.gradient.invariance, f.gradient.invariance);
    compare(p.changed, "compat", r.compat, f.compat);
    compare(p.changed, "keep", r.keep, f.keep);
    compare(p.changed, "seed", r.seed, f.seed);
    compare(p.changed, "workers", r.workers, f.workers);
    compare(p.changed, "num_cut", r.num_cut, f.num_cut);
    compare(p.changed, "over_sample", r.over_sample, f.over_sample);
    compare(p.changed, "under_sample", r.under_sample, f.under_sample);
    compare(p.changed, "rebalance.interval", r.rebalance.interval, f.rebalance.interval);
    compare(p.changed, "rebalance.after_items", r.rebalance.after_items, f.rebalance.after_items);
    compare(p.changed, "log_level", r.log_level, f.log_level);
    compare(p.changed, "log_routing", r.log_routing, f.log_routing);
    compare(p.changed, "ingest.remove_empty_dirs", r.ingest.remove_empty_dirs, f.ingest.remove_empty_dirs);
    compare(p.changed, "ingest.empty_dir_grace", r.ingest.empty_dir_grace, f.ingest.empty_dir_grace);
    compare(p.changed, "max_file_size", r.max_file_size, f.max_file_size);
    compare(p.changed, "index_min_free", r.index_min_free, f.index_min_free);
    compare(p.changed, "metrics.listen", r.metrics.listen, f.metrics.listen);
    compare(p.changed, "decode_scale", r.decode_scale, f.decode_scale);
    compare(p.changed, "retention.duplicated", r.retention.duplicated, f.retention.duplicated);
    compare(p.changed, "retention.rejected", r.retention.rejected, f.retention.rejected);
    return p;
}

config::Config apply_live(const config::Config& running, const config::Config& fresh)
{
    config::Config c = running;
    c.gradient.sim_threshold = fresh.gradient.sim_threshold;
    c.gradient.probe_radius = fresh.gradient.probe_radius;
    c.gradient.invariance = fresh.gradient.invariance;
    c.compat = fresh.compat;
    c.keep = fresh.keep;
    c.seed = fresh.seed;
    c.workers = fresh.workers;
    c.num_cut = fresh.num_cut;
    c.over_sample = fresh.over_sample;
    c.under_sample = fresh.under_sample;
    c.rebalance = fresh.rebalance;
    c.log_level = fresh.log_level;
    c.log_routing = fresh.log_routing;
    c.ingest = fresh.ingest;
    c.max_file_size = fresh.max_file_size;
    c.index_min_free = fresh.index_min_free;
    c.metrics = fresh.metrics;
    c.decode_scale = fresh.decode_scale;
    c.retention = fresh.retention;
    return c;
}

const std::vector<std::string>& restart_keys()
{
    static const std::vector<std::string> keys = {
        "base_dir",          "ingest_dir",          "output_dir",           "index_dir",         "working_subset",
        "duplicated_subset", "algorithm",           "gradient.block_shape", "gradient.hash_dim", "gradient.projection",
        "watch.mode",        "watch.poll_interval", "control_socket",       "cluster",           "max_pixels",
        "index_cache",       "exif_orientation"};
    return keys;
}

const std::vector<std::string>& live_keys()
{
    static const std::vector<std::string> keys = {"gradient.sim_threshold",
                                                  "gradient.probe_radius",
                                                  "gradient.invariance",
                                                  "compat",
                                                  "keep",
                                                  "seed",
                                                  "workers",
                                                  "num_cut",
                                                  "over_sample",
                                                  "under_sample",
                                                  "rebalance.interval",
                                                  "rebalance.after_items",
                                                  "log_level",
                                                  "log_routing",
                                                  "ingest.remove_empty_dirs",
                                                  "ingest.empty_dir_grace",
                                                  "max_file_size",
                                                  "index_min_free",
                                                  "metrics.listen",
                                                  "decode_scale",
                                                  "retention.duplicated",
                                                  "retention.rejected"};
    return keys;
}

std::string join_keys(const std::vector<std::string>& keys)
{
    std::string out;
    for (std::size_t i = 0; i < keys.size(); ++i) {
        if (i > 0) {
            out += i + 1 == keys.size() ? " and " : ", ";
        }
        out += keys[i];
    }
    return out;
}

} // namespace ndrd::daemon
