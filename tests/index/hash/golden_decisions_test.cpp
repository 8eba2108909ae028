// Datumaro's ordered decisions, reproduced through the real RocksDB index and
// the decision core, which judges at the precision the index stores (float32
// on both sides; Datumaro judges in float64).
#define BOOST_TEST_MODULE golden_decisions
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <map>

#include "index/hash/key.hpp"
#include "index/store/hash_index.hpp"
#include "reference_data.hpp"

using namespace ndrd;

namespace {

struct Expected {
    std::string file;
    std::string key;
    std::string decision;
    std::string best;
    std::string matched;
};

index::ItemRecord record_for(std::uint64_t seq, const std::string& file, const index::Feature& f, const index::Key& key,
                             const index::Decision& d)
{
    index::ItemRecord r;
    r.seq = seq;
    r.source = file;
    r.location = file;
    r.verdict = d.duplicate ? index::Verdict::duplicated : index::Verdict::kept;
    r.subset = d.duplicate ? index::Subset::duplicated : index::Subset::working;
    r.state = index::RouteState::done;
    r.key = key;
    r.feature.assign(f.values.begin(), f.values.end());
    r.degenerate = f.degenerate;
    r.best_similarity = d.best_similarity;
    r.matched_seq = d.matched_seq;
    return r;
}

void run_scenario(const std::string& scenario, int hash_dim, double threshold)
{
    std::vector<Expected> expected;
    for (const auto& row : test::read_csv(test::reference() / "decisions.csv")) {
        if (row.at(0) == scenario) {
            expected.push_back({row.at(4), row.at(5), row.at(6), row.at(7), row.size() > 8 ? row.at(8) : ""});
        }
    }
    BOOST_REQUIRE_EQUAL(expected.size(), 64U);

    test::TempDir dir;
    const auto projection = test::golden_projection(hash_dim);
    auto idx = index::HashIndex::open(dir / "index", {"gradient", {8, 8}, hash_dim}, [&] { return projection; });
    std::map<std::uint64_t, std::string> file_of_seq;
    std::uint64_t seq = 0;
    int kept = 0;
    double max_gap = 0;    // |float32 judging - Datumaro's float64 similarity|
    double min_margin = 1; // |Datumaro's similarity - threshold|
    for (const auto& e : expected) {
        const auto f = test::feature_of(e.file);
        const auto key = index::compute_key(f, idx.projection());
        BOOST_TEST(key.hex() == e.key, scenario << " " << e.file);
        const auto d = idx.judge(f, key, threshold);
        BOOST_TEST((d.duplicate ? "removed" : "kept") == (e.decision == "kept" ? "kept" : "removed"),
                   scenario << " " << e.file << " expected " << e.decision);
        if (e.best.empty()) {
            BOOST_TEST(!d.best_similarity.has_value(), scenario << " " << e.file);
        } else {
            BOOST_REQUIRE(d.best_similarity.has_value());
            const double datumaro = std::stod(e.best);
            BOOST_TEST(std::abs(*d.best_similarity - datumaro) < 1e-5, scenario << " " << e.file);
            max_gap = std::max(max_gap, std::abs(*d.best_similarity - datumaro));
            min_margin = std::min(min_margin, std::abs(datumaro - threshold));
            BOOST_TEST(file_of_seq[d.matched_seq] == e.matched, scenario << " " << e.file);
        }
        idx.put(record_for(++seq, e.file, f, key, d), false);
        file_of_seq[seq] = e.file;
        kept += d.duplicate ? 0 : 1;
    }
    BOOST_TEST(idx.counts().kept == static_cast<std::uint64_t>(kept));
    // decisions.csv prints similarities with 17 significant digits; the gap
    // must stay far below the closest call, so no decision could flip.
    BOOST_TEST_MESSAGE(scenario << ": float32 judging is within " << max_gap
                                << " of Datumaro's float64 similarity; the closest call is " << min_margin
                                << " from the threshold");
    BOOST_TEST(max_gap < min_margin, scenario);
}

} // namespace

BOOST_AUTO_TEST_SUITE(golden_decisions)

BOOST_AUTO_TEST_CASE(h32_threshold_0_5)
{
    run_scenario("h32_t0.5", 32, 0.5);
}
BOOST_AUTO_TEST_CASE(h32_threshold_0_9)
{
    run_scenario("h32_t0.9", 32, 0.9);
}
BOOST_AUTO_TEST_CASE(h16_threshold_0_5)
{
    run_scenario("h16_t0.5", 16, 0.5);
}
BOOST_AUTO_TEST_CASE(h32_threshold_0_05)
{
    run_scenario("h32_t0.05", 32, 0.05);
}

BOOST_AUTO_TEST_CASE(negative_dot_product_counts_as_similar_like_datumaro)
{
    const auto lines = test::read_file(test::reference() / "negative_dot_features.txt");
    std::vector<std::vector<double>> vs;
    std::istringstream in(lines);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        std::vector<double> v;
        double x = 0;
        while (ls >> x)
            v.push_back(x);
        vs.push_back(v);
    }
    BOOST_REQUIRE_EQUAL(vs.size(), 2U);
    const auto p = test::golden_projection(32);
    index::Feature a{vs[0], false};
    index::Feature b{vs[1], false};
    BOOST_TEST(index::compute_key(a, p).hex() == "ffffffff");
    BOOST_TEST(index::compute_key(b, p).hex() == "ffffffff");
    const std::vector<float> af(a.values.begin(), a.values.end());
    const index::KeptCandidate kept{1, af, false};
    const auto d = index::decide(index::stored_values(b), b.degenerate, std::span(&kept, 1), 0.5);
    BOOST_TEST(d.duplicate);
    BOOST_TEST(std::abs(*d.best_similarity - 0.7261) < 1e-3);
}

BOOST_AUTO_TEST_CASE(all_black_images_are_duplicates_of_each_other_but_not_of_gray)
{
    test::TempDir dir;
    auto idx =
        index::HashIndex::open(dir / "index", {"gradient", {8, 8}, 32}, [] { return test::golden_projection(32); });
    std::uint64_t seq = 0;
    std::vector<bool> dup;
    for (const std::string file : {"synth_black.png", "synth_gray8.png", "synth_black.png"}) {
        const auto f = test::feature_of(file);
        const auto key = index::compute_key(f, idx.projection());
        const auto d = idx.judge(f, key, 0.5);
        dup.push_back(d.duplicate);
        idx.put(record_for(++seq, file, f, key, d), false);
    }
    // Datumaro: keys 00000000, 797b3260, 00000000; kept [0, 1]; 2 removed.
    BOOST_TEST(dup == (std::vector<bool>{false, false, true}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
