// `ndrd snapshot DIR`: a running daemon copies the index it holds, and a new
// instance started on the copy knows what the daemon knew at that moment
// (its items are references, its stream position goes on from there) and
// nothing after; with no daemon the copy is made from the index read-only.
// What a new replica of a cluster, or a restore from a backup, depends on.
#define BOOST_TEST_MODULE e2e_snapshot
#include <boost/test/unit_test.hpp>

#include "daemon/control/control_server.hpp"
#include "index/store/hash_index.hpp"
#include "live.hpp"

using namespace ndrd;
using namespace ndrd::e2e;

namespace {

RunResult snapshot(const Layout& layout, const fs::path& dir)
{
    return run_ndrd({"snapshot", "--config", layout.config.string(), dir.string()});
}

// The one JSON line `ndrd snapshot` printed, which must say ok.
nlohmann::json snapshot_ok(const Layout& layout, const fs::path& dir)
{
    const auto r = snapshot(layout, dir);
    BOOST_TEST_REQUIRE(r.code() == 0, r.out << r.err);
    const auto lines = lines_of(r.out);
    BOOST_TEST_REQUIRE(lines.size() == 1U, r.out);
    const auto answer = parse_json_line(lines[0]);
    BOOST_TEST(answer.at("ok").get<bool>());
    BOOST_TEST(answer.at("dir").get<std::string>() == dir.string());
    return answer;
}

} // namespace

BOOST_AUTO_TEST_SUITE(a_snapshot_is_a_consistent_index_a_new_instance_starts_from)

BOOST_AUTO_TEST_CASE(a_running_daemon_copies_its_index_and_a_new_instance_goes_on_from_the_copy)
{
    Live live;
    live.start();
    const std::string original = image("coins__bright8.png");
    const std::string rejected = "not an image at all\n";
    test::write_file(live.ingest("a_coins.png"), original);
    live.expect("train/a_coins.png", original, live.ingest("a_coins.png"));
    test::write_file(live.ingest("b_notes.jpg"), rejected);
    live.expect("rejected/b_notes.jpg", rejected, live.ingest("b_notes.jpg"));

    fs::create_directories(live.scratch(""));
    const fs::path copy = live.scratch("copy");
    const auto answer = snapshot_ok(live.layout(), copy);
    BOOST_TEST(answer.at("items").get<std::uint64_t>() == 2U);
    const auto applied = answer.at("applied_entry").get<std::uint64_t>();
    BOOST_TEST(applied >= 2U); // one entry per item at least (and the rules)

    // The daemon goes on; what it routes now is not in the copy.
    const std::string camera = image("camera.png");
    test::write_file(live.ingest("c_camera.png"), camera);
    live.expect("train/c_camera.png", camera, live.ingest("c_camera.png"));

    // The same directory again, and a relative one sent as is: refused, and
    // the daemon keeps running.
    const auto again = snapshot(live.layout(), copy);
    BOOST_TEST(again.code() == 1);
    BOOST_TEST(again.out.find(copy.string()) != std::string::npos, again.out);
    BOOST_TEST(again.out.find("already exists") != std::string::npos, again.out);
    const auto relative = daemon::control_call(live.layout().index / "control.sock",
                                               daemon::Json{{"command", "snapshot"}, {"dir", "copy2"}});
    BOOST_TEST_REQUIRE(relative.has_value());
    BOOST_TEST(!relative->at("ok").get<bool>());
    BOOST_TEST(relative->at("error").get<std::string>().find("absolute") != std::string::npos, relative->dump());
    BOOST_TEST(live.running());

    {
        const auto idx = index::HashIndex::open_read_only(copy);
        BOOST_TEST(idx.applied_entry() == applied);
        BOOST_TEST(idx.next_seq() == 3U);
        BOOST_TEST(idx.counts().kept == 1U);
        BOOST_TEST(idx.counts().rejected == 1U);
    }

    // A second instance on the copy: the crop matches the coins the daemon
    // had kept; the camera, routed by the daemon after the snapshot, is new here.
    test::TempDir other;
    Layout second = make_layout(other.path());
    second.index = copy;
    write_config(second, ConfigOptions{});
    test::write_file(second.ingest / "crop.png", image("coins__crop3.png"));
    test::write_file(second.ingest / "camera.png", camera);
    const auto once = run_ndrd({"once", "--config", second.config.string()});
    BOOST_TEST_REQUIRE(once.code() == 0, once.err);
    const auto summary = parse_summary(once.out);
    BOOST_TEST_REQUIRE(summary.has_value(), once.out);
    BOOST_TEST(summary->kept == 1);
    BOOST_TEST(summary->duplicated == 1);
    BOOST_TEST(file_has(second.output / "duplicated/crop.png", image("coins__crop3.png")));
    BOOST_TEST(file_has(second.output / "train/camera.png", camera));
    {
        const auto idx = index::HashIndex::open_read_only(copy);
        BOOST_TEST(idx.applied_entry() == applied + 2); // the stream went on from the copy's place
        BOOST_TEST(idx.next_seq() == 5U);
    }
    live.stop_and_check();
}

BOOST_AUTO_TEST_CASE(with_no_daemon_the_snapshot_is_made_from_the_index_read_only)
{
    Live live;
    live.start();
    const std::string original = image("coins__bright8.png");
    test::write_file(live.ingest("a_coins.png"), original);
    live.expect("train/a_coins.png", original, live.ingest("a_coins.png"));
    live.stop_and_check();

    fs::create_directories(live.scratch(""));
    const fs::path copy = live.scratch("backup");
    const auto answer = snapshot_ok(live.layout(), copy);
    BOOST_TEST(answer.at("items").get<std::uint64_t>() == 1U);
    const auto idx = index::HashIndex::open_read_only(copy);
    BOOST_TEST(idx.applied_entry() == answer.at("applied_entry").get<std::uint64_t>());
    BOOST_TEST(idx.counts().kept == 1U);

    // A parent that does not exist: exit 1, the directory named.
    const auto missing = snapshot(live.layout(), live.scratch("no/such/dir"));
    BOOST_TEST(missing.code() == 1);
    BOOST_TEST(missing.out.find(live.scratch("no/such/dir").string()) != std::string::npos, missing.out);
    // No DIR, or two: usage errors.
    BOOST_TEST(run_ndrd({"snapshot", "--config", live.layout().config.string()}).code() == 64);
    BOOST_TEST(snapshot(live.layout(), live.scratch("a")).code() == 0);
    BOOST_TEST(run_ndrd({"snapshot", "--config", live.layout().config.string(), live.scratch("b").string(),
                         live.scratch("c").string()})
                   .code() == 64);
}

BOOST_AUTO_TEST_SUITE_END()
