// `ndrd report` (see report.hpp).
#include "daemon/report/report.hpp"

#include <chrono>
#include <cstdio>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "daemon/report/report_model.hpp"
#include "daemon/report/since.hpp"
#include "daemon/report/thumbnails.hpp"
#include "daemon/telemetry/logger.hpp"
#include "index/store/hash_index.hpp"

namespace ndrd::daemon {

namespace fs = std::filesystem;

namespace {

// Where an item's file may be now: its location, the place a planned
// rebalance move starts from, or the ingest directory (a move not yet made).
ThumbnailJob job_for(const ReportItem& item, const config::Config& cfg)
{
    ThumbnailJob job{item.seq, item.digest, item.size, {}};
    if (!item.location.empty()) job.candidates.push_back(cfg.output_dir / item.location);
    if (!item.previous_location.empty()) job.candidates.push_back(cfg.output_dir / item.previous_location);
    if (item.state == index::RouteState::planned && !item.source.empty()) {
        job.candidates.push_back(cfg.ingest_dir / item.source);
    }
    return job;
}

// Every item the pages show a picture of, once each, in page order.
std::vector<ThumbnailJob> thumbnail_jobs(const ReportModel& m, const config::Config& cfg)
{
    std::vector<ThumbnailJob> jobs;
    std::unordered_set<std::uint64_t> seen;
    const auto want = [&](const ReportItem& item) {
        if (seen.insert(item.seq).second) jobs.push_back(job_for(item, cfg));
    };
    for (const auto& g : m.groups) {
        if (!g.reference_missing) want(g.reference);
        for (const auto& d : g.duplicates)
            want(d);
    }
    for (const auto& r : m.removed)
        want(r);
    return jobs;
}

void show_progress(std::size_t done, std::size_t total)
{
    std::fprintf(stderr, "\rndrd report: thumbnails %zu/%zu", done, total);
    if (done == total) std::fputc('\n', stderr);
    std::fflush(stderr);
}

} // namespace

ReportSummary write_report(const config::Config& cfg, const ReportRequest& request)
{
    const auto start = std::chrono::steady_clock::now();
    const std::int64_t now_ms = index::unix_ms_now();
    ReportOptions options;
    options.sim_threshold = cfg.gradient.sim_threshold;
    if (request.since) options.since_ms = parse_since(*request.since, now_ms);
    options.limit = request.limit;

    // A read-only snapshot: records and lookups below see one state of the
    // index, whatever the daemon writes meanwhile.
    const auto idx = index::HashIndex::open_read_only(cfg.index_dir);
    ReportBuilder builder(options);
    std::uint64_t read = 0;
    idx.for_each([&](const index::ItemRecord& r) {
        builder.add(r);
        if (request.progress && ++read % 50'000 == 0) {
            std::fprintf(stderr, "\rndrd report: %llu items read", static_cast<unsigned long long>(read));
        }
        return true;
    });
    if (request.progress && read >= 50'000) std::fputc('\n', stderr);
    const ReportModel model = std::move(builder).finish([&](std::uint64_t seq) { return idx.get(seq); });

    fs::create_directories(request.out);
    const ThumbnailMaker maker(request.out, request.thumbnail_edge, cfg.max_pixels);
    const auto jobs = thumbnail_jobs(model, cfg);
    const auto made = make_thumbnails(
        maker, jobs, cfg.effective_workers(),
        request.progress && !jobs.empty() ? show_progress : [](std::size_t, std::size_t) {});
    ReportSummary summary;
    std::unordered_map<std::uint64_t, Thumbnail> thumbs;
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        thumbs.emplace(jobs[i].seq, made[i]);
        switch (made[i].result) {
        case ThumbnailResult::made: ++summary.thumbnails_made; break;
        case ThumbnailResult::cached: ++summary.thumbnails_cached; break;
        case ThumbnailResult::missing:
        case ThumbnailResult::undecodable: ++summary.placeholders; break;
        }
    }

    SiteInfo info;
    info.config_file = request.config_file;
    info.index_dir = fs::absolute(cfg.index_dir).string();
    info.parameters = index::describe(idx.params());
    info.release_prefix = request.release_prefix;
    info.since = request.since.value_or("");
    info.generated_ms = now_ms;
    summary.pages = write_site(request.out, model, thumbs, info);

    summary.items = model.items;
    summary.groups = model.groups.size();
    for (const auto& g : model.groups)
        summary.duplicates += g.duplicates.size();
    summary.removed = model.removed.size();
    summary.rejected = model.rejected.size();
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return summary;
}

} // namespace ndrd::daemon
