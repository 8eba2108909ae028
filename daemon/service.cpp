// The daemon's main loop (see service.hpp).
#include "daemon/service.hpp"

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "daemon/control/control_server.hpp"
#include "daemon/control/query.hpp"
#include "daemon/control/status.hpp"
#include "daemon/daemon_metrics.hpp"
#include "daemon/ingest/ingest_scan.hpp"
#include "daemon/ingest/poller.hpp"
#include "daemon/ingest/source_file.hpp"
#include "daemon/ingest/watcher.hpp"
#include "daemon/reload.hpp"
#include "daemon/route/configured.hpp"
#include "daemon/route/match_rule.hpp"
#include "daemon/route/overrides.hpp"
#include "daemon/route/pipeline.hpp"
#include "daemon/telemetry/json.hpp"
#include "daemon/telemetry/logger.hpp"
#include "daemon/telemetry/metrics_server.hpp"
#include "daemon/telemetry/notifier.hpp"
#include "daemon/telemetry/recent_activity.hpp"
#include "index/image/decode.hpp"

namespace ndrd::daemon {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::string rate(std::uint64_t n, double seconds)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", seconds > 0 ? static_cast<double>(n) / seconds : 0.0);
    return buf;
}

} // namespace

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

int run_service(const config::Config& initial, ServiceMode mode, const std::filesystem::path& config_file)
{
    // The live settings change on reload; everything else keeps its value
    // from start-up (see reload.hpp).
    config::Config cfg = initial;
    set_log_level(cfg.log_level);
    index::configure_decoder();
    config::prepare_directories(cfg);
    const auto started = Clock::now();
    wait_for_index_space(cfg);
    auto idx = open_index(cfg);
    {
        const auto& c = idx.counts();
        log_info("index ", cfg.index_dir.string(), ": ", c.kept, " kept, ", c.duplicated, " duplicated, ", c.rejected,
                 " rejected; hash_dim ", idx.params().hash_dim, ", sim_threshold ", cfg.gradient.sim_threshold, ", ",
                 cfg.effective_workers(), " worker(s)");
        if (const auto upgraded = idx.upgraded_digest_entries()) {
            log_info("index ", cfg.index_dir.string(), ": upgraded to this version's format (", *upgraded,
                     " digest entries rewritten); an older ndrd can no longer open it");
        }
    }

    boost::asio::io_context io;
    const Router router(cfg.ingest_dir, cfg.output_dir);
    Relocator relocator(idx, router, areas_of(cfg));
    // Before anything else: a file whose move was journaled must not be seen
    // as new backlog.
    relocator.recover();

    PipelineOptions opt;
    opt.ingest_dir = cfg.ingest_dir;
    opt.rule = match_rule(cfg);
    opt.exact_copy_rule = cfg.exact_copy_rule();
    opt.max_file_size = cfg.max_file_size;
    opt.max_pixels = cfg.max_pixels;
    opt.workers = cfg.effective_workers();
    opt.reduced_decode = cfg.decode_scale == config::DecodeScale::automatic;
    Pipeline pipeline(io, opt, idx, relocator);
    Rebalancer rebalancer(idx, relocator, rebalance_policy(cfg));
    DaemonMetrics metrics(idx, pipeline);
    std::optional<MetricsServer> metrics_server;
    // A metrics endpoint that cannot bind is an operator's problem, not a
    // reason to stop ingesting: log it and go on without.
    const auto start_metrics = [&] {
        if (metrics_server) metrics_server->stop();
        metrics_server.reset();
        if (mode != ServiceMode::run || !cfg.metrics.listen) return;
        try {
            metrics_server.emplace(io, *cfg.metrics.listen, [&] { return metrics.render(); });
            metrics_server->start();
            log_info("metrics at http://", *cfg.metrics.listen, "/metrics");
        } catch (const std::runtime_error& e) {
            log_error(e.what(), "; metrics are off until the next reload");
            metrics_server.reset();
        }
    };

    bool stopping = false;
    RecentActivity recent;
    Notifier notifier;
    const auto status_line = [&] {
        const auto& s = pipeline.stats();
        const auto r = recent.summary(Clock::now(), started);
        char rate_text[32];
        std::snprintf(rate_text, sizeof rate_text, "%.1f", r.files_per_second);
        return std::string(pipeline.paused() ? "PAUSED (index refuses writes); " : "") + std::to_string(s.kept) +
               " kept, " + std::to_string(s.duplicated) + " duplicated, " + std::to_string(s.rejected) +
               " rejected; queue " + std::to_string(pipeline.queue_depth()) + "; " + rate_text + " files/s";
    };
    auto last_status = Clock::now() - std::chrono::seconds(10);
    const auto maybe_status = [&] {
        if (mode == ServiceMode::run && !stopping && Clock::now() - last_status >= std::chrono::seconds(1)) {
            last_status = Clock::now();
            notifier.status(status_line());
        }
    };

    std::optional<RebalanceReport> last_rebalance;
    std::uint64_t routed_since_rebalance = 0;
    // A failed move leaves its journal entry planned for the next start-up;
    // the daemon keeps running.
    const auto rebalance = [&]() -> std::string {
        routed_since_rebalance = 0;
        try {
            last_rebalance = rebalancer.run();
            metrics.rebalanced(*last_rebalance);
            return last_rebalance->json();
        } catch (const RouteError& e) {
            metrics.rebalance_failed();
            log_error("rebalance stopped: ", e.what(), "; the next rebalance finishes it");
            return json_text(error_reply(e.what()));
        } catch (const index::IndexWriteError& e) {
            metrics.rebalance_failed();
            log_error("rebalance stopped: ", e.what(), "; the next rebalance tries again");
            (void)idx.resume();
            return json_text(error_reply(e.what()));
        }
    };

    // What is in the ingest directory now, in order. A file some process
    // still has open for writing is left to its IN_CLOSE_WRITE (the watch is
    // in place before any scan), so a camera caught mid-write at start-up
    // is not hashed half-written.
    const auto waiting_files = [&] {
        auto files = scan_ingest(cfg.ingest_dir);
        if (mode == ServiceMode::run) {
            std::erase_if(files, [&](const std::string& f) { return open_for_writing(cfg.ingest_dir / f); });
        }
        return files;
    };
    std::optional<Watcher> watcher;
    const auto rescan = [&] {
        for (const auto& f : waiting_files()) {
            pipeline.submit(f);
        }
    };
    pipeline.set_on_overflow(rescan);
    std::optional<Poller> poller;
    const auto start_polling = [&] {
        if (!poller) {
            poller.emplace(io, cfg.ingest_dir, cfg.watch.poll_interval,
                           [&](const std::string& f) { pipeline.submit(f); });
            poller->start();
        }
    };
    if (mode == ServiceMode::run && cfg.watch.mode == config::WatchMode::poll) {
        log_info("watching ", cfg.ingest_dir.string(), " by polling every ", cfg.watch.poll_interval.count(), " s");
        start_polling();
    } else if (mode == ServiceMode::run) {
        watcher.emplace(
            io, cfg.ingest_dir, [&](const std::string& f) { pipeline.submit(f); }, rescan);
        // When the kernel runs out of watches, part of the tree would go
        // unseen: poll the whole tree as well (the pipeline drops repeats).
        watcher->set_on_watch_limit([&] {
            log_error("inotify is out of watches (raise fs.inotify.max_user_watches); polling ",
                      cfg.ingest_dir.string(), " every ", cfg.watch.poll_interval.count(), " s as well");
            start_polling();
        });
        try {
            watcher->start(); // before the backlog scan, so nothing lands unseen in between
        } catch (const WatchError& e) {
            log_error(e.what(), "; polling every ", cfg.watch.poll_interval.count(), " s instead");
            watcher.reset();
            start_polling();
        }
    }

    std::optional<ControlServer> control;
    if (mode == ServiceMode::run) {
        control.emplace(
            io, cfg.control_socket_path(), [&](std::string_view command, const Json& request) -> std::string {
                if (command == "ping") {
                    return json_text(Json{{"ok", true}});
                }
                if (command == "status") {
                    const auto recent_summary = recent.summary(Clock::now(), started);
                    LiveStatus live;
                    live.queue_depth = pipeline.queue_depth();
                    live.uptime_seconds = std::chrono::duration<double>(Clock::now() - started).count();
                    live.last_rebalance = last_rebalance ? last_rebalance->summary() : std::string();
                    live.paused = pipeline.paused();
                    live.stuck_moves = pipeline.stuck_moves();
                    live.files_per_second = recent_summary.files_per_second;
                    live.latency_p50_seconds = recent_summary.p50_seconds;
                    live.latency_p99_seconds = recent_summary.p99_seconds;
                    return json_text(status_json(idx, cfg, &live));
                }
                if (command == "rebalance") {
                    return rebalance();
                }
                if (command == "query") {
                    return json_text(answer_query(idx, request, match_rule(cfg)));
                }
                if (const auto action = parse_override_action(command)) {
                    const auto seq = field<std::uint64_t>(request, "item"); // the control server answers a RequestError
                    // The answer goes back to the operator: every failure is reported, none ends the daemon.
                    try {
                        return override_json(apply_override(idx, relocator, *action, seq));
                    } catch (const std::runtime_error& e) { // OverrideError, RouteError, IndexWriteError
                        return json_text(error_reply(e.what()));
                    }
                }
                return json_text(error_reply("unknown command '" + std::string(command) + "'"));
            });
    }

    auto backlog = waiting_files();
    const std::size_t backlog_total = backlog.size();
    log_info(backlog_total, " file(s) waiting in ", cfg.ingest_dir.string());

    // Progress on a terminal, for batch runs; rebalance triggers for the daemon.
    const bool progress = mode == ServiceMode::once && ::isatty(STDERR_FILENO) == 1;
    auto last_progress = Clock::now();
    pipeline.set_on_routed([&](const RoutedEvent& ev) {
        if (ev.latency_seconds) {
            recent.record(Clock::now(), std::chrono::duration<double>(*ev.latency_seconds));
        }
        metrics.routed(ev);
        maybe_status();
        ++routed_since_rebalance;
        if (mode == ServiceMode::run && cfg.rebalance.after_items &&
            routed_since_rebalance >= *cfg.rebalance.after_items) {
            rebalance();
        }
        if (!progress || Clock::now() - last_progress < std::chrono::milliseconds(250)) return;
        last_progress = Clock::now();
        const double secs = std::chrono::duration<double>(Clock::now() - started).count();
        const auto n = pipeline.stats().routed() + pipeline.stats().skipped;
        std::fprintf(stderr, "\r%llu/%zu files, %s files/s ", static_cast<unsigned long long>(n), backlog_total,
                     rate(n, secs).c_str());
        std::fflush(stderr);
    });

    boost::asio::signal_set signals(io, SIGTERM, SIGINT);
    std::function<void()> wait_signal = [&] {
        signals.async_wait([&](const boost::system::error_code& ec, int sig) {
            if (ec) return;
            if (stopping) {
                log_warning("second signal: files in flight stay in the ingest directory");
                io.stop();
                return;
            }
            stopping = true;
            notifier.stopping();
            log_info("received ", sig == SIGTERM ? "SIGTERM" : "SIGINT", ", finishing files in flight");
            if (watcher) watcher->stop();
            if (poller) poller->stop();
            if (control) control->stop();
            if (metrics_server) metrics_server->stop();
            pipeline.stop_accepting();
            wait_signal();
        });
    };
    wait_signal();
    // SIGHUP re-reads the configuration file. A file that does not load, or
    // that changes a restart-only setting, changes nothing: the daemon goes
    // on with what it has (see reload.hpp).
    boost::asio::steady_timer rebalance_timer(io);
    std::function<void()> schedule_rebalance;
    const auto reload = [&] {
        notifier.reloading();
        try {
            const config::Config fresh = config::load_config(config_file);
            const ReloadPlan plan = plan_reload(cfg, fresh);
            if (!plan.accepted()) {
                log_error("reload of ", config_file.string(), " refused: ", join_keys(plan.refused),
                          plan.refused.size() == 1 ? " needs" : " need",
                          " a restart (systemctl restart ndrd); nothing was changed");
            } else if (plan.changed.empty()) {
                log_info("reload of ", config_file.string(), ": nothing changed");
            } else {
                const bool schedule_changed = fresh.rebalance.interval != cfg.rebalance.interval;
                const bool metrics_changed = fresh.metrics.listen != cfg.metrics.listen;
                cfg = apply_live(cfg, fresh);
                set_log_level(cfg.log_level);
                pipeline.reconfigure(match_rule(cfg), cfg.exact_copy_rule(), cfg.max_file_size, cfg.effective_workers(),
                                     cfg.decode_scale == config::DecodeScale::automatic);
                idx.set_min_free_space(cfg.index_min_free);
                rebalancer.set_policy(rebalance_policy(cfg));
                if (schedule_changed) {
                    rebalance_timer.cancel();
                    schedule_rebalance();
                }
                if (metrics_changed) {
                    start_metrics();
                }
                log_info("reloaded ", config_file.string(), ": ", join_keys(plan.changed), " now apply");
            }
        } catch (const config::ConfigError& e) {
            log_error("reload refused, the running configuration stays: ", e.what());
        }
        notifier.ready();
        notifier.status(status_line());
    };
    boost::asio::signal_set hup(io, SIGHUP);
    std::function<void()> wait_hup = [&] {
        hup.async_wait([&](const boost::system::error_code& ec, int) {
            if (ec) return;
            if (config_file.empty()) {
                log_warning("SIGHUP: no configuration file to reload");
            } else if (!stopping) {
                reload();
            }
            wait_hup();
        });
    };
    wait_hup();

    // Periodic work in daemon mode: a throughput line, and the rebalance timer.
    boost::asio::steady_timer summary_timer(io);
    std::uint64_t last_routed = 0;
    std::function<void()> schedule_summary = [&] {
        summary_timer.expires_after(std::chrono::minutes(1));
        summary_timer.async_wait([&](const boost::system::error_code& ec) {
            if (ec) return;
            const auto& s = pipeline.stats();
            if (s.routed() != last_routed) {
                log_info("last minute: ", s.routed() - last_routed, " routed; total ", s.kept, " kept, ", s.duplicated,
                         " duplicated, ", s.rejected, " rejected; queue ", pipeline.queue_depth());
                last_routed = s.routed();
            }
            schedule_summary();
        });
    };
    schedule_rebalance = [&] {
        if (cfg.rebalance.interval.count() == 0) return;
        rebalance_timer.expires_after(cfg.rebalance.interval);
        rebalance_timer.async_wait([&](const boost::system::error_code& ec) {
            if (ec || stopping) return;
            rebalance();
            schedule_rebalance();
        });
    };
    // The watchdog keep-alive comes from this loop, so a stuck loop is what
    // systemd restarts; the status line rides along.
    boost::asio::steady_timer heartbeat_timer(io);
    const auto heartbeat_period = std::min<std::chrono::microseconds>(
        notifier.watchdog_period().value_or(std::chrono::seconds(5)), std::chrono::seconds(5));
    std::function<void()> schedule_heartbeat = [&] {
        heartbeat_timer.expires_after(heartbeat_period);
        heartbeat_timer.async_wait([&](const boost::system::error_code& ec) {
            if (ec) return;
            if (notifier.watchdog_period()) notifier.watchdog();
            maybe_status();
            schedule_heartbeat();
        });
    };

    // The first time the backlog is done, rebalance: a changed num_cut or
    // policy takes effect at start-up.
    bool backlog_done = false;
    pipeline.set_on_idle([&] {
        if (stopping) {
            heartbeat_timer.cancel();
            io.stop();
            return;
        }
        if (!backlog_done) {
            backlog_done = true;
            rebalance();
            if (mode == ServiceMode::once) {
                io.stop();
            }
        }
    });
    for (const auto& f : backlog) {
        pipeline.submit(f);
    }
    backlog = {}; // the queue holds what it can; a rescan finds the rest
    if (mode == ServiceMode::run) {
        schedule_summary();
        schedule_rebalance();
        start_metrics();
        log_info("ready");
        notifier.ready();
        notifier.status(status_line());
        last_status = Clock::now();
        if (notifier.watchdog_period()) notifier.watchdog();
        schedule_heartbeat();
    }
    if (pipeline.idle() && !backlog_done) {
        backlog_done = true;
        rebalance();
        if (mode == ServiceMode::once) {
            io.stop();
        }
    }
    if (!io.stopped()) {
        io.run();
    }

    const double secs = std::chrono::duration<double>(Clock::now() - started).count();
    const auto& s = pipeline.stats();
    if (progress) std::fprintf(stderr, "\n");
    char elapsed[32];
    std::snprintf(elapsed, sizeof elapsed, "%.2f", secs);
    std::string summary = std::to_string(s.kept) + " kept, " + std::to_string(s.duplicated) + " duplicated, " +
                          std::to_string(s.rejected) + " rejected, " + std::to_string(s.skipped) + " skipped in " +
                          elapsed + " s (" + rate(s.routed(), secs) + " files/s)";
    if (last_rebalance && (!last_rebalance->cut.empty() || !last_rebalance->restored.empty())) {
        summary += "; rebalance: " + std::to_string(last_rebalance->cut.size()) + " cut, " +
                   std::to_string(last_rebalance->restored.size()) + " restored";
    }
    if (mode == ServiceMode::once) {
        std::printf("%s\n", summary.c_str());
        std::fflush(stdout);
    } else {
        log_info("stopped: ", summary);
    }
    return 0;
}

} // namespace ndrd::daemon
