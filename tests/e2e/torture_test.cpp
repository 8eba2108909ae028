// Kill -9 torture: files are fed camera-style and rename-style (exact copies
// among them) while the daemon is SIGKILLed at random instants and restarted,
// rebalancing as it goes. Afterwards every file is in exactly one place with
// its bytes intact, `ndrd verify` is clean, and the placement equals an
// uninterrupted `ndrd once` over the same files in the same order. Run with
// Datumaro's rules, and with keep: best, whose replacements move a kept file
// out of the working subset while its better copy moves in.
//
// CTest runs a short version. The long one, run before a release:
//   build/tests/e2e/e2e_torture_test -- --files 3000 --kills 40
#define BOOST_TEST_MODULE e2e_torture
#include <boost/test/unit_test.hpp>

#include <csignal>
#include <random>
#include <thread>

#include "e2e_support.hpp"

using namespace ndrd;
using namespace ndrd::e2e;

namespace {

struct Params {
    int files = 400;
    int kills = 30;
};

Params params()
{
    Params p;
    auto& suite = boost::unit_test::framework::master_test_suite();
    for (int i = 1; i + 1 < suite.argc; ++i) {
        const std::string a = suite.argv[i];
        if (a == "--files") p.files = std::stoi(suite.argv[i + 1]);
        if (a == "--kills") p.kills = std::stoi(suite.argv[i + 1]);
    }
    return p;
}

// The fed stream: names increase with the write order, so the daemon's order
// (backlog lexicographic, then events in arrival order) is the write order.
struct Item {
    std::string name;
    std::string bytes;
};

std::vector<Item> make_stream(int n)
{
    const auto pool = test::reference_image_names();
    std::mt19937 rng(2026);
    std::vector<Item> items;
    for (int i = 0; i < n; ++i) {
        const auto& src = pool[rng() % pool.size()]; // repeats are exact copies
        char name[32];
        std::snprintf(name, sizeof name, "f%06d", i);
        items.push_back({std::string(name) + "_" + src, image(src)});
    }
    return items;
}

const std::string config_extra = "num_cut: 40\nseed: 5\nrebalance:\n  interval: 0s\n  after_items: 25\n";

std::map<std::string, std::string> placement(const Layout& l)
{
    std::map<std::string, std::string> where; // file name -> area
    for (const auto& rel : entries_under(l.output)) {
        const auto slash = rel.find('/');
        where[rel.substr(slash + 1)] = rel.substr(0, slash);
    }
    return where;
}

// How many kept images better copies replaced (keep: best), from the export.
int replacements(const Layout& l)
{
    const auto csv = run_ndrd({"export", "--config", l.config.string()});
    int n = 0;
    for (const auto& row : test::parse_csv_rows(csv.out)) {
        n += row.at("replaced_by_item").empty() ? 0 : 1;
    }
    return n;
}

// Feeds the stream while killing daemons, then compares with `once`.
// Returns how many replacements keep: best made.
int torture(const Params& p, const ConfigOptions& o)
{
    const auto stream = make_stream(p.files);
    BOOST_TEST_MESSAGE("feeding " << p.files << " files with " << p.kills << " SIGKILLs");

    test::TempDir dir;
    const Layout l = make_layout(dir / "torture");
    write_config(l, o);
    fs::create_directories(l.ingest);
    const fs::path staging = dir / "staging";
    fs::create_directories(staging);

    std::atomic<bool> fed{false};
    std::thread feeder([&] {
        std::mt19937 rng(7);
        for (std::size_t i = 0; i < stream.size(); ++i) {
            const auto& it = stream[i];
            if (i % 2 == 0) {
                write_in_chunks(l.ingest / it.name, it.bytes, 3, std::chrono::milliseconds(rng() % 3));
            } else {
                write_then_rename(staging / it.name, l.ingest / it.name, it.bytes);
            }
            if (rng() % 4 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 5));
        }
        fed = true;
    });

    std::mt19937 rng(99);
    int kills = 0;
    int restarts = 0;
    int recoveries = 0; // starts that found a half-done move to finish
    int rebalances = 0; // starts that got as far as a rebalance
    while (kills < p.kills) {
        Daemon d(l, "torture");
        ++restarts;
        // Kill at a random instant: sometimes before it is ready, mostly while it works.
        std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 450));
        d.process().kill();
        ++kills;
        const auto log = d.log();
        recoveries += log.find("journaled move(s) left unfinished") != std::string::npos ? 1 : 0;
        rebalances += log.find("rebalance:") != std::string::npos ? 1 : 0;
        if (fed && kills >= p.kills) break;
    }
    feeder.join();
    {
        // Let a last daemon finish everything, rebalance, and stop cleanly.
        Daemon d(l, "final");
        BOOST_TEST_REQUIRE(d.wait_ready(), d.log());
        BOOST_TEST_REQUIRE(eventually([&] { return entries_under(l.ingest).empty(); }, std::chrono::seconds(120)),
                           "ingest never drained");
        const auto r = run_ndrd({"rebalance", "--config", l.config.string()});
        BOOST_TEST(r.code() == 0, r.err);
        BOOST_TEST((d.stop() == std::optional<ExitStatus>(0)));
    }
    BOOST_TEST_MESSAGE(kills << " SIGKILLs over " << restarts << " starts; " << recoveries
                             << " starts completed interrupted moves; " << rebalances << " rebalanced");
    BOOST_TEST(kills >= p.kills);

    // Nothing lost, doubled or damaged.
    const auto files = files_under(l.output);
    BOOST_TEST(files.size() == stream.size());
    std::map<std::string, int> seen;
    for (const auto& [rel, bytes] : files) {
        const auto name = rel.substr(rel.find('/') + 1);
        ++seen[name];
    }
    for (const auto& it : stream) {
        BOOST_TEST(seen[it.name] == 1, it.name << " found " << seen[it.name] << " times");
    }
    for (const auto& [rel, bytes] : files) {
        const auto name = rel.substr(rel.find('/') + 1);
        const auto src = name.substr(name.find('_') + 1);
        BOOST_TEST((bytes == image(src)), rel << " differs from what was fed");
    }
    const auto v = run_ndrd({"verify", "--config", l.config.string()});
    BOOST_TEST(v.code() == 0, v.out);

    // The same stream, uninterrupted, as one batch.
    const Layout ref = make_layout(dir / "reference");
    write_config(ref, o);
    for (const auto& it : stream)
        test::write_file(ref.ingest / it.name, it.bytes);
    BOOST_TEST_REQUIRE(run_ndrd({"once", "--config", ref.config.string()}, std::chrono::seconds(300)).code() == 0);
    const auto want = placement(ref);
    const auto got = placement(l);
    BOOST_TEST(got.size() == want.size());
    int differ = 0;
    for (const auto& [name, area] : want) {
        if (got.count(name) == 0 || got.at(name) != area) {
            if (++differ <= 10)
                BOOST_TEST_MESSAGE(name << ": " << area << " uninterrupted, "
                                        << (got.count(name) ? got.at(name) : "missing") << " after kills");
        }
    }
    BOOST_TEST(differ == 0);
    return replacements(l);
}

} // namespace

BOOST_AUTO_TEST_SUITE(kill_minus_nine)

BOOST_AUTO_TEST_CASE(random_sigkills_lose_nothing_and_change_no_decision)
{
    ConfigOptions o;
    o.log_level = "info";
    o.extra = config_extra;
    BOOST_TEST(torture(params(), o) == 0);
}

BOOST_AUTO_TEST_CASE(with_keep_best_random_sigkills_lose_nothing_and_change_no_replacement)
{
    ConfigOptions o;
    o.log_level = "info";
    o.compat = "off";
    o.extra = config_extra + "keep: best\n";
    Params p = params();
    p.files = p.files / 2; // the reference images' resized copies make replacements common at any length
    p.kills = p.kills / 2;
    const int replaced = torture(p, o);
    BOOST_TEST_MESSAGE(replaced << " kept images replaced by better copies");
    BOOST_TEST(replaced > 0);
}

BOOST_AUTO_TEST_SUITE_END()
