// Status reporting (see status.hpp).
#include "daemon/control/status.hpp"

#include <iomanip>
#include <sstream>

namespace ndrd::daemon {

namespace {

Json optional_number(const std::optional<double>& v)
{
    return v ? Json(*v) : Json(nullptr);
}

// Reads status_json's object as it came, from this version of the daemon or
// another: a field that is absent or of another type shows as "?".
class StatusFields {
public:
    explicit StatusFields(const Json& status) : status_(status) {}
    [[nodiscard]] const Json& raw() const { return status_; }

    // A string as it is, anything else as its JSON text ("null", "0.5").
    [[nodiscard]] std::string text(const char* key) const
    {
        const Json* v = find(key);
        if (v == nullptr) return "?";
        return v->is_string() ? v->get<std::string>() : v->dump();
    }
    [[nodiscard]] bool flag(const char* key) const
    {
        const Json* v = find(key);
        return v != nullptr && v->is_boolean() && v->get<bool>();
    }
    [[nodiscard]] std::uint64_t count(const char* key) const
    {
        const Json* v = find(key);
        return v != nullptr && v->is_number_unsigned() ? v->get<std::uint64_t>() : 0;
    }
    // The JSON keeps every digit of a measured figure; a person reading the
    // status needs a few ("up 9.1 s", not "up 9.0526307690000003 s"): a
    // number of decimals, or of significant digits (latencies: 0.00214 s
    // and 1.52 s alike).
    enum class Digits { decimals, significant };
    [[nodiscard]] std::string number(const char* key, int precision, Digits kind) const
    {
        const Json* v = find(key);
        if (v == nullptr || !v->is_number()) return text(key); // absent, or null: as the daemon sent it
        std::ostringstream o;
        if (kind == Digits::decimals) {
            o << std::fixed;
        }
        o << std::setprecision(precision) << v->get<double>();
        return o.str();
    }
    // "1, 2" for [1, 2].
    [[nodiscard]] std::string list(const char* key) const
    {
        const Json* v = find(key);
        if (v == nullptr || !v->is_array()) return text(key);
        std::string out;
        for (const auto& item : *v) {
            out += (out.empty() ? "" : ", ") + (item.is_string() ? item.get<std::string>() : item.dump());
        }
        return out;
    }

private:
    [[nodiscard]] const Json* find(const char* key) const
    {
        const auto it = status_.find(key);
        return it == status_.end() ? nullptr : &*it;
    }
    const Json& status_;
};

void add_live(Json& o, const LiveStatus& live)
{
    o["uptime_seconds"] = live.uptime_seconds;
    o["queue_depth"] = live.queue_depth;
    o["last_rebalance"] = live.last_rebalance;
    o["paused"] = live.paused;
    o["stuck_moves"] = live.stuck_moves;
    o["files_per_second"] = live.files_per_second;
    o["latency_p50_seconds"] = optional_number(live.latency_p50_seconds);
    o["latency_p99_seconds"] = optional_number(live.latency_p99_seconds);
    o["retention_deleted_files"] = live.retention_deleted_files;
    o["retention_freed_bytes"] = live.retention_freed_bytes;
    o["compacting"] = live.compacting;
    if (const auto& c = live.cluster) {
        o["cluster"] = Json{{"stream", c->stream},
                            {"instance", c->instance},
                            {"applied_entry", c->applied},
                            {"stream_last_entry", c->stream_last},
                            {"lag_entries", c->stream_last > c->applied ? c->stream_last - c->applied : 0},
                            {"reachable", c->reachable},
                            {"instances", c->instances}};
    }
}

std::string format_cluster(const Json& c)
{
    std::ostringstream out;
    std::string instances;
    for (const auto& i : c.value("instances", Json::array())) {
        instances += (instances.empty() ? "" : ", ") + i.get<std::string>();
    }
    out << "cluster:       instance " << c.value("instance", std::string()) << " on stream "
        << c.value("stream", std::string()) << "; applied " << c.value("applied_entry", std::uint64_t{0}) << " of "
        << c.value("stream_last_entry", std::uint64_t{0}) << " (lag " << c.value("lag_entries", std::uint64_t{0}) << ")"
        << (c.value("reachable", true) ? "" : ", STREAM OUT OF REACH") << "\n"
        << "instances:     " << instances << " (seen since start)\n";
    return out.str();
}

std::string format_live(const StatusFields& s)
{
    using Digits = StatusFields::Digits;
    std::ostringstream out;
    out << "daemon:        running, up " << s.number("uptime_seconds", 1, Digits::decimals) << " s, queue "
        << s.text("queue_depth") << "\n"
        << "last minute:   " << s.number("files_per_second", 2, Digits::decimals)
        << " files/s, event-to-routed latency p50 " << s.number("latency_p50_seconds", 3, Digits::significant)
        << " s, p99 " << s.number("latency_p99_seconds", 3, Digits::significant) << " s\n";
    if (s.flag("paused")) {
        out << "PAUSED:        decisions wait (the index refuses writes, or the cluster's stream is out of "
               "reach); see the log\n";
    }
    if (const auto it = s.raw().find("cluster"); it != s.raw().end() && it->is_object()) {
        out << format_cluster(*it);
    }
    if (s.count("stuck_moves") > 0) {
        out << "stuck moves:   " << s.text("stuck_moves") << " file(s) waiting for the output to accept them\n";
    }
    if (!s.text("last_rebalance").empty()) {
        out << "last rebalance: " << s.text("last_rebalance") << "\n";
    }
    if (s.count("retention_deleted_files") > 0 || s.flag("compacting")) {
        out << "since start:   retention deleted " << s.text("retention_deleted_files") << " file(s), "
            << s.count("retention_freed_bytes") / (1ULL << 20U) << " MiB"
            << (s.flag("compacting") ? "; compacting the index now" : "") << "\n";
    }
    return out.str();
}

// A retention age in seconds as the configuration would write it ("30d",
// "12h", "90s"), or "kept forever" (null).
std::string age_text(const StatusFields& s, const char* key)
{
    const auto it = s.raw().find(key);
    if (it == s.raw().end() || !it->is_number_unsigned()) {
        return it != s.raw().end() && it->is_null() ? "kept forever" : "?";
    }
    const auto secs = it->get<std::uint64_t>();
    for (const auto& [unit, size] : {std::pair{"d", 86400U}, std::pair{"h", 3600U}, std::pair{"m", 60U}}) {
        if (secs % size == 0) return "after " + std::to_string(secs / size) + unit;
    }
    return "after " + std::to_string(secs) + "s";
}

} // namespace

Json status_json(const index::HashIndex& index, const config::Config& cfg, const LiveStatus* live)
{
    const auto& p = index.params();
    const auto& c = index.counts();
    Json o;
    o["ok"] = true;
    o["daemon"] = live != nullptr;
    if (live) add_live(o, *live);
    o["index_dir"] = cfg.index_dir.string();
    const std::uint64_t index_bytes = index.disk_bytes();
    const std::uint64_t items = index.next_seq() - 1;
    o["index_bytes"] = index_bytes;
    o["index_bytes_per_item"] = items > 0 ? index_bytes / items : 0;
    o["algorithm"] = p.algorithm;
    o["block_shape"] = {p.grid.rows, p.grid.cols};
    o["hash_dim"] = p.hash_dim;
    o["exif_orientation"] = p.exif_orientation ? "apply" : "ignore";
    o["sim_threshold"] = cfg.gradient.sim_threshold;
    o["probe_radius"] = cfg.gradient.probe_radius;
    o["compat"] = config::to_string(cfg.compat);
    o["items"] = items;
    o["kept"] = c.kept;
    o["duplicated"] = c.duplicated;
    o["rejected"] = c.rejected;
    o["vanished"] = c.vanished;
    o["replaced"] = c.replaced;
    o["expired"] = c.expired;
    for (const auto& [key, age] : {std::pair{"retention_duplicated", cfg.retention.duplicated},
                                   std::pair{"retention_rejected", cfg.retention.rejected}}) {
        o[key] = age ? Json(static_cast<std::uint64_t>(age->count())) : Json(nullptr); // seconds; null: forever
    }
    o["cut"] = c.cut;
    o["restored"] = c.restored;
    o["released"] = c.released;
    o["marked_duplicate"] = c.marked_duplicate;
    o["pending_moves"] = c.planned;
    o["working_subset"] = cfg.working_subset;
    o["in_working"] = c.in_working;
    o["duplicated_subset"] = cfg.duplicated_subset;
    o["in_duplicated"] = c.in_duplicated;
    o["in_rejected"] = c.in_rejected;
    o["num_cut"] = cfg.num_cut ? Json(*cfg.num_cut) : Json(nullptr);
    return o;
}

std::string format_status(const Json& status)
{
    const StatusFields s(status);
    std::ostringstream out;
    if (s.flag("daemon")) {
        out << format_live(s);
    } else {
        out << "daemon:        not running (read from the index)\n";
    }
    out << "index:         " << s.text("index_dir") << " (" << s.count("index_bytes") / 1024 << " KiB on disk, "
        << s.text("index_bytes_per_item") << " bytes per item)\n"
        << "parameters:    algorithm " << s.text("algorithm") << ", block_shape [" << s.list("block_shape")
        << "], hash_dim " << s.text("hash_dim") << ", sim_threshold " << s.text("sim_threshold") << ", probe_radius "
        << s.text("probe_radius") << ", compat " << s.text("compat") << ", num_cut " << s.text("num_cut")
        << ", exif_orientation " << s.text("exif_orientation") << "\n"
        << "items:         " << s.text("items") << "\n"
        << "decisions:     " << s.text("kept") << " kept, " << s.text("duplicated") << " duplicated, "
        << s.text("rejected") << " rejected, " << s.text("vanished") << " vanished, " << s.text("replaced")
        << " replaced by a better copy\n"
        << "rebalancing:   " << s.text("cut") << " cut, " << s.text("restored") << " restored\n"
        << "overrides:     " << s.text("released") << " released, " << s.text("marked_duplicate")
        << " marked duplicate\n"
        << "subsets:       " << s.text("working_subset") << " " << s.text("in_working") << ", "
        << s.text("duplicated_subset") << " " << s.text("in_duplicated") << ", rejected " << s.text("in_rejected")
        << "\n"
        << "pending moves: " << s.text("pending_moves") << "\n"
        << "retention:     " << s.text("expired") << " expired (files deleted, records kept); duplicated "
        << age_text(s, "retention_duplicated") << ", rejected " << age_text(s, "retention_rejected") << "\n";
    return out.str();
}

} // namespace ndrd::daemon
