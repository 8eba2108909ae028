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

// Export without the two timestamp columns.
std::vector<std::string> table_without_times(const std::string& csv)
{
    std::vector<std::string> out;
    for (const auto& line : lines_of(csv)) {
        std::string row = line;
        for (int i = 0; i < 2; ++i) {
            row = row.substr(0, row.rfind(','));
        }
        out.push_back(row);
    }
    return out;
}

std::vector<std::string> run_once(const fs::path& root, unsigned workers)
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
    BOOST_TEST(one == two, boost::test_tools::per_element());
    BOOST_TEST_REQUIRE(one.size() == 12U); // header + 11 items
    // Lexicographic order: a_original first, then b, c, the copies, d, e.
    BOOST_TEST(one[1].rfind("1,a_original.png,train/a_original.png,working,kept,", 0) == 0, one[1]);
    int copies = 0;
    for (const auto& row : one) {
        if (row.find(",copy_") == std::string::npos) continue;
        ++copies;
        BOOST_TEST(row.find(",duplicated,duplicated,done,") != std::string::npos, row);
        // matched to item 1 with similarity 1 (dot of a unit vector with itself, ^50)
        BOOST_TEST(row.find(",,1,") != std::string::npos, row);
    }
    BOOST_TEST(copies == 6);
    // A copy of a rejected file is decoded again and rejected again.
    BOOST_TEST(one[10].find("d_junk.jpg,rejected/d_junk.jpg,rejected,rejected,") != std::string::npos, one[10]);
    BOOST_TEST(one[11].find("e_junk_again.jpg,rejected/e_junk_again.jpg,rejected,rejected,") != std::string::npos,
               one[11]);
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
