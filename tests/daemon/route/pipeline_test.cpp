// The ingest pipeline on real files and a real index: decisions independent of
// the worker count, duplicates pointing at their originals, rejected files,
// recovery of journaled moves, and de-duplicated submissions.
#define BOOST_TEST_MODULE pipeline
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "daemon/ingest/ingest_scan.hpp"
#include "daemon/route/pipeline.hpp"
#include "daemon/route/relocator.hpp"
#include "daemon/route/router.hpp"
#include "index/hash/key.hpp"
#include "index_fixtures.hpp"
#include "test_support.hpp"

using namespace ndrd;
using namespace std::chrono_literals;
using daemon::Pipeline;
using daemon::PipelineOptions;
using index::HashIndex;
using index::ItemRecord;
using index::RouteState;
using index::Subset;
using index::Verdict;
namespace fs = std::filesystem;
using Paths = std::vector<std::string>;

namespace {

using test::open_index;
using test::reference_image;

struct Env {
    test::TempDir tmp;
    fs::path ingest = tmp / "ingest";
    fs::path output = tmp / "output";
    fs::path index_dir = tmp / "index";

    Env()
    {
        fs::create_directories(ingest);
        fs::create_directories(output);
    }

    [[nodiscard]] PipelineOptions options(unsigned workers = 1) const
    {
        PipelineOptions o;
        o.ingest_dir = ingest;
        o.rule.sim_threshold = 0.5;
        o.workers = workers;
        return o;
    }

    void add(const std::string& name, const std::string& as = {}) const
    {
        test::copy_reference_image(name, ingest / (as.empty() ? name : as));
    }
};

const daemon::Areas areas{"train", "duplicated", "rejected"};

// The daemon's stack: router, relocator, pipeline on one io_context.
struct Stack {
    boost::asio::io_context io;
    daemon::Router router;
    daemon::Relocator relocator;
    Pipeline pipeline;
    Stack(const Env& env, HashIndex& idx, const PipelineOptions& opt)
        : router(env.ingest, env.output), relocator(idx, router, areas), pipeline(io, opt, idx, relocator)
    {
    }

    // Submits `sources` in order and runs the loop until the pipeline is idle.
    void run(const Paths& sources)
    {
        auto guard = boost::asio::make_work_guard(io); // the workers post back to io later
        bool idle = false;
        pipeline.set_on_idle([&] {
            idle = true;
            guard.reset();
            io.stop();
        });
        for (const auto& s : sources)
            pipeline.submit(s);
        io.run_for(30s);
        io.restart();
        pipeline.set_on_idle({});
        BOOST_TEST_REQUIRE(idle, "the pipeline did not become idle");
        BOOST_TEST(pipeline.idle());
    }
};

daemon::PipelineStats run(const Env& env, HashIndex& idx, const PipelineOptions& opt, const Paths& sources)
{
    Stack stack(env, idx, opt);
    stack.run(sources);
    return stack.pipeline.stats();
}

std::vector<ItemRecord> records_of(const HashIndex& idx, const std::string& source)
{
    std::vector<ItemRecord> out;
    for (auto& r : test::all_records(idx)) {
        if (r.source == source) out.push_back(std::move(r));
    }
    return out;
}

// One line per record, with the matched item named by its source.
Paths describe(const HashIndex& idx)
{
    const auto recs = test::all_records(idx);
    std::map<std::uint64_t, std::string> source_of;
    for (const auto& r : recs)
        source_of[r.seq] = r.source;
    Paths out;
    for (const auto& r : recs) {
        char best[64] = "-";
        if (r.best_similarity) std::snprintf(best, sizeof best, "%.17g", *r.best_similarity);
        out.push_back(std::to_string(r.seq) + " " + r.source + " " + std::string(index::to_string(r.verdict)) + " " +
                      std::string(index::to_string(r.subset)) + " " + std::string(index::to_string(r.state)) + " " +
                      r.location + " key=" + r.key.hex() + " best=" + best +
                      " match=" + (r.matched_seq == 0 ? std::string("-") : source_of[r.matched_seq]));
    }
    return out;
}

Paths sequence_prefix(std::size_t n)
{
    Paths out;
    std::istringstream in(test::read_file(test::reference() / "sequence.txt"));
    std::string line;
    while (out.size() < n && std::getline(in, line)) {
        if (!line.empty()) out.push_back(line);
    }
    return out;
}

struct stat stat_of(const fs::path& p)
{
    struct stat st {};
    BOOST_TEST_REQUIRE(::lstat(p.c_str(), &st) == 0, p);
    return st;
}

// A kept record in state planned, as commit() journals it before the move
// (with coffee.png's key and feature).
ItemRecord planned_record(const HashIndex& idx, std::uint64_t seq, const std::string& source,
                          const std::string& location, const struct stat& st)
{
    auto r = test::make_record(seq, "00000000", Verdict::kept, RouteState::planned);
    r.source = source;
    r.location = location;
    test::hash_reference_image(r, "coffee.png", idx.projection());
    r.size = static_cast<std::uint64_t>(st.st_size);
    r.device = st.st_dev;
    r.inode = st.st_ino;
    r.ingested_ms = 1;
    return r;
}

} // namespace

BOOST_AUTO_TEST_SUITE(pipeline_decisions)

BOOST_AUTO_TEST_CASE(decisions_are_identical_with_one_and_four_workers)
{
    const auto names = sequence_prefix(30);
    BOOST_TEST_REQUIRE(names.size() == 30U);
    Paths described[2];
    Paths trees[2];
    int run_no = 0;
    for (const unsigned workers : {1U, 4U}) {
        Env env;
        for (const auto& n : names)
            env.add(n);
        auto idx = open_index(env.index_dir);
        const auto stats = run(env, idx, env.options(workers), names);
        BOOST_TEST(stats.routed() == 30U, "workers " << workers);
        BOOST_TEST(stats.skipped == 0U);
        BOOST_TEST(test::entries_under(env.ingest).empty(), "workers " << workers << ": files left in ingest");
        described[run_no] = describe(idx);
        trees[run_no] = test::entries_under(env.output);
        BOOST_TEST(idx.counts().planned == 0U);
        ++run_no;
    }
    BOOST_TEST(described[0] == described[1], boost::test_tools::per_element());
    BOOST_TEST(trees[0] == trees[1], boost::test_tools::per_element());
    BOOST_TEST(trees[0].size() == 30U);
}

// A reload that changes `workers` swaps the pool while files are being
// hashed (and, under ThreadSanitizer, while workers read the live settings).
BOOST_AUTO_TEST_CASE(changing_workers_while_files_are_hashed_changes_no_decision)
{
    const auto names = sequence_prefix(30);
    BOOST_TEST_REQUIRE(names.size() == 30U);
    Env reference_env;
    for (const auto& n : names)
        reference_env.add(n);
    auto reference_idx = open_index(reference_env.index_dir);
    run(reference_env, reference_idx, reference_env.options(1), names);

    Env env;
    for (const auto& n : names)
        env.add(n);
    auto idx = open_index(env.index_dir);
    auto opt = env.options(1);
    opt.max_in_flight = 0; // the narrowest window: most files wait for the pools to come
    Stack stack(env, idx, opt);
    std::size_t routed = 0;
    std::vector<unsigned> applied;
    stack.pipeline.set_on_routed([&](const daemon::RoutedEvent&) {
        // 1 -> 4 after the first file, 4 -> 2 after the tenth, and back to 1.
        static const std::map<std::size_t, unsigned> change_at{{1, 4U}, {10, 2U}, {20, 1U}};
        if (const auto it = change_at.find(++routed); it != change_at.end()) {
            const unsigned workers = it->second;
            boost::asio::post(stack.io, [&, workers] {
                stack.pipeline.reconfigure(opt.rule, opt.exact_copy_rule, opt.max_file_size, workers,
                                           opt.reduced_decode, opt.keep);
                applied.push_back(workers);
            });
        }
    });
    stack.run(names);
    BOOST_TEST(applied == (std::vector<unsigned>{4U, 2U, 1U}), boost::test_tools::per_element());
    BOOST_TEST(stack.pipeline.stats().routed() == 30U);
    BOOST_TEST(describe(idx) == describe(reference_idx), boost::test_tools::per_element());
    BOOST_TEST(test::entries_under(env.output) == test::entries_under(reference_env.output),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(decisions_match_datumaro_for_the_first_30_of_the_reference_sequence)
{
    const auto names = sequence_prefix(30);
    std::map<std::string, std::pair<std::string, std::string>> golden; // file -> decision, matched file
    for (const auto& row : test::read_csv(test::reference() / "decisions.csv")) {
        if (row.at(0) == "h32_t0.5") golden[row.at(4)] = {row.at(6), row.size() > 8 ? row.at(8) : ""};
    }
    Env env;
    for (const auto& n : names)
        env.add(n);
    auto idx = open_index(env.index_dir);
    const auto stats = run(env, idx, env.options(4), names);
    const auto recs = test::all_records(idx);
    BOOST_TEST_REQUIRE(recs.size() == 30U);
    std::map<std::uint64_t, std::string> source_of;
    for (const auto& r : recs)
        source_of[r.seq] = r.source;
    int duplicates = 0;
    for (std::size_t i = 0; i < recs.size(); ++i) {
        const auto& r = recs[i];
        BOOST_TEST(r.seq == i + 1);
        BOOST_TEST(r.source == names[i], "seq follows submission order");
        const auto& [decision, matched] = golden.at(r.source);
        const bool dup = decision != "kept";
        BOOST_TEST((r.verdict == (dup ? Verdict::duplicated : Verdict::kept)), r.source << " expected " << decision);
        BOOST_TEST(r.location == (dup ? "duplicated/" : "train/") + r.source);
        BOOST_TEST((r.state == RouteState::done));
        if (dup) {
            ++duplicates;
            BOOST_TEST(source_of[r.matched_seq] == matched, r.source);
        }
        BOOST_TEST(fs::exists(env.output / r.location), r.location);
    }
    BOOST_TEST(duplicates == 8);
    BOOST_TEST(stats.kept == 22U);
    BOOST_TEST(stats.duplicated == 8U);
    BOOST_TEST(idx.counts().kept == 22U);
    BOOST_TEST(idx.counts().duplicated == 8U);
    BOOST_TEST(idx.counts().in_working == 22U);
    BOOST_TEST(idx.counts().in_duplicated == 8U);
}

BOOST_AUTO_TEST_CASE(duplicate_record_points_to_its_kept_original)
{
    Env env;
    env.add("chelsea__jpeg_q40.jpg", "cats/original.jpg");
    env.add("chelsea.png", "cats/copy.png");
    const auto original_bytes = test::read_file(reference_image("chelsea__jpeg_q40.jpg"));
    const auto copy_bytes = test::read_file(reference_image("chelsea.png"));
    auto idx = open_index(env.index_dir);
    run(env, idx, env.options(2), {"cats/original.jpg", "cats/copy.png"});

    const auto orig = records_of(idx, "cats/original.jpg");
    const auto copy = records_of(idx, "cats/copy.png");
    BOOST_TEST_REQUIRE(orig.size() == 1U);
    BOOST_TEST_REQUIRE(copy.size() == 1U);
    BOOST_TEST((orig[0].verdict == Verdict::kept));
    BOOST_TEST(!orig[0].best_similarity.has_value());
    BOOST_TEST(orig[0].matched_seq == 0U);
    BOOST_TEST((copy[0].verdict == Verdict::duplicated));
    BOOST_TEST(copy[0].matched_seq == orig[0].seq);
    BOOST_TEST_REQUIRE(copy[0].best_similarity.has_value());
    BOOST_TEST(std::abs(*copy[0].best_similarity - 0.99362752290379175) < 1e-5);
    BOOST_TEST(copy[0].key.hex() == orig[0].key.hex());
    BOOST_TEST(test::read_file(env.output / "train/cats/original.jpg") == original_bytes);
    BOOST_TEST(test::read_file(env.output / "duplicated/cats/copy.png") == copy_bytes);
    // The kept original is the reference; the duplicate is not.
    const auto refs = idx.kept_with_key(orig[0].key);
    BOOST_TEST_REQUIRE(refs.size() == 1U);
    BOOST_TEST(refs[0].seq == orig[0].seq);
}

// keep: best, with both files in one commit group (submitted together) and
// in two: either way the smaller first arrival ends in the duplicated
// subset, moved once, and the larger one is kept.
BOOST_AUTO_TEST_CASE(keep_best_moves_the_replaced_image_whether_or_not_it_was_decided_in_the_same_group)
{
    for (const bool together : {true, false}) {
        BOOST_TEST_CONTEXT("same group: " << together)
        {
            Env env;
            env.add("chelsea__resize50.png", "small.png");
            env.add("chelsea.png", "large.png");
            auto idx = open_index(env.index_dir);
            auto opt = env.options(2);
            opt.exact_copy_rule = true;
            opt.keep = index::Keep::best;
            Stack stack(env, idx, opt);
            if (together) {
                stack.run({"small.png", "large.png"});
            } else {
                stack.run({"small.png"});
                BOOST_TEST(fs::exists(env.output / "train/small.png"));
                stack.run({"large.png"});
            }
            const auto small = records_of(idx, "small.png");
            const auto large = records_of(idx, "large.png");
            BOOST_TEST_REQUIRE((small.size() == 1U && large.size() == 1U));
            BOOST_TEST((small[0].verdict == Verdict::duplicated && small[0].state == RouteState::done));
            BOOST_TEST(small[0].location == "duplicated/small.png");
            BOOST_TEST(small[0].replaced_by == large[0].seq);
            BOOST_TEST((large[0].verdict == Verdict::kept && large[0].replaced == small[0].seq));
            BOOST_TEST(test::entries_under(env.output) ==
                           (std::vector<std::string>{"duplicated/small.png", "train/large.png"}),
                       boost::test_tools::per_element());
            BOOST_TEST(test::entries_under(env.ingest).empty());
            BOOST_TEST(idx.counts().planned == 0U);
            BOOST_TEST(idx.counts().replaced == 1U);
            BOOST_TEST(idx.counts().in_working == 1U);
            BOOST_TEST(idx.counts().in_duplicated == 1U);
        }
    }
}

BOOST_AUTO_TEST_CASE(kept_copy_after_restart_is_a_reference)
{
    Env env;
    env.add("rocket__copy.jpg");
    {
        auto idx = open_index(env.index_dir);
        run(env, idx, env.options(), {"rocket__copy.jpg"});
    }
    env.add("rocket.jpg");
    auto idx = open_index(env.index_dir);
    run(env, idx, env.options(), {"rocket.jpg"});
    const auto r = records_of(idx, "rocket.jpg");
    BOOST_TEST_REQUIRE(r.size() == 1U);
    BOOST_TEST(r[0].seq == 2U);
    BOOST_TEST((r[0].verdict == Verdict::duplicated));
    BOOST_TEST(r[0].matched_seq == 1U);
    BOOST_TEST(fs::exists(env.output / "duplicated/rocket.jpg"));
}

BOOST_AUTO_TEST_CASE(taken_output_name_gets_a_suffix_and_the_other_file_is_untouched)
{
    Env env;
    env.add("coffee.png");
    test::write_file(env.output / "train/coffee.png", "someone else's file");
    auto idx = open_index(env.index_dir);
    run(env, idx, env.options(), {"coffee.png"});
    const auto r = records_of(idx, "coffee.png");
    BOOST_TEST_REQUIRE(r.size() == 1U);
    BOOST_TEST(r[0].location == "train/coffee~1.png");
    BOOST_TEST(test::read_file(env.output / "train/coffee.png") == "someone else's file");
    BOOST_TEST(test::read_file(env.output / "train/coffee~1.png") == test::read_file(reference_image("coffee.png")));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(pipeline_rejects)

BOOST_AUTO_TEST_CASE(corrupt_file_is_rejected_with_a_reason_and_lands_in_rejected)
{
    Env env;
    fs::create_directories(env.ingest / "bad");
    fs::copy_file(test::reference() / "images_undecodable/truncated.jpg", env.ingest / "bad/truncated.jpg");
    test::write_file(env.ingest / "notes.txt", "not an image at all\n");
    env.add("coffee.png");
    auto idx = open_index(env.index_dir);
    const auto stats = run(env, idx, env.options(2), {"bad/truncated.jpg", "notes.txt", "coffee.png"});
    BOOST_TEST(stats.rejected == 2U);
    BOOST_TEST(stats.kept == 1U);
    for (const auto& [source, location] :
         {std::pair<std::string, std::string>{"bad/truncated.jpg", "rejected/bad/truncated.jpg"},
          {"notes.txt", "rejected/notes.txt"}}) {
        const auto r = records_of(idx, source);
        BOOST_TEST_REQUIRE(r.size() == 1U, source);
        BOOST_TEST((r[0].verdict == Verdict::rejected), source);
        BOOST_TEST((r[0].subset == Subset::rejected), source);
        BOOST_TEST((r[0].state == RouteState::done), source);
        BOOST_TEST(!r[0].reason.empty(), source);
        BOOST_TEST(r[0].feature.empty(), source);
        BOOST_TEST(r[0].location == location);
        BOOST_TEST(fs::exists(env.output / location), location);
        BOOST_TEST(!fs::exists(env.ingest / source), source);
        BOOST_TEST_MESSAGE(source << ": " << r[0].reason);
    }
    BOOST_TEST(idx.counts().rejected == 2U);
    BOOST_TEST(idx.counts().in_rejected == 2U);
    BOOST_TEST(idx.counts().kept == 1U);
}

BOOST_AUTO_TEST_CASE(file_over_max_file_size_is_rejected_unread)
{
    Env env;
    env.add("coffee.png");
    auto opt = env.options();
    opt.max_file_size = 1000;
    auto idx = open_index(env.index_dir);
    const auto stats = run(env, idx, opt, {"coffee.png"});
    BOOST_TEST(stats.rejected == 1U);
    const auto r = records_of(idx, "coffee.png");
    BOOST_TEST_REQUIRE(r.size() == 1U);
    BOOST_TEST((r[0].verdict == Verdict::rejected));
    BOOST_TEST(r[0].reason.find("max_file_size") != std::string::npos, r[0].reason);
    BOOST_TEST(r[0].size == fs::file_size(env.output / "rejected/coffee.png"));
}

BOOST_AUTO_TEST_CASE(missing_paths_symlinks_and_fifos_are_skipped_and_left_alone)
{
    Env env;
    env.add("coffee.png", "real.png");
    fs::create_symlink(env.ingest / "real.png", env.ingest / "link.png");
    BOOST_TEST_REQUIRE(::mkfifo((env.ingest / "pipe.png").c_str(), 0600) == 0);
    auto idx = open_index(env.index_dir);
    const auto stats = run(env, idx, env.options(2), {"missing.png", "link.png", "pipe.png", "real.png"});
    BOOST_TEST(stats.skipped == 3U);
    BOOST_TEST(stats.kept == 1U);
    BOOST_TEST(test::all_records(idx).size() == 1U);
    BOOST_TEST(fs::is_symlink(env.ingest / "link.png"));
    BOOST_TEST(fs::is_fifo(env.ingest / "pipe.png"));
    BOOST_TEST(test::entries_under(env.output) == Paths({"train/real.png"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(pipeline_submissions)

BOOST_AUTO_TEST_CASE(same_path_submitted_twice_while_queued_is_processed_once)
{
    Env env;
    // One worker and the smallest window: at most 4 in flight, so the sixth
    // path waits in the queue.
    const Paths first{"astronaut.png", "camera.png", "coffee.png", "moon.png", "brick.png"};
    for (const auto& n : first)
        env.add(n);
    env.add("horse.png");
    auto idx = open_index(env.index_dir);
    Paths submissions = first;
    submissions.emplace_back("horse.png");
    submissions.emplace_back("horse.png");
    auto opt = env.options(1);
    opt.max_in_flight = 0;
    const auto stats = run(env, idx, opt, submissions);
    BOOST_TEST(stats.routed() == 6U);
    BOOST_TEST(stats.skipped == 0U);
    BOOST_TEST(records_of(idx, "horse.png").size() == 1U);
    BOOST_TEST(test::all_records(idx).size() == 6U);
    BOOST_TEST(idx.next_seq() == 7U);
}

BOOST_AUTO_TEST_CASE(a_burst_over_the_queue_cap_is_fully_processed_through_rescans)
{
    Env env;
    const Paths names{"astronaut.png", "camera.png", "coffee.png", "moon.png", "brick.png",
                      "horse.png",     "coins.png",  "page.png",   "logo.png", "chelsea.png"};
    for (const auto& n : names)
        env.add(n);
    auto idx = open_index(env.index_dir);
    auto opt = env.options(1);
    opt.max_queued = 2;
    opt.max_in_flight = 0; // 4 in flight: the rest of the burst must queue
    Stack stack(env, idx, opt);
    int rescans = 0;
    stack.pipeline.set_on_overflow([&] {
        ++rescans;
        for (const auto& f : daemon::scan_ingest(env.ingest))
            stack.pipeline.submit(f);
    });
    stack.run(names);
    BOOST_TEST(rescans >= 1);
    BOOST_TEST(stack.pipeline.stats().routed() == names.size());
    BOOST_TEST(test::all_records(idx).size() == names.size());
    BOOST_TEST(fs::is_empty(env.ingest));
}

BOOST_AUTO_TEST_CASE(same_path_submitted_again_while_in_flight_is_recorded_once)
{
    Env env;
    env.add("coffee.png");
    auto idx = open_index(env.index_dir);
    const auto stats = run(env, idx, env.options(1), {"coffee.png", "coffee.png", "coffee.png"});
    BOOST_TEST(stats.kept == 1U);
    BOOST_TEST(records_of(idx, "coffee.png").size() == 1U);
    BOOST_TEST(test::all_records(idx).size() == 1U);
    BOOST_TEST(test::entries_under(env.output) == Paths({"train/coffee.png"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_path_submitted_after_it_was_routed_is_a_new_file)
{
    Env env;
    env.add("coffee.png");
    auto idx = open_index(env.index_dir);
    run(env, idx, env.options(), {"coffee.png"});
    env.add("coffee.png"); // the same name uploaded again
    run(env, idx, env.options(), {"coffee.png"});
    const auto r = records_of(idx, "coffee.png");
    BOOST_TEST_REQUIRE(r.size() == 2U);
    BOOST_TEST((r[1].verdict == Verdict::duplicated));
    BOOST_TEST(r[1].matched_seq == r[0].seq);
    BOOST_TEST(r[1].location == "duplicated/coffee.png");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(pipeline_recovery)

BOOST_AUTO_TEST_CASE(planned_record_is_moved_and_marked_done_by_recover)
{
    Env env;
    env.add("coffee.png", "r/cat.png");
    const auto st = stat_of(env.ingest / "r/cat.png");
    auto idx = open_index(env.index_dir);
    const auto rec = planned_record(idx, 1, "r/cat.png", "train/r/cat.png", st);
    idx.put(rec, true);
    BOOST_TEST(idx.counts().planned == 1U);

    Stack stack(env, idx, env.options());
    BOOST_TEST(stack.relocator.recover() == 1U);

    BOOST_TEST(!fs::exists(env.ingest / "r/cat.png"));
    BOOST_TEST_REQUIRE(fs::exists(env.output / "train/r/cat.png"));
    BOOST_TEST(stat_of(env.output / "train/r/cat.png").st_ino == st.st_ino);
    BOOST_TEST(test::read_file(env.output / "train/r/cat.png") == test::read_file(reference_image("coffee.png")));
    const auto after = idx.get(1);
    BOOST_TEST_REQUIRE(after.has_value());
    BOOST_TEST((after->state == RouteState::done));
    BOOST_TEST(after->routed_ms > 0);
    BOOST_TEST(idx.counts().planned == 0U);
    BOOST_TEST(idx.planned().empty());
    BOOST_TEST(idx.kept_with_key(rec.key).size() == 1U);
}

BOOST_AUTO_TEST_CASE(planned_record_already_moved_is_marked_done_without_moving_anything)
{
    Env env;
    env.add("coffee.png", "cat.png");
    const auto st = stat_of(env.ingest / "cat.png");
    auto idx = open_index(env.index_dir);
    idx.put(planned_record(idx, 1, "cat.png", "train/cat.png", st), true);
    // The move happened; the "done" update was lost with the crash.
    fs::create_directories(env.output / "train");
    fs::rename(env.ingest / "cat.png", env.output / "train/cat.png");

    Stack stack(env, idx, env.options());
    BOOST_TEST(stack.relocator.recover() == 1U);

    BOOST_TEST(test::entries_under(env.output) == Paths({"train/cat.png"}), boost::test_tools::per_element());
    BOOST_TEST(stat_of(env.output / "train/cat.png").st_ino == st.st_ino);
    BOOST_TEST(test::entries_under(env.ingest).empty());
    const auto after = idx.get(1);
    BOOST_TEST_REQUIRE(after.has_value());
    BOOST_TEST((after->state == RouteState::done));
    BOOST_TEST(after->location == "train/cat.png");
    BOOST_TEST(idx.counts().planned == 0U);
    BOOST_TEST(idx.counts().kept == 1U);
}

BOOST_AUTO_TEST_CASE(planned_record_with_source_and_destination_missing_becomes_vanished)
{
    Env env;
    env.add("coffee.png", "cat.png");
    const auto st = stat_of(env.ingest / "cat.png");
    auto idx = open_index(env.index_dir);
    const auto rec = planned_record(idx, 1, "cat.png", "train/cat.png", st);
    idx.put(rec, true);
    BOOST_TEST(idx.kept_with_key(rec.key).size() == 1U);
    fs::remove(env.ingest / "cat.png");

    Stack stack(env, idx, env.options());
    BOOST_TEST(stack.relocator.recover() == 1U);

    const auto after = idx.get(1);
    BOOST_TEST_REQUIRE(after.has_value());
    BOOST_TEST((after->state == RouteState::vanished));
    BOOST_TEST(idx.kept_with_key(rec.key).empty(), "a vanished item must not be a reference");
    BOOST_TEST(idx.counts().vanished == 1U);
    BOOST_TEST(idx.counts().kept == 0U);
    BOOST_TEST(idx.counts().planned == 0U);
    BOOST_TEST(test::entries_under(env.output).empty());
}

BOOST_AUTO_TEST_CASE(new_file_under_a_planned_source_name_is_not_moved_by_recovery)
{
    Env env;
    env.add("coffee.png", "cat.png");
    const auto st = stat_of(env.ingest / "cat.png");
    auto idx = open_index(env.index_dir);
    idx.put(planned_record(idx, 1, "cat.png", "train/cat.png", st), true);
    // The decided file vanished and a different upload took its name.
    env.add("camera.png", "cat.png.new"); // created while the old one exists: another inode
    fs::rename(env.ingest / "cat.png.new", env.ingest / "cat.png");
    BOOST_TEST_REQUIRE(stat_of(env.ingest / "cat.png").st_ino != st.st_ino);

    Stack stack(env, idx, env.options());
    BOOST_TEST(stack.relocator.recover() == 1U);

    BOOST_TEST(test::read_file(env.ingest / "cat.png") == test::read_file(reference_image("camera.png")));
    BOOST_TEST(test::entries_under(env.output).empty());
    BOOST_TEST((idx.get(1)->state == RouteState::vanished));
}

BOOST_AUTO_TEST_CASE(planned_record_whose_destination_was_taken_moves_to_a_free_name)
{
    Env env;
    env.add("coffee.png", "cat.png");
    const auto st = stat_of(env.ingest / "cat.png");
    auto idx = open_index(env.index_dir);
    idx.put(planned_record(idx, 1, "cat.png", "train/cat.png", st), true);
    test::write_file(env.output / "train/cat.png", "another file took the name");

    Stack stack(env, idx, env.options());
    BOOST_TEST(stack.relocator.recover() == 1U);

    const auto after = idx.get(1);
    BOOST_TEST_REQUIRE(after.has_value());
    BOOST_TEST((after->state == RouteState::done));
    BOOST_TEST(after->location == "train/cat~1.png");
    BOOST_TEST(test::read_file(env.output / "train/cat.png") == "another file took the name");
    BOOST_TEST(test::read_file(env.output / "train/cat~1.png") == test::read_file(reference_image("coffee.png")));
    BOOST_TEST(!fs::exists(env.ingest / "cat.png"));
}

BOOST_AUTO_TEST_CASE(planned_record_whose_cross_device_copy_finished_removes_the_source)
{
    Env env;
    env.add("coffee.png", "cat.png");
    const auto st = stat_of(env.ingest / "cat.png");
    auto idx = open_index(env.index_dir);
    idx.put(planned_record(idx, 1, "cat.png", "train/cat.png", st), true);
    // copy + link completed, the unlink of the source did not.
    fs::create_directories(env.output / "train");
    fs::copy_file(env.ingest / "cat.png", env.output / "train/cat.png");

    Stack stack(env, idx, env.options());
    BOOST_TEST(stack.relocator.recover() == 1U);

    BOOST_TEST(!fs::exists(env.ingest / "cat.png"));
    BOOST_TEST(test::read_file(env.output / "train/cat.png") == test::read_file(reference_image("coffee.png")));
    BOOST_TEST(test::entries_under(env.output) == Paths({"train/cat.png"}), boost::test_tools::per_element());
    BOOST_TEST((idx.get(1)->state == RouteState::done));
}

BOOST_AUTO_TEST_CASE(planned_rebalance_move_is_completed_by_recover)
{
    Env env;
    test::write_file(env.output / "train/a/cat.png", test::read_file(reference_image("coffee.png")));
    const auto st = stat_of(env.output / "train/a/cat.png");
    auto idx = open_index(env.index_dir);
    auto rec = planned_record(idx, 1, "a/cat.png", "duplicated/a/cat.png", st);
    rec.previous_location = "train/a/cat.png";
    rec.subset = Subset::duplicated; // a kept item cut by a rebalance
    idx.put(rec, true);

    Stack stack(env, idx, env.options());
    BOOST_TEST(stack.relocator.recover() == 1U);

    BOOST_TEST(test::entries_under(env.output) == Paths({"duplicated/a/cat.png"}), boost::test_tools::per_element());
    BOOST_TEST(stat_of(env.output / "duplicated/a/cat.png").st_ino == st.st_ino);
    const auto after = idx.get(1);
    BOOST_TEST_REQUIRE(after.has_value());
    BOOST_TEST((after->state == RouteState::done));
    BOOST_TEST(after->previous_location.empty());
    BOOST_TEST(idx.counts().cut == 1U);
    BOOST_TEST(idx.counts().planned == 0U);
}

BOOST_AUTO_TEST_CASE(planned_rebalance_move_already_done_is_only_marked_done)
{
    Env env;
    test::write_file(env.output / "duplicated/cat.png", test::read_file(reference_image("coffee.png")));
    const auto st = stat_of(env.output / "duplicated/cat.png");
    auto idx = open_index(env.index_dir);
    auto rec = planned_record(idx, 1, "cat.png", "duplicated/cat.png", st);
    rec.previous_location = "train/cat.png";
    rec.subset = Subset::duplicated;
    idx.put(rec, true);
    // A file of the same name in the ingest directory is a new upload: not ours.
    env.add("camera.png", "cat.png");

    Stack stack(env, idx, env.options());
    BOOST_TEST(stack.relocator.recover() == 1U);

    BOOST_TEST(test::entries_under(env.output) == Paths({"duplicated/cat.png"}), boost::test_tools::per_element());
    BOOST_TEST(test::entries_under(env.ingest) == Paths({"cat.png"}), boost::test_tools::per_element());
    BOOST_TEST((idx.get(1)->state == RouteState::done));
    BOOST_TEST(idx.get(1)->previous_location.empty());
}

BOOST_AUTO_TEST_CASE(recovered_reference_judges_later_submissions)
{
    Env env;
    env.add("chelsea__jpeg_q40.jpg", "first.jpg");
    const auto st = stat_of(env.ingest / "first.jpg");
    auto idx = open_index(env.index_dir);
    auto rec = planned_record(idx, 1, "first.jpg", "train/first.jpg", st);
    test::hash_reference_image(rec, "chelsea__jpeg_q40.jpg", idx.projection());
    idx.put(rec, true);

    env.add("chelsea.png", "second.png");
    Stack stack(env, idx, env.options());
    BOOST_TEST(stack.relocator.recover() == 1U);
    stack.run({"second.png"});
    const auto second = records_of(idx, "second.png");
    BOOST_TEST_REQUIRE(second.size() == 1U);
    BOOST_TEST(second[0].seq == 2U);
    BOOST_TEST((second[0].verdict == Verdict::duplicated));
    BOOST_TEST(second[0].matched_seq == 1U);
}

BOOST_AUTO_TEST_SUITE_END()
