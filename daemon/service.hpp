// Runs the pipeline as the daemon (`run`: backlog, then live inotify events
// until SIGTERM/SIGINT) or as a batch (`once`: backlog only, then exit), with
// the rebalancer beside it and the control socket in front of both.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "config/config.hpp"
#include "daemon/cluster/jetstream_stream.hpp"
#include "daemon/control/control_server.hpp"
#include "daemon/control/status.hpp"
#include "daemon/daemon_metrics.hpp"
#include "daemon/ingest/poller.hpp"
#include "daemon/ingest/watcher.hpp"
#include "daemon/route/decisions.hpp"
#include "daemon/route/pipeline.hpp"
#include "daemon/route/rebalancer.hpp"
#include "daemon/route/relocator.hpp"
#include "daemon/route/retention.hpp"
#include "daemon/route/router.hpp"
#include "daemon/telemetry/json.hpp"
#include "daemon/telemetry/metrics_server.hpp"
#include "daemon/telemetry/notifier.hpp"
#include "daemon/telemetry/recent_activity.hpp"
#include "index/store/hash_index.hpp"

namespace ndrd::daemon {

enum class ServiceMode { run, once };

// What asked for a rebalance.
enum class RebalanceTrigger {
    backlog_done, // the start-up backlog is routed (a changed num_cut or policy applies)
    after_items,  // rebalance.after_items files were routed since the last one
    interval,     // rebalance.interval passed
    request,      // `ndrd rebalance` over the control socket
};

// The daemon's parts, wired on one event loop: the index, the pipeline and
// its moves, the rebalancer, the watch (inotify or polling), the control
// socket, metrics and systemd's notifications. Everything runs on the loop.
class Service {
public:
    // Opens the index (waiting for disk space when there is none) and wires
    // the parts; no file is moved or watched before run(). `config_file` is
    // what SIGHUP re-reads (empty: reload is not possible). Throws
    // config::ConfigError, index::IndexError.
    Service(config::Config initial, ServiceMode mode, std::filesystem::path config_file);
    Service(const Service&) = delete;
    Service& operator=(const Service&) = delete;
    ~Service();

    // Settles moves a killed process left journaled, routes the backlog and
    // then (run) live events until SIGTERM/SIGINT, (once) nothing more.
    // Prints (once) or logs (run) the summary. Returns the exit code.
    int run();

    // SIGHUP or `ndrd reload`: re-reads the configuration file and applies
    // its live settings. A file that does not load, or that changes a
    // restart-only setting, changes nothing: the daemon goes on with what it
    // has (see reload.hpp). Returns {"ok", "file", "applied",
    // "restart_needed"[, "error"]} for the control socket.
    Json reload();

    // Brings the working subset to num_cut now. Returns the answer for the
    // control socket: the report, or the error that stopped the run (what
    // was journaled is settled by the next one; the daemon goes on).
    std::string rebalance(RebalanceTrigger trigger);

private:
    using Clock = std::chrono::steady_clock;

    // One control-socket command: its name and what answers it.
    struct ControlCommand {
        std::string_view name;
        std::function<std::string(const Json& request)> answer;
    };

    // Start-up and the backlog.
    void start_watching();
    void start_polling();
    void start_control();
    void start_metrics();
    std::vector<std::string> scan_backlog();
    [[nodiscard]] std::vector<std::string> waiting_files() const;
    void submit_waiting_files();
    void install_signal_handlers();
    void announce_ready();

    // A member of a cluster: the shared stream, applied as it grows.
    void catch_up_at_start();
    [[nodiscard]] std::string rebalance_id(RebalanceTrigger trigger) const;
    void schedule_follow();
    void follow();
    void report_vanished();
    void settle_pending_moves();
    [[nodiscard]] std::optional<HostFacts> own_file(const index::ItemRecord& rec) const;
    [[nodiscard]] std::optional<ClusterStatus> cluster_status();

    // Live events.
    void on_routed(const RoutedEvent& event);
    void on_idle();
    void finish_backlog();
    void show_progress();

    // Reload, signals and timers.
    void apply_reload(const config::Config& fresh);
    void wait_for_stop_signal();
    void wait_for_hup();
    void schedule_summary();
    void schedule_empty_dir_sweep();
    void schedule_rebalance();
    void schedule_heartbeat();

    // Retention, on the loop's idle time, and compaction of the index, on a
    // thread of its own (minutes on a large index: the loop, and systemd's
    // watchdog, go on meanwhile).
    void schedule_retention(std::chrono::milliseconds delay);
    bool retention_step();  // true when more files may be due now
    void retention_sweep(); // `once`: the whole index, then compaction if it expired many
    void note_retention(const RetentionBatch& b);
    void compact_request(ControlServer::Reply reply);
    void start_compaction(const std::string& why);
    void compaction_done(const Json& answer);
    void stop_compaction();

    // Control commands.
    std::vector<ControlCommand> control_commands();
    std::string answer(std::string_view command, const Json& request);
    std::string status_answer();
    std::string override_answer(index::Override action, const Json& request);
    // `snapshot`: a checkpoint of the index the daemon holds, at the request's
    // absolute "dir" (relative would resolve against the daemon's working
    // directory, not the caller's). Answers dir, applied_entry and items.
    std::string snapshot_answer(const Json& request);

    // Status, shutdown and summary.
    [[nodiscard]] std::string status_line() const;
    void maybe_status();
    void shut_down(int signal);
    void report_summary();

    // The live settings change on reload; everything else keeps its value
    // from start-up (see reload.hpp).
    config::Config cfg_;
    const ServiceMode mode_;
    const std::filesystem::path config_file_;
    const Clock::time_point started_;
    index::HashIndex idx_;
    boost::asio::io_context io_;
    const Router router_;
    Relocator relocator_;
    Decisions decisions_;               // this host's one way into the decision stream
    JetStreamStream* shared_ = nullptr; // decisions_' stream, when several hosts share it
    Pipeline pipeline_;
    Rebalancer rebalancer_;
    Retention retention_;
    DaemonMetrics metrics_;
    RecentActivity recent_;
    Notifier notifier_;
    std::optional<MetricsServer> metrics_server_;
    std::optional<Watcher> watcher_;
    std::optional<Poller> poller_;
    std::optional<ControlServer> control_;
    const std::vector<ControlCommand> commands_;
    // Installed once the backlog is scanned: until then nothing is in flight,
    // and the default action of SIGTERM is a clean way out.
    std::optional<boost::asio::signal_set> stop_signals_;
    std::optional<boost::asio::signal_set> hup_signal_;
    boost::asio::steady_timer summary_timer_;
    boost::asio::steady_timer sweep_timer_;
    boost::asio::steady_timer rebalance_timer_;
    boost::asio::steady_timer heartbeat_timer_;
    boost::asio::steady_timer follow_timer_;
    boost::asio::steady_timer retention_timer_;
    RetentionBatch retention_total_;             // since start
    std::uint64_t expired_since_compaction_ = 0; // items retention expired since the last compaction
    std::thread compactor_;
    std::atomic<bool> cancel_compaction_{false};
    bool compacting_ = false;
    std::vector<ControlServer::Reply> compaction_waiters_; // `ndrd compact` callers, answered when it ends
    bool stream_reachable_ = true;
    std::uint64_t stream_last_ = 0;    // the shared stream's last entry, when last asked
    std::set<std::uint64_t> vanished_; // own items found gone, for the stream to say so
    const std::chrono::microseconds heartbeat_period_;

    bool stopping_ = false;
    bool backlog_done_ = false;
    bool progress_ = false; // a batch run on a terminal shows its progress
    std::size_t backlog_total_ = 0;
    std::optional<RebalanceReport> last_rebalance_;
    std::uint64_t routed_since_rebalance_ = 0;
    std::uint64_t routed_at_last_summary_ = 0;
    Clock::time_point last_status_;
    Clock::time_point last_progress_;
};

// An instance's configuration whose index is missing while its data from
// the layout before 0.2.0 (/var/lib/ndrd/NAME) is still there: starting
// would begin a new, empty index beside it. Throws config::ConfigError
// naming the move to make.
void refuse_old_instance_layout(const std::filesystem::path& config_file, const config::Config& cfg);

// `ndrd run` and `ndrd once`: a Service, run. Returns the process exit code.
int run_service(const config::Config& initial, ServiceMode mode, const std::filesystem::path& config_file = {});

} // namespace ndrd::daemon
