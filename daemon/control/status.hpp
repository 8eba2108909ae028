// What `ndrd status` reports, as one JSON object, whether it comes from the
// running daemon (over the control socket) or from the index read directly.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "daemon/telemetry/json.hpp"
#include "index/store/hash_index.hpp"

namespace ndrd::daemon {

// A member of a cluster: where this replica stands on the shared stream.
struct ClusterStatus {
    std::string stream;
    std::string instance;
    std::uint64_t applied = 0;     // the last entry this replica applied
    std::uint64_t stream_last = 0; // the stream's last entry, when last seen
    bool reachable = true;
    std::vector<std::string> instances; // origins of the items applied since start, this one included
};

struct LiveStatus {
    std::size_t queue_depth = 0;
    double uptime_seconds = 0;
    std::string last_rebalance;                // summary line, empty if none yet
    bool paused = false;                       // the index refuses writes (disk full, read-only)
    std::size_t stuck_moves = 0;               // decided files whose move waits for a retry
    double files_per_second = 0;               // routed, over the last minute
    std::optional<double> latency_p50_seconds; // event to routed, last minute
    std::optional<double> latency_p99_seconds;
    std::optional<ClusterStatus> cluster;
    std::uint64_t retention_deleted_files = 0; // since start
    std::uint64_t retention_freed_bytes = 0;
    bool compacting = false; // the index is being compacted
};

// `live` is null when read from the index without a daemon.
Json status_json(const index::HashIndex& index, const config::Config& cfg, const LiveStatus* live);

// Human-readable rendering of status_json's object.
std::string format_status(const Json& status);

} // namespace ndrd::daemon
