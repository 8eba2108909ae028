// The daemon's main loop (see service.hpp).
#include "daemon/service.hpp"

#include <unistd.h>

#include <boost/asio/post.hpp>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <thread>
#include <utility>

#include "config/locations.hpp"
#include "daemon/cluster/cluster_stream.hpp"
#include "daemon/control/query.hpp"
#include "daemon/control/status.hpp"
#include "daemon/ingest/empty_dirs.hpp"
#include "daemon/ingest/hasher.hpp"
#include "daemon/ingest/ingest_scan.hpp"
#include "daemon/ingest/source_file.hpp"
#include "daemon/reload.hpp"
#include "daemon/route/configured.hpp"
#include "daemon/route/match_rule.hpp"
#include "daemon/route/overrides.hpp"
#include "daemon/telemetry/logger.hpp"
#include "index/image/decode.hpp"

namespace ndrd::daemon {

namespace {

std::string rate(std::uint64_t n, double seconds)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", seconds > 0 ? static_cast<double>(n) / seconds : 0.0);
    return buf;
}

std::string_view describe(RebalanceTrigger trigger)
{
    switch (trigger) {
    case RebalanceTrigger::backlog_done: return "the backlog is done";
    case RebalanceTrigger::after_items: return "rebalance.after_items files were routed";
    case RebalanceTrigger::interval: return "rebalance.interval passed";
    case RebalanceTrigger::request: return "asked over the control socket";
    }
    return "?";
}

// How often retention looks for files that are due, when the loop is idle.
constexpr std::chrono::milliseconds retention_period{1000};
// The daemon compacts the index by itself once retention has expired this
// many items since the last compaction (or the start).
constexpr std::uint64_t compact_after_expired = 1000;

// An age as the configuration writes it: "30d", "12h", "90s".
std::string age_text(std::chrono::seconds age)
{
    const auto secs = age.count();
    for (const auto& [unit, size] : {std::pair{"d", 86400}, std::pair{"h", 3600}, std::pair{"m", 60}}) {
        if (secs % size == 0) return std::to_string(secs / size) + unit;
    }
    return std::to_string(secs) + "s";
}

std::string mib_text(std::uint64_t bytes)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
    return buf;
}

// Opening the index writes to it (a new log, a new manifest): on a full disk,
// wait for space rather than fail or crash. Nothing is in flight yet, so the
// default SIGTERM action is a clean way out of the wait.
void wait_for_index_space(const config::Config& cfg)
{
    auto delay = std::chrono::seconds(1);
    Notifier notifier;
    while (auto problem = index::HashIndex::space_problem(cfg.index_dir, cfg.index_min_free)) {
        log_error("cannot start: ", *problem, "; checking again in ", delay.count(), " s");
        notifier.status("waiting for space: " + *problem);
        // Waiting is the plan, not a hang: keep systemd's start timeout away.
        notifier.extend_timeout(delay + std::chrono::seconds(30));
        std::this_thread::sleep_for(delay);
        delay = std::min(delay * 2, std::chrono::seconds(60));
    }
}

// The start-up before anything is wired: logging, the decoder, the
// directories, and the index once its disk has room.
index::HashIndex open_service_index(const config::Config& cfg)
{
    set_log_level(cfg.log_level);
    index::configure_decoder();
    config::prepare_directories(cfg);
    wait_for_index_space(cfg);
    auto idx = open_index(cfg);
    const auto& c = idx.counts();
    log_info("index ", cfg.index_dir.string(), ": ", c.kept, " kept, ", c.duplicated, " duplicated, ", c.rejected,
             " rejected; hash_dim ", idx.params().hash_dim, ", sim_threshold ", cfg.gradient.sim_threshold, ", ",
             cfg.effective_workers(), " worker(s)");
    if (const auto upgraded = idx.upgraded_digest_entries()) {
        log_info("index ", cfg.index_dir.string(), ": upgraded to this version's format (", *upgraded,
                 " digest entries rewritten); an older ndrd can no longer open it");
    }
    return idx;
}

// The shared stream when the configuration names a cluster; none (the
// in-process stream) on a single host.
std::unique_ptr<EntryStream> decision_stream(const config::Config& cfg, const index::HashIndex& idx)
{
    if (!cfg.cluster) {
        return nullptr;
    }
    Notifier notifier;
    return open_cluster_stream(*cfg.cluster, idx, [&](const std::string& why) {
        notifier.status("waiting for the cluster: " + why);
        notifier.extend_timeout(std::chrono::seconds(60));
    });
}

PipelineOptions pipeline_options(const config::Config& cfg)
{
    PipelineOptions opt;
    opt.ingest_dir = cfg.ingest_dir;
    opt.rule = match_rule(cfg);
    opt.exact_copy_rule = cfg.exact_copy_rule();
    opt.keep = keep_rule(cfg);
    opt.max_file_size = cfg.max_file_size;
    opt.max_pixels = cfg.max_pixels;
    opt.workers = cfg.effective_workers();
    opt.reduced_decode = cfg.decode_scale == config::DecodeScale::automatic;
    opt.routing_log = cfg.log_routing;
    return opt;
}

} // namespace

Service::Service(config::Config initial, ServiceMode mode, std::filesystem::path config_file)
    : cfg_(std::move(initial)), mode_(mode), config_file_(std::move(config_file)), started_(Clock::now()),
      idx_(open_service_index(cfg_)), router_(cfg_.ingest_dir, cfg_.output_dir),
      relocator_(idx_, router_, areas_of(cfg_)),
      decisions_(idx_, relocator_, stream_rules(cfg_), decision_stream(cfg_, idx_),
                 cfg_.cluster ? cfg_.cluster->instance : std::string()),
      shared_(dynamic_cast<JetStreamStream*>(&decisions_.stream())),
      pipeline_(io_, pipeline_options(cfg_), idx_, relocator_, decisions_),
      rebalancer_(idx_, relocator_, rebalance_policy(cfg_), &decisions_),
      retention_(idx_, router_, areas_of(cfg_), decisions_, cfg_.retention), metrics_(idx_, pipeline_),
      commands_(control_commands()), summary_timer_(io_), sweep_timer_(io_), rebalance_timer_(io_),
      heartbeat_timer_(io_), follow_timer_(io_), retention_timer_(io_),
      heartbeat_period_(std::min<std::chrono::microseconds>(
          notifier_.watchdog_period().value_or(std::chrono::seconds(5)), std::chrono::seconds(5))),
      last_status_(Clock::now() - std::chrono::seconds(10)), last_progress_(Clock::now())
{
    pipeline_.set_on_overflow([this] { submit_waiting_files(); });
    pipeline_.set_on_routed([this](const RoutedEvent& event) { on_routed(event); });
    pipeline_.set_on_idle([this] { on_idle(); });
    if (shared_ != nullptr) {
        decisions_.set_facts_lookup([this](const index::ItemRecord& rec) { return own_file(rec); });
        shared_->set_on_appended([this](double seconds) { metrics_.appended(seconds); });
        relocator_.set_on_vanished([this](const index::ItemRecord& rec) { vanished_.insert(rec.seq); });
        relocator_.set_origin(cfg_.cluster.value().instance);
        metrics_.watch_cluster([this] { return cluster_status(); });
    }
}

Service::~Service()
{
    stop_compaction();
}

int Service::run()
{
    // A replica first applies what the cluster decided while it was away
    // (its own files among it are journaled, then moved by the recovery).
    catch_up_at_start();
    // Before anything else: a file whose move was journaled must not be seen
    // as new backlog.
    relocator_.recover();
    (void)retention_.recover(); // files of items expired just before a crash
    if (mode_ == ServiceMode::run) {
        start_watching(); // before the backlog scan, so nothing lands unseen in between
        start_control();
    }
    auto backlog = scan_backlog();
    install_signal_handlers();
    for (const auto& f : backlog) {
        pipeline_.submit(f);
    }
    backlog = {}; // the queue holds what it can; a rescan finds the rest
    if (mode_ == ServiceMode::run) {
        announce_ready();
    }
    if (pipeline_.idle() && !backlog_done_) {
        finish_backlog();
    }
    if (!io_.stopped()) {
        io_.run();
    }
    stop_compaction();
    report_summary();
    return 0;
}

// ------------------------------------------------------ start-up, backlog

void Service::start_watching()
{
    if (cfg_.watch.mode == config::WatchMode::poll) {
        log_info("watching ", cfg_.ingest_dir.string(), " by polling every ", cfg_.watch.poll_interval.count(), " s");
        start_polling();
        return;
    }
    watcher_.emplace(
        io_, cfg_.ingest_dir, [this](const std::string& f) { pipeline_.submit(f); },
        [this] { submit_waiting_files(); });
    // When the kernel runs out of watches, part of the tree would go unseen:
    // poll the whole tree as well (the pipeline drops repeats).
    watcher_->set_on_watch_limit([this] {
        log_error("inotify is out of watches (raise fs.inotify.max_user_watches); polling ", cfg_.ingest_dir.string(),
                  " every ", cfg_.watch.poll_interval.count(), " s as well");
        start_polling();
    });
    try {
        watcher_->start();
    } catch (const WatchError& e) {
        log_error(e.what(), "; polling every ", cfg_.watch.poll_interval.count(), " s instead");
        watcher_.reset();
        start_polling();
    }
}

void Service::start_polling()
{
    if (!poller_) {
        poller_.emplace(io_, cfg_.ingest_dir, cfg_.watch.poll_interval,
                        [this](const std::string& f) { pipeline_.submit(f); });
        poller_->start();
    }
}

void Service::start_control()
{
    control_.emplace(io_, cfg_.control_socket_path(),
                     [this](std::string_view command, const Json& request) { return answer(command, request); });
    control_->set_deferred_handler([this](std::string_view command, const Json&, ControlServer::Reply reply) {
        if (command != "compact") return false;
        compact_request(std::move(reply));
        return true;
    });
}

// A metrics endpoint that cannot bind is an operator's problem, not a reason
// to stop ingesting: log it and go on without.
void Service::start_metrics()
{
    if (metrics_server_) metrics_server_->stop();
    metrics_server_.reset();
    if (mode_ != ServiceMode::run || !cfg_.metrics.listen) return;
    try {
        metrics_server_.emplace(io_, *cfg_.metrics.listen, [this] { return metrics_.render(); });
        metrics_server_->start();
        log_info("metrics at http://", *cfg_.metrics.listen, "/metrics");
    } catch (const std::runtime_error& e) {
        log_error(e.what(), "; metrics are off until the next reload");
        metrics_server_.reset();
    }
}

std::vector<std::string> Service::scan_backlog()
{
    auto backlog = waiting_files();
    backlog_total_ = backlog.size();
    log_info(backlog_total_, " file(s) waiting in ", cfg_.ingest_dir.string());
    progress_ = mode_ == ServiceMode::once && ::isatty(STDERR_FILENO) == 1;
    last_progress_ = Clock::now();
    return backlog;
}

// What is in the ingest directory now, in order. A file some process still
// has open for writing is left to its IN_CLOSE_WRITE (the watch is in place
// before any scan), so a camera caught mid-write at start-up is not hashed
// half-written.
std::vector<std::string> Service::waiting_files() const
{
    auto files = scan_ingest(cfg_.ingest_dir);
    if (mode_ == ServiceMode::run) {
        std::erase_if(files, [&](const std::string& f) { return open_for_writing(cfg_.ingest_dir / f); });
    }
    return files;
}

void Service::submit_waiting_files()
{
    for (const auto& f : waiting_files()) {
        pipeline_.submit(f);
    }
}

void Service::install_signal_handlers()
{
    stop_signals_.emplace(io_, SIGTERM, SIGINT);
    wait_for_stop_signal();
    hup_signal_.emplace(io_, SIGHUP);
    wait_for_hup();
}

void Service::announce_ready()
{
    schedule_summary();
    if (mode_ == ServiceMode::run) schedule_empty_dir_sweep();
    schedule_rebalance();
    start_metrics();
    schedule_follow();
    if (mode_ == ServiceMode::run) schedule_retention(retention_period);
    log_info("ready");
    notifier_.ready();
    notifier_.status(status_line());
    last_status_ = Clock::now();
    if (notifier_.watchdog_period()) notifier_.watchdog();
    schedule_heartbeat();
}

// ------------------------------------------------------------ the cluster

// Applies what the cluster decided while this replica was away, in chunks
// so the log shows progress and systemd's start timeout keeps its distance.
// The stream out of reach at start-up is waited for (nothing is in flight).
void Service::catch_up_at_start()
{
    if (shared_ == nullptr) return;
    constexpr std::uint64_t chunk = 100'000;
    const std::uint64_t from = idx_.applied_entry();
    for (;;) {
        try {
            stream_last_ = shared_->last_sequence();
            if (idx_.applied_entry() >= stream_last_) break;
            shared_->catch_up_to(std::min(stream_last_, idx_.applied_entry() + chunk));
            log_info("cluster: applied up to entry ", idx_.applied_entry(), " of ", stream_last_);
            notifier_.extend_timeout(std::chrono::seconds(120));
        } catch (const StreamUnavailable& e) {
            log_error("cluster: ", e.what(), "; trying again in 5 s");
            notifier_.status("waiting for the cluster's stream");
            notifier_.extend_timeout(std::chrono::seconds(60));
            std::this_thread::sleep_for(std::chrono::seconds(5));
        }
    }
    if (idx_.applied_entry() > from) {
        log_info("cluster: replayed entries ", from + 1, " to ", idx_.applied_entry(), " of ", shared_->identity());
    }
    decisions_.set_configured_rules(stream_rules(cfg_));
    if (idx_.rules() && *idx_.rules() != stream_rules(cfg_)) {
        log_warning("cluster: the matching rules in force are the cluster's (set by the last instance that "
                    "changed them), not this configuration's; a reload that changes them makes them this one's");
    }
    // Item entries are written unsynced: durable before the recovery that
    // follows moves any file they planned.
    idx_.sync_journal();
    (void)decisions_.take_pending_moves(); // that recovery settles every journaled move
}

void Service::schedule_follow()
{
    if (shared_ == nullptr) return;
    // Behind the stream's end, the next round starts at once: a replica
    // that waited 200 ms after every batch would drain a backlog slowly.
    const bool behind = stream_reachable_ && idx_.applied_entry() < stream_last_;
    follow_timer_.expires_after(behind ? std::chrono::milliseconds(0) : std::chrono::milliseconds(200));
    follow_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopping_) return;
        follow();
        schedule_follow();
    });
}

// What other hosts appended, applied as it arrives; the moves it plans for
// this host's files are made at once, as the index has them now.
void Service::follow()
{
    report_vanished();
    try {
        (void)decisions_.catch_up();
        stream_last_ = shared_->last_seen(); // asked by that catch-up: one request a turn
        if (!stream_reachable_) log_info("cluster: the stream is reachable again");
        stream_reachable_ = true;
    } catch (const StreamUnavailable& e) {
        if (stream_reachable_) log_error("cluster: ", e.what(), "; decisions wait until it is back");
        stream_reachable_ = false;
    } catch (const index::IndexWriteError& e) {
        log_error("cluster: ", e.what(), "; applying the stream waits for the index");
        (void)idx_.resume();
    }
    settle_pending_moves();
}

void Service::settle_pending_moves()
{
    const auto pending = decisions_.take_pending_moves();
    if (!pending.empty()) {
        try {
            idx_.sync_journal(); // item entries are written unsynced: durable before their files move
        } catch (const index::IndexWriteError& e) {
            log_error("cluster: ", e.what(), "; the moves wait for the next start");
            return;
        }
    }
    for (const std::uint64_t seq : pending) {
        const auto rec = idx_.get(seq);
        if (!rec || rec->state != index::RouteState::planned) continue; // settled meanwhile
        try {
            (void)relocator_.settle(*rec);
        } catch (const std::runtime_error& e) { // RouteError, IndexWriteError: the next start settles it
            log_error("cluster: cannot move item ", seq, " (", rec->source, "): ", e.what());
        }
    }
}

// Own files found gone before their move: each becomes a vanished entry,
// so every replica stops using the item as a reference at the same place.
// What the stream does not take now is said at the next turn.
void Service::report_vanished()
{
    for (auto it = vanished_.begin(); it != vanished_.end();) {
        try {
            (void)decisions_.submit(index::VanishedItem{*it});
            it = vanished_.erase(it);
        } catch (const StreamUnavailable& e) {
            log_debug("cluster: vanished item ", *it, " waits for the stream: ", e.what());
            return;
        } catch (const index::IndexWriteError& e) {
            log_debug("cluster: vanished item ", *it, " waits for the index: ", e.what());
            return;
        }
    }
}

// An own item entry applied without this host waiting for it (appended
// before a crash): the file in the ingest directory under its name, if it
// holds the same bytes (read again: this path is rare, a same-size
// replacement is not).
std::optional<HostFacts> Service::own_file(const index::ItemRecord& rec) const
{
    const auto path = cfg_.ingest_dir / rec.source;
    const auto id = identity_of(path);
    if (!id || std::cmp_not_equal(id->size, rec.size)) return std::nullopt;
    if (!rec.digest.empty()) {
        const SourceFile file = read_source(path, cfg_.max_file_size);
        if (file.status != SourceStatus::ok || content_digest(file.bytes) != rec.digest) return std::nullopt;
    }
    return HostFacts{static_cast<std::uint64_t>(id->dev), static_cast<std::uint64_t>(id->ino), id->mtime_ns};
}

std::optional<ClusterStatus> Service::cluster_status()
{
    if (shared_ == nullptr) return std::nullopt;
    ClusterStatus c;
    c.stream = shared_->identity();
    c.instance = decisions_.instance();
    c.applied = idx_.applied_entry();
    c.stream_last = std::max(stream_last_, c.applied);
    c.reachable = stream_reachable_;
    c.instances.assign(decisions_.origins().begin(), decisions_.origins().end());
    if (!decisions_.origins().contains(c.instance)) c.instances.push_back(c.instance);
    return c;
}

// ------------------------------------------------------------ live events

// Progress on a terminal, for batch runs; rebalance triggers for the daemon.
void Service::on_routed(const RoutedEvent& event)
{
    if (event.latency_seconds) {
        recent_.record(Clock::now(), std::chrono::duration<double>(*event.latency_seconds));
    }
    metrics_.routed(event);
    maybe_status();
    ++routed_since_rebalance_;
    if (mode_ == ServiceMode::run && cfg_.rebalance.after_items &&
        routed_since_rebalance_ >= *cfg_.rebalance.after_items) {
        rebalance(RebalanceTrigger::after_items);
    }
    show_progress();
}

void Service::on_idle()
{
    if (stopping_) {
        heartbeat_timer_.cancel();
        io_.stop();
        return;
    }
    if (!backlog_done_) {
        finish_backlog();
    }
}

// The first time the backlog is done, rebalance: a changed num_cut or
// policy takes effect at start-up.
void Service::finish_backlog()
{
    backlog_done_ = true;
    if (shared_ != nullptr) {
        report_vanished();
        settle_pending_moves(); // `once` has no follow turns
    }
    rebalance(RebalanceTrigger::backlog_done);
    if (mode_ == ServiceMode::once) {
        retention_sweep();
        io_.stop();
    }
}

void Service::show_progress()
{
    if (!progress_ || Clock::now() - last_progress_ < std::chrono::milliseconds(250)) return;
    last_progress_ = Clock::now();
    const double secs = std::chrono::duration<double>(Clock::now() - started_).count();
    const auto n = pipeline_.stats().routed() + pipeline_.stats().skipped;
    std::fprintf(stderr, "\r%llu/%zu files, %s files/s ", static_cast<unsigned long long>(n), backlog_total_,
                 rate(n, secs).c_str());
    std::fflush(stderr);
}

// A failed move leaves its journal entry planned for the next start-up; the
// daemon keeps running.
std::string Service::rebalance(RebalanceTrigger trigger)
{
    log_debug("rebalancing: ", describe(trigger));
    routed_since_rebalance_ = 0;
    try {
        last_rebalance_ = rebalancer_.run(rebalance_id(trigger));
        metrics_.rebalanced(*last_rebalance_);
        return last_rebalance_->json();
    } catch (const RouteError& e) {
        metrics_.rebalance_failed();
        log_error("rebalance stopped: ", e.what(), "; the next rebalance finishes it");
        return json_text(error_reply(e.what()));
    } catch (const index::IndexWriteError& e) {
        metrics_.rebalance_failed();
        log_error("rebalance stopped: ", e.what(), "; the next rebalance tries again");
        (void)idx_.resume();
        return json_text(error_reply(e.what()));
    } catch (const StreamUnavailable& e) {
        metrics_.rebalance_failed();
        log_error("rebalance not started: ", e.what(), "; the next trigger tries again");
        return json_text(error_reply(e.what()));
    }
}

// On a shared stream, the periodic rebalance is the cluster's: every host's
// timer fires at the same wall-clock boundaries (schedule_rebalance) and
// names its entry after the interval, so the stream keeps one of them.
std::string Service::rebalance_id(RebalanceTrigger trigger) const
{
    if (shared_ == nullptr || trigger != RebalanceTrigger::interval) return {};
    const auto period = cfg_.rebalance.interval.count();
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch() + std::chrono::seconds(period / 2))
                         .count();
    return "rebalance/every-" + std::to_string(period) + "s/" + std::to_string(now / period);
}

// ------------------------------------------------- reload, signals, timers

Json Service::reload()
{
    notifier_.reloading();
    Json answer{
        {"ok", false}, {"file", config_file_.string()}, {"applied", Json::array()}, {"restart_needed", Json::array()}};
    try {
        const config::Config fresh = config::load_config(config_file_);
        const ReloadPlan plan = plan_reload(cfg_, fresh);
        if (!plan.accepted()) {
            answer["restart_needed"] = plan.refused;
            answer["error"] = join_keys(plan.refused) + (plan.refused.size() == 1 ? " needs" : " need") +
                              " a restart (systemctl restart); nothing was changed";
            log_error("reload of ", config_file_.string(), " refused: ", answer["error"].get<std::string>());
        } else if (plan.changed.empty()) {
            answer["ok"] = true;
            log_info("reload of ", config_file_.string(), ": nothing changed");
        } else {
            apply_reload(fresh);
            answer["ok"] = true;
            answer["applied"] = plan.changed;
            log_info("reloaded ", config_file_.string(), ": ", join_keys(plan.changed),
                     plan.changed.size() == 1 ? " now applies" : " now apply");
        }
        // An endpoint that could not bind (its port was taken) is tried again.
        if (answer["ok"].get<bool>() && cfg_.metrics.listen && !metrics_server_) start_metrics();
    } catch (const config::ConfigError& e) {
        answer["error"] = e.what();
        log_error("reload refused, the running configuration stays: ", e.what());
    }
    metrics_.reloaded(answer["ok"].get<bool>());
    notifier_.ready();
    notifier_.status(status_line());
    return answer;
}

// Where the live settings of an accepted reload reach the parts.
void Service::apply_reload(const config::Config& fresh)
{
    const bool schedule_changed = fresh.rebalance.interval != cfg_.rebalance.interval;
    const bool metrics_changed = fresh.metrics.listen != cfg_.metrics.listen;
    const bool sweep_changed = !(fresh.ingest == cfg_.ingest);
    cfg_ = apply_live(cfg_, fresh);
    set_log_level(cfg_.log_level);
    pipeline_.set_routing_log(cfg_.log_routing);
    pipeline_.reconfigure(match_rule(cfg_), cfg_.exact_copy_rule(), cfg_.max_file_size, cfg_.effective_workers(),
                          cfg_.decode_scale == config::DecodeScale::automatic, keep_rule(cfg_));
    idx_.set_min_free_space(cfg_.index_min_free);
    rebalancer_.set_policy(rebalance_policy(cfg_));
    retention_.set_params(cfg_.retention);
    if (schedule_changed) {
        rebalance_timer_.cancel();
        schedule_rebalance();
    }
    if (metrics_changed) {
        start_metrics();
    }
    if (sweep_changed && mode_ == ServiceMode::run) { // the next sweep on the new period, not the old one
        sweep_timer_.cancel();
        schedule_empty_dir_sweep();
    }
}

void Service::wait_for_stop_signal()
{
    stop_signals_.value().async_wait([this](const boost::system::error_code& ec, int signal) {
        if (ec) return;
        if (stopping_) {
            log_warning("second signal: files in flight stay in the ingest directory");
            io_.stop();
            return;
        }
        shut_down(signal);
        wait_for_stop_signal();
    });
}

void Service::wait_for_hup()
{
    hup_signal_.value().async_wait([this](const boost::system::error_code& ec, int) {
        if (ec) return;
        if (config_file_.empty()) {
            log_warning("SIGHUP: no configuration file to reload");
        } else if (!stopping_) {
            (void)reload(); // logged; `ndrd reload` is the way to see the answer
        }
        wait_for_hup();
    });
}

// A throughput line a minute, when files were routed.
void Service::schedule_summary()
{
    summary_timer_.expires_after(std::chrono::minutes(1));
    summary_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        const auto& s = pipeline_.stats();
        if (s.routed() != routed_at_last_summary_) {
            log_info("last minute: ", s.routed() - routed_at_last_summary_, " routed; total ", s.kept, " kept, ",
                     s.duplicated, " duplicated, ", s.rejected, " rejected; queue ", pipeline_.queue_depth());
            routed_at_last_summary_ = s.routed();
        }
        schedule_summary();
    });
}

// ingest.remove_empty_dirs: a sweep a minute (or each grace period, if
// shorter). The timer always runs, so that a reload can turn it on.
void Service::schedule_empty_dir_sweep()
{
    const auto period =
        std::clamp<std::chrono::seconds>(cfg_.ingest.empty_dir_grace, std::chrono::seconds(1), std::chrono::minutes(1));
    sweep_timer_.expires_after(period);
    sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopping_) return;
        if (cfg_.ingest.remove_empty_dirs) {
            try {
                const auto cutoff = std::filesystem::file_time_type::clock::now() - cfg_.ingest.empty_dir_grace;
                for (const auto& dir : remove_empty_dirs(cfg_.ingest_dir, cutoff)) {
                    log_info("removed empty ingest directory ", dir);
                }
            } catch (const std::filesystem::filesystem_error& e) {
                log_warning(e.what(), "; will try again");
            }
        }
        schedule_empty_dir_sweep();
    });
}

void Service::schedule_rebalance()
{
    if (cfg_.rebalance.interval.count() == 0) return;
    auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.rebalance.interval);
    if (shared_ != nullptr) {
        // To the next multiple of the interval since the epoch: the same
        // moment on every host whose clock is set.
        const auto now =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
        delay -= now % delay;
    }
    rebalance_timer_.expires_after(delay);
    rebalance_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopping_) return;
        rebalance(RebalanceTrigger::interval);
        schedule_rebalance();
    });
}

// The watchdog keep-alive comes from this loop, so a stuck loop is what
// systemd restarts; the status line rides along.
void Service::schedule_heartbeat()
{
    heartbeat_timer_.expires_after(heartbeat_period_);
    heartbeat_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        if (notifier_.watchdog_period()) notifier_.watchdog();
        maybe_status();
        schedule_heartbeat();
    });
}

// ------------------------------------------------ retention, compaction

// The timer always runs, so that a reload can turn retention on.
void Service::schedule_retention(std::chrono::milliseconds delay)
{
    retention_timer_.expires_after(delay);
    retention_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopping_) return;
        const bool more = retention_step();
        // A full batch: the next at once (behind whatever else is ready).
        schedule_retention(more ? std::chrono::milliseconds(0) : retention_period);
    });
}

// One bounded step, only while nothing waits to be routed.
bool Service::retention_step()
{
    if (!cfg_.retention.enabled() || !backlog_done_ || !pipeline_.idle() || pipeline_.paused()) return false;
    RetentionBatch b;
    try {
        b = retention_.step(index::unix_ms_now());
    } catch (const index::IndexWriteError& e) {
        log_error("retention: ", e.what(), "; the next step tries again");
        (void)idx_.resume();
        return false;
    } catch (const StreamUnavailable& e) {
        log_warning("retention: ", e.what(), "; the next step tries again");
        return false;
    } catch (const index::IndexError& e) {
        log_error("retention: ", e.what(), "; the next step tries again");
        return false;
    }
    note_retention(b);
    if (expired_since_compaction_ >= compact_after_expired && !compacting_) {
        start_compaction("retention expired " + std::to_string(expired_since_compaction_) +
                         " items since the last compaction");
    }
    return b.more;
}

void Service::retention_sweep()
{
    if (!cfg_.retention.enabled()) return;
    try {
        const RetentionBatch total = retention_.sweep(index::unix_ms_now());
        note_retention(total);
        if (total.expired >= compact_after_expired) {
            const auto before = idx_.disk_bytes();
            (void)idx_.compact();
            log_info("compacted the index ", cfg_.index_dir.string(), ": ", mib_text(before), " -> ",
                     mib_text(idx_.disk_bytes()));
        }
    } catch (const std::runtime_error& e) { // IndexError, StreamUnavailable: the next run goes on
        log_error("retention: ", e.what());
    }
}

void Service::note_retention(const RetentionBatch& b)
{
    if (b.expired == 0 && b.files() == 0) return;
    metrics_.retained(b);
    retention_total_.add(b);
    expired_since_compaction_ += b.expired;
    std::string what;
    const auto part = [&](std::uint64_t n, const std::optional<std::chrono::seconds>& age, const std::string& area) {
        if (n == 0) return;
        what += std::string(what.empty() ? "" : ", ") + std::to_string(n) + (what.empty() ? " file(s)" : "") +
                (age ? " older than " + age_text(*age) : "") + " from " + area + "/";
    };
    part(b.duplicated, cfg_.retention.duplicated, cfg_.duplicated_subset);
    part(b.rejected, cfg_.retention.rejected, "rejected");
    if (what.empty()) what = "no file (gone already)";
    log_info("retention: deleted ", what, ", ", mib_text(b.bytes), " freed; ", b.expired, " item(s) expired");
}

void Service::compact_request(ControlServer::Reply reply)
{
    if (stopping_) {
        reply(json_text(error_reply("the daemon is stopping")));
        return;
    }
    compaction_waiters_.push_back(std::move(reply));
    start_compaction("asked over the control socket");
}

// RocksDB's compaction on a thread of its own; its answer comes back to
// the loop.
void Service::start_compaction(const std::string& why)
{
    if (compacting_) return;
    if (compactor_.joinable()) compactor_.join(); // the last one ended: its answer was posted
    compacting_ = true;
    expired_since_compaction_ = 0;
    cancel_compaction_ = false;
    const std::string dir = cfg_.index_dir.string(); // cfg_ is the loop's: the thread takes a copy
    log_info("compacting the index ", dir, " (", why, ")");
    compactor_ = std::thread([this, dir] {
        const auto started = Clock::now();
        Json answer;
        try {
            const std::uint64_t before = idx_.disk_bytes();
            if (idx_.compact(&cancel_compaction_)) {
                answer = Json{{"ok", true},
                              {"dir", dir},
                              {"bytes_before", before},
                              {"bytes_after", idx_.disk_bytes()},
                              {"seconds", std::chrono::duration<double>(Clock::now() - started).count()}};
            } else {
                answer = error_reply("the compaction was stopped: the daemon is stopping");
            }
        } catch (const std::exception& e) {
            answer = error_reply(e.what());
        }
        boost::asio::post(io_, [this, answer = std::move(answer)] { compaction_done(answer); });
    });
}

void Service::compaction_done(const Json& answer)
{
    if (compactor_.joinable()) compactor_.join();
    compacting_ = false;
    if (answer.value("ok", false)) {
        char secs[32];
        std::snprintf(secs, sizeof secs, "%.1f", answer.value("seconds", 0.0));
        log_info("compacted the index ", answer.value("dir", std::string()), ": ",
                 mib_text(answer.value("bytes_before", std::uint64_t{0})), " -> ",
                 mib_text(answer.value("bytes_after", std::uint64_t{0})), " in ", secs, " s");
    } else {
        log_error("compacting the index: ", answer.value("error", std::string("failed")));
    }
    for (auto& reply : std::exchange(compaction_waiters_, {})) {
        reply(json_text(answer));
    }
}

void Service::stop_compaction()
{
    if (compactor_.joinable()) {
        cancel_compaction_ = true;
        compactor_.join();
    }
    compacting_ = false;
}

// ------------------------------------------------------- control commands

std::vector<Service::ControlCommand> Service::control_commands()
{
    const auto override_entry = [this](index::Override action) {
        return ControlCommand{command_name(action), [this, action](const Json& request) {
                                  return override_answer(action, request);
                              }};
    };
    return {
        {"ping",
         [](const Json&) {
             return json_text(Json{{"ok", true}});
         }},
        {"status",
         [this](const Json&) {
             return status_answer();
         }},
        {"rebalance",
         [this](const Json&) {
             return rebalance(RebalanceTrigger::request);
         }},
        {"reload",
         [this](const Json&) {
             if (config_file_.empty()) return json_text(error_reply("this daemon has no configuration file to reload"));
             if (stopping_) return json_text(error_reply("the daemon is stopping"));
             return json_text(reload());
         }},
        {"query",
         [this](const Json& request) {
             return json_text(answer_query(idx_, request, match_rule(cfg_)));
         }},
        override_entry(index::Override::released),
        override_entry(index::Override::marked_duplicate),
        {"snapshot",
         [this](const Json& request) {
             return snapshot_answer(request);
         }},
    };
}

std::string Service::answer(std::string_view command, const Json& request)
{
    const auto it = std::ranges::find(commands_, command, &ControlCommand::name);
    if (it == commands_.end()) {
        return json_text(error_reply("unknown command '" + std::string(command) + "'"));
    }
    return it->answer(request);
}

std::string Service::status_answer()
{
    const auto recent = recent_.summary(Clock::now(), started_);
    LiveStatus live;
    live.queue_depth = pipeline_.queue_depth();
    live.uptime_seconds = std::chrono::duration<double>(Clock::now() - started_).count();
    live.last_rebalance = last_rebalance_ ? last_rebalance_->summary() : std::string();
    live.paused = pipeline_.paused();
    live.stuck_moves = pipeline_.stuck_moves();
    live.files_per_second = recent.files_per_second;
    live.latency_p50_seconds = recent.p50_seconds;
    live.latency_p99_seconds = recent.p99_seconds;
    live.cluster = cluster_status();
    live.retention_deleted_files = retention_total_.files();
    live.retention_freed_bytes = retention_total_.bytes;
    live.compacting = compacting_;
    return json_text(status_json(idx_, cfg_, &live));
}

std::string Service::override_answer(index::Override action, const Json& request)
{
    const auto seq = field<std::uint64_t>(request, "item"); // the control server answers a RequestError
    // The answer goes back to the operator: every failure is reported, none
    // ends the daemon.
    try {
        return override_json(apply_override(decisions_, idx_, relocator_, action, seq));
    } catch (const std::runtime_error& e) { // OverrideError, RouteError, IndexWriteError
        return json_text(error_reply(e.what()));
    }
}

// On the loop, like every write: the checkpoint, applied_entry and items
// describe the same state.
std::string Service::snapshot_answer(const Json& request)
{
    const std::filesystem::path dir = field<std::string>(request, "dir"); // a RequestError if missing
    if (!dir.is_absolute()) {
        return json_text(error_reply("snapshot: dir must be an absolute path, not '" + dir.string() +
                                     "' (it would resolve against the daemon's working directory)"));
    }
    try {
        idx_.checkpoint(dir);
    } catch (const index::IndexError& e) { // the operator's mistake or a disk's: the daemon goes on
        return json_text(error_reply(e.what()));
    }
    log_info("snapshot of the index at ", dir.string(), " (applied entry ", idx_.applied_entry(), ", ",
             idx_.next_seq() - 1, " items)");
    return json_text(Json{
        {"ok", true}, {"dir", dir.string()}, {"applied_entry", idx_.applied_entry()}, {"items", idx_.next_seq() - 1}});
}

// -------------------------------------------- status, shutdown, summary

std::string Service::status_line() const
{
    const auto& s = pipeline_.stats();
    const auto r = recent_.summary(Clock::now(), started_);
    char rate_text[32];
    std::snprintf(rate_text, sizeof rate_text, "%.1f", r.files_per_second);
    return std::string(pipeline_.paused() ? "PAUSED (index refuses writes); " : "") + std::to_string(s.kept) +
           " kept, " + std::to_string(s.duplicated) + " duplicated, " + std::to_string(s.rejected) +
           " rejected; queue " + std::to_string(pipeline_.queue_depth()) + "; " + rate_text + " files/s";
}

// systemd's status line, at most once a second.
void Service::maybe_status()
{
    if (mode_ == ServiceMode::run && !stopping_ && Clock::now() - last_status_ >= std::chrono::seconds(1)) {
        last_status_ = Clock::now();
        notifier_.status(status_line());
    }
}

// SIGTERM/SIGINT: take nothing new, finish the files in flight; on_idle()
// then ends the loop.
void Service::shut_down(int signal)
{
    stopping_ = true;
    notifier_.stopping();
    log_info("received ", signal == SIGTERM ? "SIGTERM" : "SIGINT", ", finishing files in flight");
    if (watcher_) watcher_->stop();
    if (poller_) poller_->stop();
    if (control_) control_->stop();
    if (metrics_server_) metrics_server_->stop();
    cancel_compaction_ = true; // its callers are answered that it stopped
    pipeline_.stop_accepting();
}

void Service::report_summary()
{
    const double secs = std::chrono::duration<double>(Clock::now() - started_).count();
    const auto& s = pipeline_.stats();
    if (progress_) std::fprintf(stderr, "\n");
    char elapsed[32];
    std::snprintf(elapsed, sizeof elapsed, "%.2f", secs);
    std::string summary = std::to_string(s.kept) + " kept, " + std::to_string(s.duplicated) + " duplicated, " +
                          std::to_string(s.rejected) + " rejected, " + std::to_string(s.skipped) + " skipped in " +
                          elapsed + " s (" + rate(s.routed(), secs) + " files/s)";
    if (last_rebalance_ && (!last_rebalance_->cut.empty() || !last_rebalance_->restored.empty())) {
        summary += "; rebalance: " + std::to_string(last_rebalance_->cut.size()) + " cut, " +
                   std::to_string(last_rebalance_->restored.size()) + " restored";
    }
    if (mode_ == ServiceMode::once) {
        std::printf("%s\n", summary.c_str());
        std::fflush(stdout);
    } else {
        log_info("stopped: ", summary);
    }
}

void refuse_old_instance_layout(const std::filesystem::path& config_file, const config::Config& cfg)
{
    const auto old = config::old_instance_dir(config_file);
    std::error_code ec;
    if (!old || !std::filesystem::is_directory(*old, ec) || index::HashIndex::exists(cfg.index_dir)) return;
    const auto unit = config::packaged_unit(config_file).value_or("the instance");
    throw config::ConfigError(old->string() + " holds this instance's data in the layout before 0.2.0, and " +
                              cfg.index_dir.string() + " has no index yet: stop " + unit + ", move the data with 'mv " +
                              old->string() + " " + cfg.base_dir.string() + "', then start it again");
}

int run_service(const config::Config& initial, ServiceMode mode, const std::filesystem::path& config_file)
{
    refuse_old_instance_layout(config_file, initial);
    Service service(initial, mode, config_file);
    return service.run();
}

} // namespace ndrd::daemon
