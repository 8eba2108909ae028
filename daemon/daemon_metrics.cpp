// ndrd's Prometheus metrics (see daemon_metrics.hpp).
#include "daemon/daemon_metrics.hpp"

#include <chrono>
#include <memory>

#include "daemon/telemetry/process_metrics.hpp"

namespace ndrd::daemon {

namespace {

std::int64_t unix_seconds_now()
{
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

} // namespace

DaemonMetrics::DaemonMetrics(const index::HashIndex& index, const Pipeline& pipeline)
    : decisions_(registry_.counter_family("ndrd_files_routed_total",
                                          "Files routed since start, by decision (kept, duplicated, rejected).",
                                          {"decision"})),
      rejections_(registry_.counter_family("ndrd_rejections_total", "Files moved to rejected/ since start, by reason.",
                                           {"reason"})),
      // Decoding a photo takes milliseconds; a 4000x3000 JPEG some tens.
      hash_seconds_(registry_.histogram("ndrd_hash_duration_seconds",
                                        "Time to read, decode and hash one file on a worker.",
                                        exponential_buckets(0.001, 2, 14))),
      latency_seconds_(registry_.histogram("ndrd_event_to_routed_seconds",
                                           "Time from a file's event (or start-up scan) to its move.",
                                           exponential_buckets(0.002, 2, 16))),
      rebalances_(registry_.counter("ndrd_rebalances_total", "Rebalances run since start.")),
      rebalance_failures_(
          registry_.counter("ndrd_rebalance_failures_total", "Rebalances stopped by an I/O or index error.")),
      rebalance_moves_(registry_.counter_family("ndrd_rebalance_moves_total",
                                                "Files moved by rebalancing since start: cut out of the working "
                                                "subset, or restored into it.",
                                                {"direction"})),
      retention_deleted_(registry_.counter_family("ndrd_retention_deleted_files_total",
                                                  "Files retention deleted since start, by area (duplicated, "
                                                  "rejected); their records stay, state expired.",
                                                  {"subset"})),
      retention_bytes_(
          registry_.counter("ndrd_retention_freed_bytes_total", "Bytes of the files retention deleted since start.")),
      // A quorum's acknowledgement on a LAN: about a millisecond; an election: seconds.
      append_seconds_(registry_.histogram("ndrd_cluster_append_seconds",
                                          "Time from appending an entry to the shared stream to having applied it.",
                                          exponential_buckets(0.0002, 2, 16))),
      last_routed_(registry_.gauge("ndrd_last_routed_timestamp_seconds",
                                   "When the last file was routed, seconds since the Unix epoch (0: none yet).")),
      reload_ok_(registry_.gauge("ndrd_config_last_reload_successful",
                                 "1 if the last configuration reload was applied (or none was asked), 0 if refused.")),
      reload_time_(registry_.gauge("ndrd_config_last_reload_success_timestamp_seconds",
                                   "When the configuration was last loaded successfully (start or reload)."))
{
    add_process_metrics(registry_);
    registry_.gauge_family("ndrd_build_info", "Always 1; the labels name the running build.", {"version"})
        .with({NDRD_VERSION})
        .set(1);
    reload_ok_.set(1);
    reload_time_.set(static_cast<double>(unix_seconds_now()));
    for (const char* d : {"kept", "duplicated", "rejected"}) {
        (void)decisions_.with({d});
    }
    for (const char* d : {"cut", "restored"}) {
        (void)rebalance_moves_.with({d});
    }
    for (const char* s : {"duplicated", "rejected"}) {
        (void)retention_deleted_.with({s});
    }
    auto& subsets =
        registry_.gauge_family("ndrd_subset_files", "Files now in each output area (from the index).", {"subset"});
    subsets.with({"working"}).set_callback([&index] { return static_cast<double>(index.counts().in_working); });
    subsets.with({"duplicated"}).set_callback([&index] { return static_cast<double>(index.counts().in_duplicated); });
    subsets.with({"rejected"}).set_callback([&index] { return static_cast<double>(index.counts().in_rejected); });
    registry_.gauge("ndrd_index_items", "Records in the index (every file ever decided).").set_callback([&index] {
        return static_cast<double>(index.next_seq() - 1);
    });
    registry_.gauge("ndrd_index_size_bytes", "Size of the index directory on disk.").set_callback([&index] {
        return static_cast<double>(index.disk_bytes());
    });
    registry_.gauge("ndrd_index_expired_items", "Records whose file retention deleted (the records stay).")
        .set_callback([&index] { return static_cast<double>(index.counts().expired); });
    registry_
        .gauge("ndrd_index_replaced_items",
               "Kept images a better copy replaced (keep: best); they are duplicates of it now.")
        .set_callback([&index] { return static_cast<double>(index.counts().replaced); });
    registry_.gauge("ndrd_queue_depth", "Files waiting or being hashed.").set_callback([&pipeline] {
        return static_cast<double>(pipeline.queue_depth());
    });
    registry_
        .gauge("ndrd_ingestion_paused",
               "1 while decisions wait: the index refuses writes (disk full or read-only), or the "
               "cluster's stream is out of reach.")
        .set_callback([&pipeline] { return pipeline.paused() ? 1.0 : 0.0; });
    registry_.gauge("ndrd_stuck_moves", "Decided files whose move waits for a retry.").set_callback([&pipeline] {
        return static_cast<double>(pipeline.stuck_moves());
    });
    registry_.gauge("ndrd_start_time_seconds", "Start time of the process, seconds since the Unix epoch.")
        .set(static_cast<double>(unix_seconds_now()));
}

void DaemonMetrics::watch_cluster(std::function<std::optional<ClusterStatus>()> status)
{
    const auto shared = std::make_shared<std::function<std::optional<ClusterStatus>()>>(std::move(status));
    const auto read = [shared](auto field) {
        return [shared, field] {
            const auto s = (*shared)();
            return s ? field(*s) : 0.0;
        };
    };
    registry_.gauge("ndrd_cluster_applied_entry", "The last entry of the shared stream this replica applied.")
        .set_callback(read([](const ClusterStatus& s) { return static_cast<double>(s.applied); }));
    registry_.gauge("ndrd_cluster_stream_last_entry", "The shared stream's last entry, when last asked.")
        .set_callback(read([](const ClusterStatus& s) { return static_cast<double>(s.stream_last); }));
    registry_.gauge("ndrd_cluster_lag_entries", "Entries of the shared stream this replica has yet to apply.")
        .set_callback(read([](const ClusterStatus& s) {
            return static_cast<double>(s.stream_last > s.applied ? s.stream_last - s.applied : 0);
        }));
    registry_.gauge("ndrd_cluster_stream_reachable", "1 while the shared stream answers, 0 during an outage.")
        .set_callback(read([](const ClusterStatus& s) { return s.reachable ? 1.0 : 0.0; }));
}

void DaemonMetrics::routed(const RoutedEvent& event)
{
    decisions_.with({index::to_string(event.record.verdict)}).inc();
    if (event.record.verdict == index::Verdict::rejected) {
        rejections_.with({event.reason_kind.empty() ? std::string_view("other") : event.reason_kind}).inc();
    }
    last_routed_.set(static_cast<double>(unix_seconds_now()));
    if (event.hash_seconds) hash_seconds_.observe(*event.hash_seconds);
    if (event.latency_seconds) latency_seconds_.observe(*event.latency_seconds);
}

void DaemonMetrics::rebalanced(const RebalanceReport& report)
{
    rebalances_.inc();
    rebalance_moves_.with({"cut"}).inc(report.cut.size());
    rebalance_moves_.with({"restored"}).inc(report.restored.size());
}

void DaemonMetrics::retained(const RetentionBatch& batch)
{
    retention_deleted_.with({"duplicated"}).inc(batch.duplicated);
    retention_deleted_.with({"rejected"}).inc(batch.rejected);
    retention_bytes_.inc(batch.bytes);
}

void DaemonMetrics::reloaded(bool ok)
{
    reload_ok_.set(ok ? 1 : 0);
    if (ok) reload_time_.set(static_cast<double>(unix_seconds_now()));
}

void DaemonMetrics::rebalance_failed()
{
    rebalances_.inc();
    rebalance_failures_.inc();
}

} // namespace ndrd::daemon
