// Rebalancing end to end through the binary: exact subset sizes for every
// policy, reproducibility by seed, no churn, a crash in the middle of a
// rebalance, and `ndrd rebalance` against a running daemon.
#define BOOST_TEST_MODULE e2e_rebalance
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <set>

#include "e2e_support.hpp"

using namespace ndrd;
using namespace ndrd::e2e;

namespace {

// Ten reference photos with ten different keys under projection_768x32.
const std::vector<std::string> distinct = {"astronaut.png", "camera.png", "coffee.png", "coins.png",
                                           "moon.png",      "brick.png",  "page.png",   "motorcycle_left.png",
                                           "logo.png",      "horse.png"};

// 300 files from 10 distinct images: "<copy>_<image>.png", copy 00 first in
// lexicographic order, so the 10 copies "00_*" are kept and 290 are duplicates.
void fill_300(const Layout& l)
{
    for (int copy = 0; copy < 30; ++copy) {
        for (std::size_t i = 0; i < distinct.size(); ++i) {
            char name[32];
            std::snprintf(name, sizeof name, "%02d_%zu.png", copy, i);
            test::write_file(l.ingest / name, image(distinct[i]));
        }
    }
}

struct Setup {
    test::TempDir dir;
    Layout layout = make_layout(dir.path());
    explicit Setup(const std::string& extra, bool fill = true)
    {
        ConfigOptions o;
        o.log_level = "info";
        o.extra = extra;
        write_config(layout, o);
        fs::create_directories(layout.ingest);
        if (fill) fill_300(layout);
    }
    [[nodiscard]] std::set<std::string> working() const { return names(layout.output / "train"); }
    [[nodiscard]] std::set<std::string> duplicated() const { return names(layout.output / "duplicated"); }
    static std::set<std::string> names(const fs::path& dir)
    {
        if (!fs::exists(dir)) return {};
        const auto v = entries_under(dir);
        return {v.begin(), v.end()};
    }
    RunResult once() const { return run_ndrd({"once", "--config", layout.config.string()}); }
    RunResult verify() const { return run_ndrd({"verify", "--config", layout.config.string()}); }
};

// best_similarity column of decisions.csv for one file of a scenario.
std::string decision_row_similarity(const std::string& scenario, const std::string& file)
{
    for (const auto& row : test::read_csv(test::reference() / "decisions.csv")) {
        if (row.at(0) == scenario && row.at(4) == file) return row.at(7);
    }
    throw std::runtime_error("no decision for " + file);
}

bool all_originals(const std::set<std::string>& files)
{
    return std::all_of(files.begin(), files.end(), [](const std::string& f) { return f.starts_with("00_"); });
}

} // namespace

BOOST_AUTO_TEST_SUITE(rebalance_end_to_end)

BOOST_AUTO_TEST_CASE(without_num_cut_every_unique_image_is_working_and_the_rest_duplicated)
{
    Setup s("");
    const auto r = s.once();
    BOOST_TEST_REQUIRE(r.code() == 0, r.err);
    BOOST_TEST(s.working().size() == 10U);
    BOOST_TEST(all_originals(s.working()));
    BOOST_TEST(s.duplicated().size() == 290U);
    BOOST_TEST(s.verify().code() == 0);
}

BOOST_AUTO_TEST_CASE(under_sampling_cuts_to_exactly_num_cut_with_each_policy)
{
    for (const std::string policy : {"uniform", "inverse"}) {
        Setup s("num_cut: 4\nunder_sample: " + policy + "\nseed: 7\n");
        const auto r = s.once();
        BOOST_TEST_REQUIRE(r.code() == 0, r.err);
        BOOST_TEST(s.working().size() == 4U, policy);
        BOOST_TEST(all_originals(s.working()), policy);
        BOOST_TEST(s.duplicated().size() == 296U, policy);
        BOOST_TEST(r.out.find("6 cut, 0 restored") != std::string::npos, r.out);
        const auto st = run_ndrd({"status", "--config", s.layout.config.string()});
        BOOST_TEST(st.out.find("6 cut, 0 restored") != std::string::npos, st.out);
        BOOST_TEST(s.verify().code() == 0);
    }
}

BOOST_AUTO_TEST_CASE(over_sampling_tops_up_to_exactly_num_cut_with_each_policy)
{
    for (const std::string policy : {"random", "similarity"}) {
        Setup s("num_cut: 20\nover_sample: " + policy + "\n");
        const auto r = s.once();
        BOOST_TEST_REQUIRE(r.code() == 0, r.err);
        const auto w = s.working();
        BOOST_TEST(w.size() == 20U, policy);
        BOOST_TEST(s.duplicated().size() == 280U, policy);
        const auto originals = std::count_if(w.begin(), w.end(), [](const auto& f) { return f.rfind("00_", 0) == 0; });
        BOOST_TEST(originals == 10, policy); // every unique image stays
    }
}

BOOST_AUTO_TEST_CASE(similarity_restores_exactly_the_least_similar_duplicates)
{
    // Datumaro's ordered decisions give each duplicate's best similarity.
    Setup s("num_cut: 45\nover_sample: similarity\n", /*fill=*/false);
    std::vector<std::pair<double, std::string>> dups;
    std::size_t kept = 0;
    for (const auto& d : decisions("h32_t0.5")) {
        char name[16];
        std::snprintf(name, sizeof name, "%03d_", d.position);
        test::write_file(s.layout.ingest / (name + d.file), image(d.file));
        if (d.decision == "kept") {
            ++kept;
        } else {
            dups.emplace_back(std::stod(decision_row_similarity("h32_t0.5", d.file)), name + d.file);
        }
    }
    BOOST_TEST_REQUIRE(kept == 39U);
    std::sort(dups.begin(), dups.end());
    const auto r = s.once();
    BOOST_TEST_REQUIRE(r.code() == 0, r.err);
    const auto w = s.working();
    BOOST_TEST(w.size() == 45U);
    for (std::size_t i = 0; i < dups.size(); ++i) {
        BOOST_TEST(w.contains(dups[i].second) == (i < 6), dups[i].second << " similarity " << dups[i].first);
    }
}

BOOST_AUTO_TEST_CASE(same_seed_same_subset_different_seed_different_subset)
{
    Setup a("num_cut: 5\nseed: 11\n");
    Setup b("num_cut: 5\nseed: 11\n");
    Setup c("num_cut: 5\nseed: 12\n");
    for (const auto* s : {&a, &b, &c})
        BOOST_TEST_REQUIRE(s->once().code() == 0);
    BOOST_TEST(a.working() == b.working());
    BOOST_TEST(a.working() != c.working());
}

BOOST_AUTO_TEST_CASE(a_second_rebalance_moves_nothing_and_one_new_image_moves_at_most_one_old_file)
{
    Setup s("num_cut: 5\nseed: 3\n");
    BOOST_TEST_REQUIRE(s.once().code() == 0);
    const auto before = s.working();
    const auto r = run_ndrd({"rebalance", "--config", s.layout.config.string()});
    BOOST_TEST_REQUIRE(r.code() == 0, r.err);
    const auto report = parse_json_line(lines_of(r.out).at(0));
    BOOST_TEST(report.at("restored").empty(), r.out);
    BOOST_TEST(report.at("cut").empty(), r.out);
    BOOST_TEST(s.working() == before);

    test::write_file(s.layout.ingest / "zz_new.png", image("palette_color.png"));
    BOOST_TEST_REQUIRE(s.once().code() == 0);
    const auto after = s.working();
    BOOST_TEST(after.size() == 5U);
    std::vector<std::string> old_out;
    std::set_difference(before.begin(), before.end(), after.begin(), after.end(), std::back_inserter(old_out));
    BOOST_TEST(old_out.size() <= 1U);
    BOOST_TEST(s.verify().code() == 0);
}

BOOST_AUTO_TEST_CASE(changing_num_cut_and_restarting_rebalances_to_the_new_target)
{
    Setup s("num_cut: 3\n");
    BOOST_TEST_REQUIRE(s.once().code() == 0);
    BOOST_TEST(s.working().size() == 3U);
    ConfigOptions o;
    o.log_level = "info";
    o.extra = "num_cut: 12\nover_sample: similarity\n";
    write_config(s.layout, o);
    BOOST_TEST_REQUIRE(s.once().code() == 0);
    BOOST_TEST(s.working().size() == 12U);
    BOOST_TEST(s.duplicated().size() == 288U);
    BOOST_TEST(s.verify().code() == 0);
}

BOOST_AUTO_TEST_CASE(crash_in_the_middle_of_a_rebalance_is_completed_at_restart)
{
    Setup s("num_cut: 2\n");
    ::setenv("NDRD_FAILPOINT", "rebalance_abort_after_moves:3", 1);
    const auto crashed = s.once();
    ::unsetenv("NDRD_FAILPOINT");
    BOOST_TEST_REQUIRE(crashed.code() != 0); // aborted between two moves
    BOOST_TEST(crashed.err.find("failpoint") != std::string::npos);
    // The index still journals 5 planned moves: verify sees them.
    const auto dirty = s.verify();
    BOOST_TEST(dirty.code() == 1);
    BOOST_TEST(dirty.out.find("pending_move") != std::string::npos, dirty.out);

    const auto r = s.once();
    BOOST_TEST_REQUIRE(r.code() == 0, r.err);
    BOOST_TEST(s.working().size() == 2U);
    BOOST_TEST(s.working().size() + s.duplicated().size() == 300U); // nothing lost, nothing doubled
    const auto clean = s.verify();
    BOOST_TEST(clean.code() == 0, clean.out);
}

BOOST_AUTO_TEST_CASE(rebalance_command_is_served_by_the_running_daemon)
{
    Setup s("num_cut: 3\nrebalance:\n  interval: 0s\n", /*fill=*/false);
    Daemon d(s.layout);
    BOOST_TEST_REQUIRE(d.wait_ready(), d.log());
    for (std::size_t i = 0; i < distinct.size(); ++i) {
        test::write_file(s.layout.ingest / ("live_" + std::to_string(i) + ".png"), image(distinct[i]));
    }
    BOOST_TEST_REQUIRE(eventually([&] { return s.working().size() == 10U; }), d.log());

    const auto st = run_ndrd({"status", "--config", s.layout.config.string()});
    BOOST_TEST(st.code() == 0);
    BOOST_TEST(st.out.find("running") != std::string::npos, st.out);

    const auto r = run_ndrd({"rebalance", "--config", s.layout.config.string()});
    BOOST_TEST_REQUIRE(r.code() == 0, r.err);
    const auto report = parse_json_line(lines_of(r.out).at(0));
    BOOST_TEST(report.at("working_before").get<std::uint64_t>() == 10U, r.out);
    BOOST_TEST(report.at("working_after").get<std::uint64_t>() == 3U, r.out);
    BOOST_TEST(report.at("cut").size() == 7U, r.out);
    BOOST_TEST(s.working().size() == 3U);
    BOOST_TEST(s.duplicated().size() == 7U);
    BOOST_TEST(d.log().find("rebalance: working subset 10 -> 3") != std::string::npos);
    BOOST_TEST((d.stop() == std::optional<ExitStatus>(0)));
    BOOST_TEST(s.verify().code() == 0);
}

BOOST_AUTO_TEST_SUITE_END()
