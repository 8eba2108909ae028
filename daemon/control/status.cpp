// Status reporting (see status.hpp).
#include "daemon/control/status.hpp"

#include <iomanip>
#include <sstream>

#include "daemon/telemetry/json.hpp"

namespace ndrd::daemon {

std::string status_json(const index::HashIndex& index, const config::Config& cfg, const LiveStatus* live)
{
    const auto& p = index.params();
    const auto& c = index.counts();
    JsonObject o;
    o.add("ok", true).add("daemon", live != nullptr);
    if (live) {
        o.add("uptime_seconds", live->uptime_seconds)
            .add("queue_depth", static_cast<std::uint64_t>(live->queue_depth))
            .add("last_rebalance", live->last_rebalance)
            .add("paused", live->paused)
            .add("stuck_moves", static_cast<std::uint64_t>(live->stuck_moves))
            .add("files_per_second", live->files_per_second);
        for (const auto& [key, value] : {std::pair{"latency_p50_seconds", live->latency_p50_seconds},
                                         std::pair{"latency_p99_seconds", live->latency_p99_seconds}}) {
            if (value) {
                o.add(key, *value);
            } else {
                o.add_raw(key, "null");
            }
        }
    }
    o.add("index_dir", cfg.index_dir.string())
        .add("index_bytes", index.disk_bytes())
        .add("algorithm", p.algorithm)
        .add_raw("block_shape", "[" + std::to_string(p.grid.rows) + ", " + std::to_string(p.grid.cols) + "]")
        .add("hash_dim", static_cast<std::uint64_t>(p.hash_dim))
        .add("sim_threshold", cfg.gradient.sim_threshold)
        .add("probe_radius", static_cast<std::uint64_t>(cfg.gradient.probe_radius))
        .add("compat", config::to_string(cfg.compat))
        .add("items", index.next_seq() - 1)
        .add("kept", c.kept)
        .add("duplicated", c.duplicated)
        .add("rejected", c.rejected)
        .add("vanished", c.vanished)
        .add("cut", c.cut)
        .add("restored", c.restored)
        .add("released", c.released)
        .add("marked_duplicate", c.marked_duplicate)
        .add("pending_moves", c.planned)
        .add("working_subset", cfg.working_subset)
        .add("in_working", c.in_working)
        .add("duplicated_subset", cfg.duplicated_subset)
        .add("in_duplicated", c.in_duplicated)
        .add("in_rejected", c.in_rejected);
    if (cfg.num_cut) {
        o.add("num_cut", *cfg.num_cut);
    } else {
        o.add_raw("num_cut", "null");
    }
    return o.str();
}

std::string format_status(const boost::property_tree::ptree& s)
{
    const auto get = [&](const char* k) {
        return s.get<std::string>(k, "?");
    };
    // The JSON keeps every digit of a measured figure; a person reading the
    // status needs a few ("up 9.1 s", not "up 9.0526307690000003 s").
    // Either a number of decimals, or of significant digits (latencies:
    // 0.00214 s and 1.52 s alike).
    enum class Digits { decimals, significant };
    const auto number = [&](const char* k, int precision, Digits kind) {
        if (const auto v = s.get_optional<double>(k)) {
            std::ostringstream o;
            if (kind == Digits::decimals) {
                o << std::fixed;
            }
            o << std::setprecision(precision) << *v;
            return o.str();
        }
        return get(k); // absent, or not a number (null): as the daemon sent it
    };
    std::ostringstream out;
    if (s.get<bool>("daemon", false)) {
        out << "daemon:        running, up " << number("uptime_seconds", 1, Digits::decimals) << " s, queue "
            << get("queue_depth") << "\n"
            << "last minute:   " << number("files_per_second", 2, Digits::decimals)
            << " files/s, event-to-routed latency p50 " << number("latency_p50_seconds", 3, Digits::significant)
            << " s, p99 " << number("latency_p99_seconds", 3, Digits::significant) << " s\n";
        if (s.get<bool>("paused", false)) {
            out << "PAUSED:        the index refuses writes (disk full or read-only?); see the log\n";
        }
        if (s.get<std::uint64_t>("stuck_moves", 0) > 0) {
            out << "stuck moves:   " << get("stuck_moves") << " file(s) waiting for the output to accept them\n";
        }
        if (!get("last_rebalance").empty()) {
            out << "last rebalance: " << get("last_rebalance") << "\n";
        }
    } else {
        out << "daemon:        not running (read from the index)\n";
    }
    const auto kib = s.get<std::uint64_t>("index_bytes", 0) / 1024;
    std::string shape;
    for (const auto& v : s.get_child("block_shape")) {
        shape += (shape.empty() ? "" : ", ") + v.second.data();
    }
    out << "index:         " << get("index_dir") << " (" << kib << " KiB on disk)\n"
        << "parameters:    algorithm " << get("algorithm") << ", block_shape [" << shape << "], hash_dim "
        << get("hash_dim") << ", sim_threshold " << get("sim_threshold") << ", probe_radius " << get("probe_radius")
        << ", compat " << get("compat") << ", num_cut " << get("num_cut") << "\n"
        << "items:         " << get("items") << "\n"
        << "decisions:     " << get("kept") << " kept, " << get("duplicated") << " duplicated, " << get("rejected")
        << " rejected, " << get("vanished") << " vanished\n"
        << "rebalancing:   " << get("cut") << " cut, " << get("restored") << " restored\n"
        << "overrides:     " << get("released") << " released, " << get("marked_duplicate") << " marked duplicate\n"
        << "subsets:       " << get("working_subset") << " " << get("in_working") << ", " << get("duplicated_subset")
        << " " << get("in_duplicated") << ", rejected " << get("in_rejected") << "\n"
        << "pending moves: " << get("pending_moves") << "\n";
    return out.str();
}

} // namespace ndrd::daemon
