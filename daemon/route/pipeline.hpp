// The ingest pipeline: files are hashed in parallel on a worker pool, and
// each becomes an entry of the decision stream in submission order on the
// event loop (the pure core decides it), so the outcome never depends on the
// number of workers. Every move is
// journaled in the index (a synced "planned" record) before the file moves;
// the Relocator's recover() must have run before the first submit, so a file
// already decided is never decided twice.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "config/config.hpp"
#include "daemon/ingest/hasher.hpp"
#include "daemon/route/decisions.hpp"
#include "daemon/route/relocator.hpp"
#include "index/store/hash_index.hpp"

namespace ndrd::daemon {

struct PipelineOptions {
    std::filesystem::path ingest_dir;
    index::MatchRule rule;                 // sim_threshold, probe radius, flip/rotation variants
    bool exact_copy_rule = false;          // a byte-identical copy is its original's duplicate (compat: off)
    index::Keep keep = index::Keep::first; // which image of a group stays the kept reference
    std::uint64_t max_file_size = 256ULL << 20;
    std::uint64_t max_pixels = 64'000'000;
    std::size_t max_queued = 10'000; // paths held in memory; beyond, a rescan picks them up
    // Files between the queue and their commit at once (at least 2 * workers + 2):
    // also the largest group one commit's fsyncs can cover.
    std::size_t max_in_flight = 32;
    unsigned workers = 1;
    bool reduced_decode = false; // decode_scale: auto
    // The level of the one line per routed file (log_routing): info, or
    // debug for sites too busy to log every file.
    config::LogLevel routing_log = config::LogLevel::info;
};

struct PipelineStats {
    std::uint64_t kept = 0;
    std::uint64_t duplicated = 0;
    std::uint64_t rejected = 0;
    std::uint64_t skipped = 0;  // gone before reading, or not a regular file
    std::uint64_t vanished = 0; // gone between decision and move
    [[nodiscard]] std::uint64_t routed() const { return kept + duplicated + rejected; }
};

// One file routed, for progress, status and metrics.
struct RoutedEvent {
    const index::ItemRecord& record;
    std::string_view reason_kind;          // rejections: a short fixed class ("truncated", ...)
    std::optional<double> latency_seconds; // from the file's first event; none for retried moves
    std::optional<double> hash_seconds;    // read + decode + feature + key; none for retried moves
};

class Pipeline {
public:
    // With its own single-host decision stream.
    Pipeline(boost::asio::io_context& io, PipelineOptions options, index::HashIndex& index, Relocator& relocator);
    // Deciding through `decisions`, which the owner shares with the
    // rebalancer and the overrides (one stream per host).
    Pipeline(boost::asio::io_context& io, PipelineOptions options, index::HashIndex& index, Relocator& relocator,
             Decisions& decisions);
    Pipeline(const Pipeline&) = delete;
    Pipeline& operator=(const Pipeline&) = delete;
    ~Pipeline();

    // Queues a path (relative to ingest_dir). A path already waiting or in
    // flight is not queued twice; one in flight is looked at again afterwards.
    void submit(const std::string& source);

    // Stops taking work: waiting files stay in the ingest directory for the
    // next run, files in flight are finished. `on_idle` fires when done.
    void stop_accepting();

    // Called (on the event loop) whenever nothing is waiting or in flight.
    void set_on_idle(std::function<void()> fn) { on_idle_ = std::move(fn); }
    // Called when the queue has drained after paths were dropped at its cap:
    // the owner rescans the ingest directory and submits what is there.
    void set_on_overflow(std::function<void()> fn) { on_overflow_ = std::move(fn); }
    // Called after each routed file (progress reporting, rebalance triggers).
    void set_on_routed(std::function<void(const RoutedEvent&)> fn) { on_routed_ = std::move(fn); }

    // Live settings from a configuration reload; applies to files decided
    // from now on. A new worker count replaces the pool (the old one
    // finishes what it holds first).
    void reconfigure(index::MatchRule rule, bool exact_copy_rule, std::uint64_t max_file_size, unsigned workers,
                     bool reduced_decode, index::Keep keep);
    void set_routing_log(config::LogLevel level) { opt_.routing_log = level; }

    [[nodiscard]] bool idle() const { return waiting_.empty() && in_flight_ == 0; }
    // True while decisions wait for the index to accept writes again (or
    // for a shared stream to be reachable).
    [[nodiscard]] bool paused() const { return paused_; }
    [[nodiscard]] std::size_t stuck_moves() const { return stuck_.size(); }
    [[nodiscard]] std::size_t queue_depth() const { return waiting_.size() + in_flight_; }
    [[nodiscard]] const PipelineStats& stats() const { return stats_; }

private:
    enum class PathState { waiting, in_flight, in_flight_dirty };

    void pump();
    void completed(std::uint64_t ticket, HashResult result);
    // A result decided and journaled (unsynced), waiting for its group's move.
    struct Decided {
        index::ItemRecord record;
        HashResult result;
    };
    void drain();
    std::optional<index::ItemRecord> decide(HashResult& result);
    void route_group(std::vector<Decided>& group);
    std::vector<index::ItemRecord> move_replaced(std::span<const std::uint64_t> seqs, const std::vector<Decided>& group,
                                                 DirectorySyncs& syncs);
    void pause(std::string_view why, const std::string& source);
    void retry(index::ItemRecord& rec);
    void report(const index::ItemRecord& rec, bool retrying, const HashResult* hashed);
    void park(const index::ItemRecord& rec, std::string_view why);
    void retry_stuck();
    void resume_index();
    void finish(const std::string& source);

    boost::asio::io_context& io_;
    PipelineOptions opt_;
    index::HashIndex& index_;
    Relocator& relocator_;
    // The matching rules the options ask for, as the stream records them.
    [[nodiscard]] index::Rules rules() const;

    std::unique_ptr<Decisions> own_decisions_; // when not given one
    Decisions* decisions_;
    std::unique_ptr<boost::asio::thread_pool> pool_;
    boost::asio::steady_timer retry_timer_;
    boost::asio::steady_timer resume_timer_;

    std::deque<std::string> waiting_;
    std::unordered_map<std::string, PathState> known_;
    // When each known path's first event arrived: event-to-routed latency.
    std::unordered_map<std::string, std::chrono::steady_clock::time_point> arrived_;
    std::map<std::uint64_t, HashResult> done_; // results waiting for their turn
    std::uint64_t next_ticket_ = 0;
    std::uint64_t next_commit_ = 0;
    std::size_t in_flight_ = 0;
    bool accepting_ = true;
    bool drain_posted_ = false; // a drain is queued on the loop behind the pending completions
    bool overflowed_ = false;
    // Kept images replaced by better copies decided in the current group:
    // their moves to the duplicated area go with the group's.
    std::vector<std::uint64_t> replaced_moves_;
    std::deque<index::ItemRecord> stuck_; // moves that failed on I/O errors, retried with back-off
    std::unordered_set<std::string> stuck_sources_;
    std::chrono::seconds retry_delay_{1};
    bool paused_ = false; // the index refused a write: decisions wait, in order
    std::chrono::seconds resume_delay_{1};
    PipelineStats stats_;
    std::function<void()> on_idle_;
    std::function<void(const RoutedEvent&)> on_routed_;
    std::function<void()> on_overflow_;
};

} // namespace ndrd::daemon
