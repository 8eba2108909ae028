// `ndrd once` over Datumaro's 64-image sequence reproduces Datumaro's
// kept/removed split for every golden scenario, file by file, whatever the
// number of workers.
#define BOOST_TEST_MODULE e2e_golden_once
#include <boost/test/unit_test.hpp>

#include <cstdio>

#include "e2e_support.hpp"

using namespace ndrd;
using namespace ndrd::e2e;

namespace {

struct Scenario {
    std::string name;
    int hash_dim;
    double threshold;
    int kept; // from the reference README, as a cross-check of decisions.csv
    int duplicated;
};

std::string prefixed(int position, const std::string& file)
{
    char buf[8];
    std::snprintf(buf, sizeof buf, "%03d_", position);
    return buf + file;
}

// Runs `ndrd once` on the scenario with `workers` in its own directory below
// `root`; returns the output tree (relative path -> bytes).
std::map<std::string, std::string> run_scenario(const fs::path& root, const Scenario& sc, unsigned workers)
{
    BOOST_TEST_INFO_SCOPE("scenario " << sc.name << ", workers " << workers);
    const auto expected_decisions = decisions(sc.name);
    BOOST_REQUIRE_EQUAL(expected_decisions.size(), 64U);

    const Layout layout = make_layout(root / ("workers" + std::to_string(workers)));
    ConfigOptions opt;
    opt.hash_dim = sc.hash_dim;
    opt.sim_threshold = sc.threshold;
    opt.projection = test::reference() / ("projection_768x" + std::to_string(sc.hash_dim) + ".txt");
    opt.workers = workers;
    opt.log_level = "info";
    write_config(layout, opt);

    // The order is Datumaro's: the position prefix makes it the lexicographic one.
    const auto seq = sequence();
    BOOST_REQUIRE_EQUAL(seq.size(), 64U);
    std::map<std::string, std::string> expected; // output-relative path -> bytes
    int kept = 0;
    int duplicated = 0;
    for (const auto& d : expected_decisions) {
        BOOST_REQUIRE_EQUAL(seq.at(static_cast<std::size_t>(d.position)), d.file);
        const std::string name = prefixed(d.position, d.file);
        const std::string bytes = image(d.file);
        test::write_file(layout.ingest / name, bytes);
        BOOST_REQUIRE(d.decision == "kept" || d.decision == "duplicated");
        const bool is_kept = d.decision == "kept";
        (is_kept ? kept : duplicated) += 1;
        expected[(is_kept ? "train/" : "duplicated/") + name] = bytes;
    }
    BOOST_REQUIRE_EQUAL(kept, sc.kept);
    BOOST_REQUIRE_EQUAL(duplicated, sc.duplicated);

    const auto r = run_ndrd({"once", "--config", layout.config.string()});
    BOOST_TEST_INFO("stderr:\n" << r.err);
    BOOST_REQUIRE_EQUAL(r.code(), 0);

    const auto summary = parse_summary(r.out);
    BOOST_REQUIRE_MESSAGE(summary, "no summary line on stdout: '" << r.out << "'");
    BOOST_CHECK_EQUAL(summary->kept, kept);
    BOOST_CHECK_EQUAL(summary->duplicated, duplicated);
    BOOST_CHECK_EQUAL(summary->rejected, 0);
    BOOST_CHECK_EQUAL(summary->skipped, 0);

    // File by file, so that a failure names the image and where it went.
    const auto actual = files_under(layout.output);
    std::map<std::string, std::string> where; // ingest name -> output path
    for (const auto& [path, bytes] : actual) {
        where[fs::path(path).filename().string()] = path;
    }
    for (const auto& d : expected_decisions) {
        const std::string name = prefixed(d.position, d.file);
        const std::string want = (d.decision == "kept" ? "train/" : "duplicated/") + name;
        const auto it = where.find(name);
        BOOST_CHECK_MESSAGE(it != where.end() && it->second == want,
                            name << ": Datumaro says " << d.decision << (d.matched_file.empty() ? "" : " (matches ")
                                 << d.matched_file << (d.matched_file.empty() ? "" : ")") << ", expected at " << want
                                 << ", found at " << (it == where.end() ? "<nowhere>" : it->second));
    }
    // Exactly these files, with their bytes, and nothing left behind.
    BOOST_CHECK(actual == expected);
    BOOST_CHECK_EQUAL(actual.size(), 64U);
    BOOST_CHECK(entries_under(layout.ingest).empty());
    BOOST_CHECK(!fs::exists(layout.output / "rejected") || entries_under(layout.output / "rejected").empty());
    return actual;
}

void check_scenario(const Scenario& sc)
{
    test::TempDir dir;
    const auto one = run_scenario(dir.path(), sc, 1);
    const auto four = run_scenario(dir.path(), sc, 4);
    // The decision order is the submission order, not the completion order.
    std::vector<std::string> paths_one;
    std::vector<std::string> paths_four;
    for (const auto& [p, b] : one)
        paths_one.push_back(p);
    for (const auto& [p, b] : four)
        paths_four.push_back(p);
    BOOST_CHECK_EQUAL_COLLECTIONS(paths_one.begin(), paths_one.end(), paths_four.begin(), paths_four.end());
}

} // namespace

BOOST_AUTO_TEST_SUITE(golden_once)

BOOST_AUTO_TEST_CASE(h32_t0_5_matches_datumaro_with_1_and_4_workers)
{
    check_scenario({"h32_t0.5", 32, 0.5, 39, 25});
}

BOOST_AUTO_TEST_CASE(h32_t0_9_matches_datumaro_with_1_and_4_workers)
{
    check_scenario({"h32_t0.9", 32, 0.9, 42, 22});
}

BOOST_AUTO_TEST_CASE(h16_t0_5_matches_datumaro_with_1_and_4_workers)
{
    check_scenario({"h16_t0.5", 16, 0.5, 38, 26});
}

BOOST_AUTO_TEST_CASE(h32_t0_05_matches_datumaro_with_1_and_4_workers)
{
    check_scenario({"h32_t0.05", 32, 0.05, 39, 25});
}

BOOST_AUTO_TEST_SUITE_END()
