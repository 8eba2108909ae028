// The ordered ingest pipeline (see pipeline.hpp).
#include "daemon/route/pipeline.hpp"

#include <algorithm>
#include <utility>

#include <boost/asio/post.hpp>

#include "daemon/telemetry/logger.hpp"

namespace ndrd::daemon {

namespace fs = std::filesystem;
using index::ItemRecord;
using index::Verdict;

namespace {

std::string describe(const ItemRecord& r)
{
    std::string s = r.source + " -> " + r.location + " (" + std::string(index::to_string(r.verdict));
    if (r.best_similarity) {
        s += ", similarity " + std::to_string(*r.best_similarity) + " to item " + std::to_string(r.matched_seq);
    }
    if (!r.reason.empty()) {
        s += ": " + r.reason;
    }
    return s + ")";
}

// Files between the queue and their commit: posted to the pool, being hashed,
// or hashed and waiting for their turn. Only `workers` of them hold a decoded
// image; the others are a path or a result of a few KB. The bound is also the
// largest group one commit can gather, and byte-identical copies, hashed in a
// fraction of a commit's fsyncs, need large groups: at 2 * workers + 2 their
// groups averaged 3 files, and the group's WAL fsync and two directory fsyncs
// were most of a copy's cost.
std::size_t in_flight_bound(std::size_t wanted, unsigned workers)
{
    return std::max<std::size_t>(wanted, 2 * std::size_t{std::max(1U, workers)} + 2);
}

} // namespace

Pipeline::Pipeline(boost::asio::io_context& io, PipelineOptions options, index::HashIndex& index, Relocator& relocator)
    : io_(io), opt_(std::move(options)), index_(index), relocator_(relocator),
      own_decisions_(std::make_unique<Decisions>(index, relocator, rules())), decisions_(own_decisions_.get()),
      pool_(std::make_unique<boost::asio::thread_pool>(std::max(1U, opt_.workers))), retry_timer_(io), resume_timer_(io)
{
}

Pipeline::Pipeline(boost::asio::io_context& io, PipelineOptions options, index::HashIndex& index, Relocator& relocator,
                   Decisions& decisions)
    : io_(io), opt_(std::move(options)), index_(index), relocator_(relocator), decisions_(&decisions),
      pool_(std::make_unique<boost::asio::thread_pool>(std::max(1U, opt_.workers))), retry_timer_(io), resume_timer_(io)
{
}

Pipeline::~Pipeline()
{
    pool_->join();
}

index::Rules Pipeline::rules() const
{
    // compat: datumaro is what turns the exact-copy rule off (config.hpp).
    return {opt_.rule, opt_.exact_copy_rule, opt_.exact_copy_rule ? index::Compat::off : index::Compat::datumaro,
            opt_.keep};
}

void Pipeline::reconfigure(index::MatchRule rule, bool exact_copy_rule, std::uint64_t max_file_size, unsigned workers,
                           bool reduced_decode, index::Keep keep)
{
    opt_.keep = keep;
    opt_.rule = std::move(rule);
    opt_.exact_copy_rule = exact_copy_rule;
    opt_.reduced_decode = reduced_decode;
    opt_.max_file_size = max_file_size;
    try {
        // The rules entry goes into the stream now, at the reload's place;
        // every file decided from here on is judged by it.
        if (decisions_->set_rules(rules())) {
            log_info("matching rules recorded in the decision stream as entry ", index_.applied_entry());
        }
    } catch (const index::IndexWriteError& e) {
        // decide() appends it before the next file, once the index takes writes.
        log_warning("the new matching rules wait for the index: ", e.what());
    } catch (const StreamUnavailable& e) {
        log_warning("the new matching rules wait for the stream: ", e.what());
    }
    if (std::max(1U, workers) != std::max(1U, opt_.workers)) {
        // Jobs already posted to the old pool still run and post their
        // results to the loop. The old pool is joined from the new one: on
        // the loop, that join would stall events, commits and the watchdog
        // for as long as up to in_flight_bound() hashes take (a second or two
        // of 12 MP JPEGs). The destructor's join of the new pool waits for it.
        const std::shared_ptr<boost::asio::thread_pool> old =
            std::exchange(pool_, std::make_unique<boost::asio::thread_pool>(std::max(1U, workers)));
        boost::asio::post(*pool_, [old] { old->join(); });
        opt_.workers = workers;
        pump();
    }
}

void Pipeline::submit(const std::string& source)
{
    if (!accepting_ || stuck_sources_.contains(source)) {
        return; // a decided file whose move is being retried is not new
    }
    const auto [it, inserted] = known_.try_emplace(source, PathState::waiting);
    if (!inserted) {
        if (it->second == PathState::in_flight) {
            it->second = PathState::in_flight_dirty;
        }
        return;
    }
    if (waiting_.size() >= opt_.max_queued) {
        // Memory stays bounded in a burst: forget the path, and rescan the
        // ingest directory once the queue has drained (the file is still there).
        known_.erase(it);
        if (!overflowed_) {
            log_warning("more than ", opt_.max_queued, " files waiting; the rest will be picked up by a rescan");
        }
        overflowed_ = true;
        return;
    }
    arrived_.try_emplace(source, std::chrono::steady_clock::now());
    waiting_.push_back(source);
    pump();
}

void Pipeline::pump()
{
    const std::size_t bound = in_flight_bound(opt_.max_in_flight, opt_.workers);
    while (accepting_ && in_flight_ < bound && !waiting_.empty()) {
        std::string source = std::move(waiting_.front());
        waiting_.pop_front();
        known_[source] = PathState::in_flight;
        ++in_flight_;
        const std::uint64_t ticket = next_ticket_++;
        // The live settings go with the job, by value: reconfigure() may
        // change opt_ on the loop while the job runs on a worker.
        boost::asio::post(*pool_, [this, ticket, source = std::move(source), max_file_size = opt_.max_file_size,
                                   reduced_decode = opt_.reduced_decode] {
            const DecodeRules decode{opt_.max_pixels, reduced_decode,
                                     index_.params().exif_orientation ? index::ExifOrientation::apply
                                                                      : index::ExifOrientation::ignore};
            HashResult r = hash_source(opt_.ingest_dir, source, index_.projection(), index_.params().grid,
                                       max_file_size, decode, &index_);
            boost::asio::post(io_, [this, ticket, r = std::move(r)]() mutable { completed(ticket, std::move(r)); });
        });
    }
    if (waiting_.empty() && overflowed_ && accepting_ && on_overflow_) {
        overflowed_ = false;
        on_overflow_(); // submits again what is still in the ingest directory
        return;
    }
    if (idle() && on_idle_) {
        on_idle_();
    }
}

void Pipeline::completed(std::uint64_t ticket, HashResult result)
{
    if (paused_ && !accepting_) {
        --in_flight_; // shutting down while the index refuses writes: the file stays for the next run
        known_.erase(result.source);
        arrived_.erase(result.source);
    } else {
        done_.emplace(ticket, std::move(result));
        // Drain after the completions already queued on the loop: results
        // that finished while the previous group was being committed then
        // join one group (one WAL fsync, one fsync per directory) instead of
        // each paying its own. Draining here directly saw only this result:
        // every group was one file.
        if (!drain_posted_) {
            drain_posted_ = true;
            boost::asio::post(io_, [this] {
                drain_posted_ = false;
                drain();
                pump();
            });
        }
    }
    pump();
}

void Pipeline::drain()
{
    // Decisions are applied strictly in ticket order, whatever order the
    // workers finished in: this is what makes the result worker-count free.
    // The results ready in a row are committed as a group: their journal
    // entries are written unsynced (each decision sees the ones before it),
    // made durable by one WAL fsync, then the files move, the directories
    // are synced once, and the moves are recorded done.
    constexpr std::size_t max_group = 64;
    std::vector<Decided> group;
    for (auto it = done_.find(next_commit_); !paused_ && it != done_.end() && group.size() < max_group;
         it = done_.find(next_commit_)) {
        std::optional<ItemRecord> planned;
        try {
            planned = decide(it->second);
        } catch (const index::IndexWriteError& e) {
            pause(e.what(), it->second.source);
            break;
        } catch (const StreamUnavailable& e) {
            pause(e.what(), it->second.source);
            break;
        }
        HashResult r = std::move(it->second);
        done_.erase(it);
        ++next_commit_;
        --in_flight_;
        if (planned) {
            group.push_back(Decided{std::move(*planned), std::move(r)});
        } else {
            finish(r.source);
        }
    }
    if (!group.empty()) {
        route_group(group);
        for (const auto& d : group) {
            finish(d.result.source);
        }
    }
}

// The index refused a journal entry, or the shared stream is out of reach;
// nothing was decided. The result stays at the head of the line, and so does
// everything after it, until resume_index() finds the way open again.
void Pipeline::pause(std::string_view why, const std::string& source)
{
    log_error(why, "; ingestion paused, retrying in ", resume_delay_.count(), " s (", source,
              " and later files wait in the ingest directory)");
    paused_ = true;
    resume_timer_.expires_after(resume_delay_);
    resume_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) resume_index();
    });
}

void Pipeline::route_group(std::vector<Decided>& group)
{
    try {
        index_.sync_journal();
    } catch (const index::IndexWriteError& e) {
        // Nothing moved: each entry is retried on its own, synced, by settle().
        for (const auto& d : group) {
            park(d.record, e.what());
        }
        return;
    }
    const std::vector<std::uint64_t> replaced = std::exchange(replaced_moves_, {});
    if (decisions_->shared() || !replaced.empty()) {
        // Entries applied between this group's decisions may have moved its
        // files' plans (another host's rebalance or override, a better copy
        // replacing a file of this very group): the journal, not the copy
        // taken at the decision, says where they go.
        for (auto& d : group) {
            if (auto now = index_.get(d.record.seq)) d.record = std::move(*now);
        }
    }
    DirectorySyncs syncs;
    std::vector<ItemRecord> moved_replaced = move_replaced(replaced, group, syncs);
    std::vector<Decided*> moved;
    for (auto& d : group) {
        try {
            if (relocator_.move(d.record, syncs) == RelocateOutcome::vanished) {
                ++stats_.vanished;
                continue;
            }
            moved.push_back(&d);
        } catch (const RouteError& e) {
            park(d.record, e.what());
        } catch (const index::IndexWriteError& e) {
            park(d.record, e.what());
        }
    }
    if (moved.empty() && moved_replaced.empty()) {
        return;
    }
    try {
        syncs.sync_all();
        std::vector<ItemRecord> done = std::move(moved_replaced);
        done.reserve(done.size() + moved.size());
        for (const Decided* d : moved) {
            done.push_back(d->record);
        }
        relocator_.record_done(done);
    } catch (const std::runtime_error& e) { // RouteError or IndexWriteError
        // The files have moved; their entries are still planned, and the
        // retry's settle() records what it finds on disk.
        for (const ItemRecord& r : moved_replaced) {
            park(r, e.what());
        }
        for (const Decided* d : moved) {
            park(d->record, e.what());
        }
        return;
    }
    for (const Decided* d : moved) {
        report(d->record, /*retrying=*/false, &d->result);
    }
}

// The kept images that better copies in this group replaced, moved to the
// duplicated area as the journal plans them now (one of the group's own
// files is moved with the group instead). Returns the moved ones, marked
// done in memory: route_group() records them with the group.
std::vector<ItemRecord> Pipeline::move_replaced(std::span<const std::uint64_t> seqs, const std::vector<Decided>& group,
                                                DirectorySyncs& syncs)
{
    std::vector<ItemRecord> moved;
    for (const std::uint64_t seq : seqs) {
        const bool in_group = std::ranges::any_of(group, [&](const Decided& d) { return d.record.seq == seq; });
        auto rec = in_group ? std::nullopt : index_.get(seq);
        if (!rec || rec->state != index::RouteState::planned) {
            continue;
        }
        try {
            if (relocator_.move(*rec, syncs) == RelocateOutcome::moved) {
                moved.push_back(std::move(*rec));
            }
        } catch (const RouteError& e) {
            park(*rec, e.what());
        } catch (const index::IndexWriteError& e) {
            park(*rec, e.what());
        }
    }
    return moved;
}

void Pipeline::resume_index()
{
    paused_ = false;
    if (!index_.resume()) {
        log_debug("the index is still refusing writes");
    }
    resume_delay_ = std::min(resume_delay_ * 2, std::chrono::seconds(60));
    drain();
    if (!paused_) {
        log_info("the index accepts writes again; ingestion resumed");
        resume_delay_ = std::chrono::seconds(1);
    }
    pump();
}

void Pipeline::finish(const std::string& source)
{
    const auto it = known_.find(source);
    const bool dirty = it != known_.end() && it->second == PathState::in_flight_dirty;
    known_.erase(source);
    if (dirty) {
        submit(source); // something happened to the path while we hashed it: look again
    } else {
        arrived_.erase(source);
    }
}

void Pipeline::stop_accepting()
{
    accepting_ = false;
    for (const auto& s : waiting_) {
        known_.erase(s);
        arrived_.erase(s);
    }
    waiting_.clear();
    retry_timer_.cancel();
    if (paused_) {
        // Results held back for the index stay undecided: their files are
        // still in the ingest directory and are read again at the next start.
        resume_timer_.cancel();
        for (const auto& [ticket, r] : done_) {
            known_.erase(r.source);
            arrived_.erase(r.source);
        }
        in_flight_ -= done_.size();
        done_.clear();
    }
    if (idle() && on_idle_) {
        on_idle_();
    }
}

// The journaled ("planned") record for a result, written unsynced; nullopt
// when there is nothing to move. Throws IndexWriteError when the index
// refuses the write: nothing happened, try again later.
std::optional<ItemRecord> Pipeline::decide(HashResult& r)
{
    const fs::path source_path = opt_.ingest_dir / r.source;
    if (r.kind == HashResult::Kind::skipped) {
        ++stats_.skipped;
        if (r.reason == "no longer exists") {
            log_debug("skipped ", r.source, ": it no longer exists");
        } else {
            log_warning("left alone in the ingest directory: ", source_path.string(), " (", r.reason, ")");
        }
        return std::nullopt;
    }
    // The path must still hold the file we read; otherwise it was replaced
    // while we hashed it, and the new content needs its own turn.
    const auto now = identity_of(source_path);
    if (!now) {
        ++stats_.skipped;
        log_debug("skipped ", r.source, ": it disappeared while being hashed");
        return std::nullopt;
    }
    if (r.identity != FileIdentity{} && *now != r.identity) {
        log_debug(r.source, " changed while being hashed; queueing it again");
        known_[r.source] = PathState::in_flight_dirty;
        return std::nullopt;
    }

    if (r.kind == HashResult::Kind::hashed && r.copy_of == 0) {
        // A worker finds an earlier copy only if it was committed in time;
        // here, in order, the answer no longer depends on timing. Taking the
        // stored feature whenever a copy is indexed makes the entry the same
        // whether or not the worker skipped the decode.
        (void)take_indexed_copy(index_, index_.params().grid, r);
    }
    if (r.copy_of != 0) {
        log_debug(r.source, " is byte-identical to item ", r.copy_of, ": decided with its stored feature");
    }
    const auto size = static_cast<std::uint64_t>(now->size);
    index::EntryBody entry;
    if (r.kind == HashResult::Kind::rejected) {
        entry = index::RejectedItem{r.digest, size, r.source, r.reason, {}};
    } else {
        entry = index::HashedItem{
            r.digest, r.key, index::stored_values(r.feature), r.feature.degenerate, size, r.source, {}, r.pixels};
    }
    // A reload's new rules enter the stream before the first entry they
    // judge (and again after a write the index refused).
    decisions_->set_rules(rules());
    Applied applied = decisions_->submit(std::move(entry), HostFacts{now->dev, now->ino, now->mtime_ns});
    if (applied.records.empty() || applied.records.front().state != index::RouteState::planned) {
        // A shared stream had applied this file's entry already (a publish
        // repeated after a crash); its move was planned then and is settled
        // by the recovery that follows.
        return std::nullopt;
    }
    for (std::size_t i = 1; i < applied.records.size(); ++i) {
        const ItemRecord& old = applied.records[i];
        log_info("item ", applied.records.front().seq, " (", applied.records.front().source,
                 ") is a better copy than item ", old.seq, " (", old.source, "), which it replaces as kept image");
        if (old.state == index::RouteState::planned) {
            replaced_moves_.push_back(old.seq); // moved with the group, after the journal is synced
        }
    }
    // Written unsynced: route_group() syncs the journal before the file moves.
    return std::move(applied.records.front());
}

void Pipeline::retry(ItemRecord& rec)
{
    // As the journal has it now: on a shared stream another host's entry
    // may have re-planned the move since it was parked.
    if (auto now = index_.get(rec.seq)) {
        if (now->state != index::RouteState::planned) {
            return; // settled meanwhile (a recovery, a vanished entry)
        }
        rec = std::move(*now);
    }
    RelocateOutcome outcome{};
    try {
        // A retry may find the move half-done (the file moved, its record
        // not yet written): settle() takes the disk as it finds it.
        outcome = relocator_.settle(rec);
    } catch (const RouteError& e) {
        park(rec, e.what());
        return;
    } catch (const index::IndexWriteError& e) {
        park(rec, e.what());
        return;
    }
    if (outcome == RelocateOutcome::vanished) {
        ++stats_.vanished;
        return;
    }
    report(rec, /*retrying=*/true, nullptr);
}

void Pipeline::report(const ItemRecord& rec, bool retrying, const HashResult* hashed)
{
    retry_delay_ = std::chrono::seconds(1);
    switch (rec.verdict) {
    case Verdict::kept: ++stats_.kept; break;
    case Verdict::duplicated: ++stats_.duplicated; break;
    case Verdict::rejected: ++stats_.rejected; break;
    }
    if (rec.verdict == Verdict::rejected) {
        log_warning("rejected ", describe(rec));
    } else if (retrying) {
        log_info("routed after retry ", describe(rec));
    } else {
        detail::log(opt_.routing_log, "routed ", describe(rec));
    }
    if (on_routed_) {
        std::optional<double> latency;
        if (const auto it = arrived_.find(rec.source); it != arrived_.end() && !retrying) {
            latency = std::chrono::duration<double>(std::chrono::steady_clock::now() - it->second).count();
        }
        on_routed_(RoutedEvent{rec, hashed ? hashed->reason_kind : std::string_view(), latency,
                               hashed ? std::optional<double>(hashed->hash_seconds) : std::nullopt});
    }
}

// A decided file whose move failed on I/O (disk full, read-only): its
// journal entry stays planned, and the move is retried with back-off.
void Pipeline::park(const ItemRecord& rec, std::string_view why)
{
    log_error("cannot route item ", rec.seq, " ", rec.source, ": ", why, "; will retry in ", retry_delay_.count(),
              " s");
    stuck_.push_back(rec);
    stuck_sources_.insert(rec.source);
    retry_timer_.expires_after(retry_delay_);
    retry_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) retry_stuck();
    });
}

void Pipeline::retry_stuck()
{
    std::deque<ItemRecord> batch;
    batch.swap(stuck_);
    for (const auto& rec : batch) {
        stuck_sources_.erase(rec.source);
    }
    retry_delay_ = std::min(retry_delay_ * 2, std::chrono::seconds(60));
    (void)index_.resume(); // the failure may have been the index's
    for (auto& rec : batch) {
        retry(rec);
    }
    if (idle() && stuck_.empty() && on_idle_) {
        on_idle_();
    }
}

} // namespace ndrd::daemon
