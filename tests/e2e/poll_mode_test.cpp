// `watch.mode: poll`: the daemon finds files by scanning, for file systems
// where inotify sees nothing.
#define BOOST_TEST_MODULE e2e_poll_mode
#include <boost/test/unit_test.hpp>

#include "e2e_support.hpp"

using namespace ndrd;
using namespace ndrd::e2e;

BOOST_AUTO_TEST_SUITE(poll_mode)

BOOST_AUTO_TEST_CASE(files_are_routed_by_polling_once_they_stop_changing)
{
    test::TempDir dir;
    const Layout l = make_layout(dir.path());
    ConfigOptions o;
    o.extra = "watch:\n  mode: poll\n  poll_interval: 1s\n";
    write_config(l, o);
    fs::create_directories(l.ingest);
    Daemon d(l);
    BOOST_TEST_REQUIRE(d.wait_ready(), d.log());
    BOOST_TEST(d.log().find("by polling every 1 s") != std::string::npos, d.log());
    test::write_file(l.ingest / "a/coffee.png", image("coffee.png"));
    test::write_file(l.ingest / "copy.png", image("coffee.png"));
    BOOST_TEST(eventually([&] { return fs::exists(l.output / "train/a/coffee.png"); }, std::chrono::seconds(10)),
               d.log());
    BOOST_TEST(eventually([&] { return fs::exists(l.output / "duplicated/copy.png"); }, std::chrono::seconds(10)),
               d.log());
    BOOST_TEST((d.stop() == std::optional<ExitStatus>(0)));
    BOOST_TEST(entries_under(l.ingest).empty());
}

BOOST_AUTO_TEST_SUITE_END()
