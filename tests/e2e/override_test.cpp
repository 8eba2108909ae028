// Operators' overrides: `ndrd release` and `ndrd mark-duplicate`
// move the file, are remembered in the index, survive a restart and a
// rebalance, make a released item a reference for later images, and work
// both through the running daemon and on a stopped one.
#define BOOST_TEST_MODULE e2e_override
#include <boost/test/unit_test.hpp>

#include "live.hpp"

using namespace ndrd;
using namespace ndrd::e2e;

namespace {

ConfigOptions ndrd_mode(const std::string& extra = {})
{
    ConfigOptions o;
    o.compat = "off";
    o.projection.reset();
    o.extra = extra;
    return o;
}

RunResult ndrd_at(const Layout& l, std::vector<std::string> args)
{
    args.insert(args.begin() + 1, {"--config", l.config.string()});
    return run_ndrd(args);
}

// The export's row for `source` (empty when absent).
test::CsvRow row_of(const Layout& l, const std::string& source)
{
    const auto csv = ndrd_at(l, {"export"});
    BOOST_TEST_REQUIRE(csv.code() == 0, csv.err);
    for (auto& row : test::parse_csv_rows(csv.out)) {
        if (row.at("source") == source) return row;
    }
    return {};
}

bool has(const std::string& s, const std::string& part)
{
    return s.find(part) != std::string::npos;
}

} // namespace

BOOST_AUTO_TEST_SUITE(overrides)

BOOST_AUTO_TEST_CASE(released_duplicate_stays_kept_through_restart_and_rebalance_and_becomes_a_reference)
{
    test::TempDir dir;
    const Layout l = make_layout(dir / "r");
    write_config(l, ndrd_mode());
    const std::string near = image("chelsea__jpeg_q95.jpg");
    test::write_file(l.ingest / "a_chelsea.png", image("chelsea.png"));
    test::write_file(l.ingest / "b_near.jpg", near);
    test::write_file(l.ingest / "c_camera.png", image("camera.png"));
    BOOST_TEST_REQUIRE(ndrd_at(l, {"once"}).code() == 0);
    BOOST_TEST_REQUIRE(fs::exists(l.output / "duplicated/b_near.jpg"));

    // Offline (no daemon), by path.
    const auto rel = ndrd_at(l, {"release", (l.output / "duplicated/b_near.jpg").string()});
    BOOST_TEST(rel.code() == 0, rel.err);
    const auto released = parse_json_line(lines_of(rel.out).at(0));
    BOOST_TEST(released.at("location").get<std::string>() == "train/b_near.jpg", rel.out);
    BOOST_TEST(released.at("override").get<std::string>() == "released", rel.out);
    BOOST_TEST(test::read_file(l.output / "train/b_near.jpg") == near);
    BOOST_TEST(!fs::exists(l.output / "duplicated/b_near.jpg"));
    // And the reverse by item number: item 3 is c_camera.png.
    const auto mark = ndrd_at(l, {"mark-duplicate", "3"});
    BOOST_TEST(mark.code() == 0, mark.err);
    BOOST_TEST(fs::exists(l.output / "duplicated/c_camera.png"));

    // A re-import of the released file's bytes matches it: it is a reference now.
    test::write_file(l.ingest / "d_near_again.jpg", near);
    BOOST_TEST_REQUIRE(ndrd_at(l, {"once"}).code() == 0);
    // Matched item 2, b_near.jpg.
    const auto again = test::mismatches(row_of(l, "d_near_again.jpg"),
                                        {{"decision", "duplicated"}, {"state", "done"}, {"matched_item", "2"}});
    BOOST_TEST(again.empty(), again);

    // A rebalance to one working image keeps the released one (it counts
    // towards num_cut) and never brings the marked duplicate back.
    write_config(l, ndrd_mode("num_cut: 1\n"));
    BOOST_TEST_REQUIRE(ndrd_at(l, {"rebalance"}).code() == 0);
    BOOST_TEST(fs::exists(l.output / "train/b_near.jpg"));
    BOOST_TEST(fs::exists(l.output / "duplicated/a_chelsea.png")); // cut by the policy
    write_config(l, ndrd_mode("num_cut: 10\n"));
    BOOST_TEST_REQUIRE(ndrd_at(l, {"rebalance"}).code() == 0);
    BOOST_TEST(fs::exists(l.output / "train/b_near.jpg"));
    BOOST_TEST(fs::exists(l.output / "duplicated/c_camera.png")); // over-sampling leaves it out
    BOOST_TEST(fs::exists(l.output / "train/d_near_again.jpg"));  // an ordinary duplicate is restored

    const auto status = ndrd_at(l, {"status"});
    BOOST_TEST(has(status.out, "overrides:     1 released, 1 marked duplicate"), status.out);
    const auto b_near = test::mismatches(row_of(l, "b_near.jpg"), {{"override", "released"}, {"decision", "kept"}});
    BOOST_TEST(b_near.empty(), b_near);
    const auto c_camera =
        test::mismatches(row_of(l, "c_camera.png"), {{"override", "marked_duplicate"}, {"decision", "duplicated"}});
    BOOST_TEST(c_camera.empty(), c_camera);
    const auto verify = ndrd_at(l, {"verify"});
    BOOST_TEST(verify.code() == 0, verify.out);
}

BOOST_AUTO_TEST_CASE(running_daemon_applies_overrides_and_refuses_what_it_cannot)
{
    Live live(ndrd_mode());
    live.start();
    const std::string original = image("chelsea.png");
    const std::string near = image("chelsea__jpeg_q95.jpg");
    test::write_file(live.ingest("a.png"), original);
    live.expect("train/a.png", original, live.ingest("a.png"));
    test::write_file(live.ingest("b.jpg"), near);
    live.expect("duplicated/b.jpg", near, live.ingest("b.jpg"));
    test::write_file(live.ingest("junk.jpg"), "not an image");
    live.expect("rejected/junk.jpg", "not an image", live.ingest("junk.jpg"));
    const Layout& l = live.layout();

    const auto rel = ndrd_at(l, {"release", "duplicated/b.jpg"}); // relative to output_dir
    BOOST_TEST(rel.code() == 0, rel.err);
    BOOST_TEST(eventually([&] { return fs::exists(l.output / "train/b.jpg"); }));
    // The daemon did it: its log says so.
    BOOST_TEST(eventually([&] { return has(live.log(), "release: item 2 (b.jpg) moved to train/b.jpg"); }), live.log());

    const auto bad = ndrd_at(l, {"release", "3", "99", "nowhere/x.jpg"});
    BOOST_TEST(bad.code() == 1);
    BOOST_TEST(has(bad.out, "was rejected"), bad.out);
    BOOST_TEST(has(bad.out, "no item 99"), bad.out);
    BOOST_TEST(has(bad.out, "no item of the index is at nowhere/x.jpg"), bad.out);
    BOOST_TEST(live.running());

    // Restart: the override is remembered.
    live.stop();
    live.start();
    const auto status = ndrd_at(l, {"status"});
    BOOST_TEST(has(status.out, "overrides:     1 released, 0 marked duplicate"), status.out);
    live.stop();
}

BOOST_AUTO_TEST_SUITE_END()
