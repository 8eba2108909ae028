// Writes a Config back as YAML (see effective.hpp).
#include "config/effective.hpp"

#include <chrono>
#include <string>

#include <yaml-cpp/yaml.h>

namespace ndrd::config {

namespace {

std::string seconds(std::chrono::seconds s)
{
    return std::to_string(s.count()) + "s";
}

template <typename T> void optional_value(YAML::Emitter& out, const char* key, const std::optional<T>& v)
{
    out << YAML::Key << key << YAML::Value;
    if (v) {
        out << *v;
    } else {
        out << YAML::Null;
    }
}

void optional_path(YAML::Emitter& out, const char* key, const std::optional<std::filesystem::path>& p)
{
    std::optional<std::string> s;
    if (p) s = p->string();
    optional_value(out, key, s);
}

void gradient(YAML::Emitter& out, const GradientParams& g)
{
    out << YAML::Key << "gradient" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "block_shape" << YAML::Value << YAML::Flow << YAML::BeginSeq << g.grid_rows << g.grid_cols
        << YAML::EndSeq;
    out << YAML::Key << "hash_dim" << YAML::Value << g.hash_dim;
    out << YAML::Key << "sim_threshold" << YAML::Value << g.sim_threshold;
    optional_path(out, "projection", g.projection);
    out << YAML::Key << "probe_radius" << YAML::Value << g.probe_radius;
    out << YAML::Key << "invariance" << YAML::Value << YAML::Flow << g.invariance;
    out << YAML::EndMap;
}

void cluster(YAML::Emitter& out, const std::optional<ClusterParams>& c)
{
    out << YAML::Key << "cluster" << YAML::Value;
    if (!c) {
        out << YAML::Null;
        return;
    }
    out << YAML::BeginMap;
    out << YAML::Key << "servers" << YAML::Value << YAML::Flow << c->servers;
    out << YAML::Key << "stream" << YAML::Value << c->stream;
    out << YAML::Key << "instance" << YAML::Value << c->instance;
    out << YAML::Key << "replicas" << YAML::Value << c->replicas;
    optional_path(out, "credentials", c->credentials);
    // The token is a secret: say whether one is set, never print it.
    out << YAML::Key << "token" << YAML::Value;
    if (c->token) {
        out << "(set)";
    } else {
        out << YAML::Null;
    }
    optional_path(out, "tls_ca", c->tls_ca);
    out << YAML::EndMap;
}

} // namespace

std::string to_yaml(const Config& cfg)
{
    YAML::Emitter out;
    out << YAML::BeginMap;
    out << YAML::Key << "base_dir" << YAML::Value << cfg.base_dir.string();
    out << YAML::Key << "ingest_dir" << YAML::Value << cfg.ingest_dir.string();
    out << YAML::Key << "output_dir" << YAML::Value << cfg.output_dir.string();
    out << YAML::Key << "index_dir" << YAML::Value << cfg.index_dir.string();
    out << YAML::Key << "working_subset" << YAML::Value << cfg.working_subset;
    out << YAML::Key << "duplicated_subset" << YAML::Value << cfg.duplicated_subset;
    out << YAML::Key << "algorithm" << YAML::Value << cfg.algorithm;
    gradient(out, cfg.gradient);
    out << YAML::Key << "compat" << YAML::Value << to_string(cfg.compat);
    out << YAML::Key << "keep" << YAML::Value << to_string(cfg.keep);
    out << YAML::Key << "seed" << YAML::Value << cfg.seed;
    out << YAML::Key << "workers" << YAML::Value << cfg.workers;
    optional_value(out, "num_cut", cfg.num_cut);
    out << YAML::Key << "over_sample" << YAML::Value << to_string(cfg.over_sample);
    out << YAML::Key << "under_sample" << YAML::Value << to_string(cfg.under_sample);
    out << YAML::Key << "rebalance" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "interval" << YAML::Value << seconds(cfg.rebalance.interval);
    optional_value(out, "after_items", cfg.rebalance.after_items);
    out << YAML::EndMap;
    out << YAML::Key << "log_level" << YAML::Value << to_string(cfg.log_level);
    out << YAML::Key << "log_routing" << YAML::Value << to_string(cfg.log_routing);
    out << YAML::Key << "max_file_size" << YAML::Value << cfg.max_file_size;
    out << YAML::Key << "max_pixels" << YAML::Value << cfg.max_pixels;
    out << YAML::Key << "decode_scale" << YAML::Value << to_string(cfg.decode_scale);
    out << YAML::Key << "exif_orientation" << YAML::Value << to_string(cfg.exif_orientation);
    out << YAML::Key << "index_min_free" << YAML::Value << cfg.index_min_free;
    out << YAML::Key << "index_cache" << YAML::Value << cfg.index_cache;
    out << YAML::Key << "watch" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "mode" << YAML::Value << (cfg.watch.mode == WatchMode::poll ? "poll" : "inotify");
    out << YAML::Key << "poll_interval" << YAML::Value << seconds(cfg.watch.poll_interval);
    out << YAML::EndMap;
    out << YAML::Key << "ingest" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "remove_empty_dirs" << YAML::Value << cfg.ingest.remove_empty_dirs;
    out << YAML::Key << "empty_dir_grace" << YAML::Value << seconds(cfg.ingest.empty_dir_grace);
    out << YAML::EndMap;
    out << YAML::Key << "retention" << YAML::Value << YAML::BeginMap;
    for (const auto& [key, age] :
         {std::pair{"duplicated", cfg.retention.duplicated}, std::pair{"rejected", cfg.retention.rejected}}) {
        std::optional<std::string> text;
        if (age) text = seconds(*age);
        optional_value(out, key, text);
    }
    out << YAML::EndMap;
    out << YAML::Key << "control_socket" << YAML::Value << cfg.control_socket_path().string();
    out << YAML::Key << "metrics" << YAML::Value << YAML::BeginMap;
    optional_value(out, "listen", cfg.metrics.listen);
    out << YAML::EndMap;
    cluster(out, cfg.cluster);
    out << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

} // namespace ndrd::config
