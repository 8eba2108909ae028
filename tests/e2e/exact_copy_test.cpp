// Byte-identical copies are recognised by their XXH3-128 digest and decided
// with the stored feature of the indexed original, without decoding, and the
// result does not depend on whether a worker happened to find the original
// already indexed: `once` with 1 and 2 workers exports identical tables.
#define BOOST_TEST_MODULE e2e_exact_copy
#include <boost/test/unit_test.hpp>

#include "live.hpp"

using namespace ndrd;
using namespace ndrd::e2e;

namespace {

// The export's rows without the two timestamp columns.
std::vector<test::CsvRow> table_without_times(const std::string& csv)
{
    auto rows = test::parse_csv_rows(csv);
    for (auto& row : rows) {
        row.erase("ingested_ms");
        row.erase("routed_ms");
    }
    return rows;
}

std::vector<test::CsvRow> run_once(const fs::path& root, unsigned workers)
{
    const Layout l = make_layout(root);
    ConfigOptions o;
    o.workers = workers;
    write_config(l, o);
    const std::string original = image("astronaut.png");
    const std::string near = image("coins__jpeg_q70.jpg");
    test::write_file(l.ingest / "a_original.png", original);
    for (int i = 0; i < 6; ++i) {
        test::write_file(l.ingest / ("copy_" + std::to_string(i) + ".png"), original);
    }
    test::write_file(l.ingest / "b_coins.png", image("coins.png"));
    test::write_file(l.ingest / "c_coins_q70.jpg", near);
    test::write_file(l.ingest / "d_junk.jpg", "junk");
    test::write_file(l.ingest / "e_junk_again.jpg", "junk");
    const auto r = run_ndrd({"once", "--config", l.config.string()});
    BOOST_TEST_REQUIRE(r.code() == 0, r.err);
    const auto csv = run_ndrd({"export", "--config", l.config.string()});
    BOOST_TEST_REQUIRE(csv.code() == 0, csv.err);
    return table_without_times(csv.out);
}

} // namespace

BOOST_AUTO_TEST_SUITE(exact_copy)

BOOST_AUTO_TEST_CASE(copies_are_duplicates_of_the_original_whatever_the_worker_count)
{
    test::TempDir dir;
    const auto one = run_once(dir / "w1", 1);
    const auto two = run_once(dir / "w2", 2);
    BOOST_TEST((one == two));
    BOOST_TEST_REQUIRE(one.size() == 11U);
    // Lexicographic order: a_original first, then b, c, the copies, d, e.
    const auto original = test::mismatches(
        one[0],
        {{"item", "1"}, {"source", "a_original.png"}, {"location", "train/a_original.png"}, {"decision", "kept"}});
    BOOST_TEST(original.empty(), original);
    int copies = 0;
    for (const auto& row : one) {
        if (!row.at("source").starts_with("copy_")) continue;
        ++copies;
        // Matched to item 1, the original, not to another copy.
        const auto copy = test::mismatches(
            row, {{"subset", "duplicated"}, {"decision", "duplicated"}, {"state", "done"}, {"matched_item", "1"}});
        BOOST_TEST(copy.empty(), row.at("source") << ": " << copy);
    }
    BOOST_TEST(copies == 6);
    // A copy of a rejected file is decoded again and rejected again.
    for (std::size_t i : {9U, 10U}) {
        const auto junk = test::mismatches(one[i], {{"decision", "rejected"}, {"subset", "rejected"}});
        BOOST_TEST(junk.empty(), one[i].at("source") << ": " << junk);
        BOOST_TEST(one[i].at("location") == "rejected/" + one[i].at("source"));
    }
    BOOST_TEST(one[9].at("source") == "d_junk.jpg");
    BOOST_TEST(one[10].at("source") == "e_junk_again.jpg");
}

BOOST_AUTO_TEST_CASE(a_live_copy_is_decided_from_the_stored_feature)
{
    Live live;
    live.start();
    const std::string bytes = image("camera.png");
    test::write_file(live.ingest("camera.png"), bytes);
    live.expect("train/camera.png", bytes, live.ingest("camera.png"));
    test::write_file(live.ingest("camera copy.png"), bytes);
    live.expect("duplicated/camera copy.png", bytes, live.ingest("camera copy.png"));
    BOOST_TEST(live.log().find("camera copy.png is byte-identical to item 1") != std::string::npos, live.log());
    live.stop_and_check();
}

BOOST_AUTO_TEST_SUITE_END()
