// The metrics ndrd exposes to Prometheus: what it decided and rejected, how
// long hashing and event-to-routed took, what rebalancing moved, and the
// sizes of its queue, subsets and index. Names follow Prometheus conventions.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "daemon/control/status.hpp"
#include "daemon/route/pipeline.hpp"
#include "daemon/route/rebalancer.hpp"
#include "daemon/route/retention.hpp"
#include "daemon/telemetry/metrics.hpp"
#include "index/store/hash_index.hpp"

namespace ndrd::daemon {

class DaemonMetrics {
public:
    // Gauges read `index` and `pipeline` at scrape time (on the loop).
    DaemonMetrics(const index::HashIndex& index, const Pipeline& pipeline);

    void routed(const RoutedEvent& event);
    void rebalanced(const RebalanceReport& report);
    void rebalance_failed();
    // Files a retention step deleted.
    void retained(const RetentionBatch& batch);
    // The outcome of a configuration reload (SIGHUP or `ndrd reload`).
    void reloaded(bool ok);

    // A member of a cluster: gauges of its place on the shared stream, read
    // from `status` at scrape time, and the time appends take.
    void watch_cluster(std::function<std::optional<ClusterStatus>()> status);
    void appended(double seconds) { append_seconds_.observe(seconds); }

    [[nodiscard]] std::string render() const { return registry_.render(); }

private:
    MetricsRegistry registry_;
    CounterFamily& decisions_;
    CounterFamily& rejections_;
    Histogram& hash_seconds_;
    Histogram& latency_seconds_;
    Counter& rebalances_;
    Counter& rebalance_failures_;
    CounterFamily& rebalance_moves_;
    CounterFamily& retention_deleted_;
    Counter& retention_bytes_;
    Histogram& append_seconds_;
    Gauge& last_routed_;
    Gauge& reload_ok_;
    Gauge& reload_time_;
};

} // namespace ndrd::daemon
