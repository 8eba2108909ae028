// Polling for new files: a file is reported once it has stopped changing,
// odd files once, and nothing twice while it settles.
#define BOOST_TEST_MODULE poller
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <algorithm>

#include <boost/asio/io_context.hpp>

#include "daemon/ingest/poller.hpp"
#include "test_support.hpp"

using namespace ndrd;
namespace fs = std::filesystem;

namespace {

struct Harness {
    test::TempDir tmp;
    fs::path root = tmp / "in";
    boost::asio::io_context io;
    std::vector<std::string> reported;
    daemon::Poller poller{io, root, std::chrono::seconds(1), [this](const std::string& p) {
                              reported.push_back(p);
                          }};
    Harness() { fs::create_directories(root); }
    [[nodiscard]] std::size_t count(const std::string& p) const
    {
        return static_cast<std::size_t>(std::count(reported.begin(), reported.end(), p));
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(polling)

BOOST_AUTO_TEST_CASE(a_file_is_reported_once_it_is_unchanged_between_two_scans)
{
    Harness h;
    test::write_file(h.root / "a/x.jpg", "first part");
    h.poller.scan();
    BOOST_TEST(h.reported.empty()); // seen once: may still be written
    test::write_file(h.root / "a/x.jpg", "first part, then more");
    h.poller.scan();
    BOOST_TEST(h.reported.empty()); // it changed
    h.poller.scan();
    BOOST_TEST(h.count("a/x.jpg") == 1U);
}

BOOST_AUTO_TEST_CASE(fifos_and_symlinks_are_reported_once_not_every_scan)
{
    Harness h;
    BOOST_TEST_REQUIRE(::mkfifo((h.root / "pipe.jpg").c_str(), 0644) == 0);
    fs::create_symlink("/etc/passwd", h.root / "link.jpg");
    h.poller.scan();
    h.poller.scan();
    h.poller.scan();
    BOOST_TEST(h.count("pipe.jpg") == 1U);
    BOOST_TEST(h.count("link.jpg") == 1U);
}

BOOST_AUTO_TEST_CASE(hidden_files_are_never_reported)
{
    Harness h;
    test::write_file(h.root / ".partial.jpg", "upload in progress");
    h.poller.scan();
    h.poller.scan();
    BOOST_TEST(h.reported.empty());
}

BOOST_AUTO_TEST_CASE(the_timer_keeps_scanning_until_stopped)
{
    Harness h;
    h.poller.start();
    test::write_file(h.root / "late.jpg", "complete");
    h.io.run_for(std::chrono::milliseconds(2600)); // scans at ~1 s and ~2 s
    BOOST_TEST(h.count("late.jpg") == 1U);
    h.poller.stop();
}

BOOST_AUTO_TEST_SUITE_END()
