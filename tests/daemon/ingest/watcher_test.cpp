// The inotify watcher on a real directory tree, driven by an io_context in the
// test thread. "Not reported" is proven with a sentinel file written after the
// event under test: inotify delivers events in order, so once the sentinel is
// reported every earlier event has been handled.
#define BOOST_TEST_MODULE watcher
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>

#include <boost/asio/io_context.hpp>

#include "daemon/ingest/watcher.hpp"
#include "test_support.hpp"

using namespace ndrd;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using Paths = std::vector<std::string>;

namespace {

std::string joined(const Paths& paths)
{
    std::string out;
    for (const auto& p : paths)
        out += (out.empty() ? "" : ", ") + p;
    return "[" + out + "]";
}

struct Harness {
    test::TempDir tmp;
    fs::path root = tmp / "in";
    fs::path outside = tmp / "outside";
    boost::asio::io_context io;
    Paths reported;
    int rescans = 0;
    std::unique_ptr<daemon::Watcher> watcher; // last: destroyed before io

    Harness()
    {
        fs::create_directories(root);
        fs::create_directories(outside);
    }

    void start()
    {
        watcher = std::make_unique<daemon::Watcher>(
            io, root, [this](const std::string& p) { reported.push_back(p); }, [this] { ++rescans; });
        watcher->start();
    }

    // Runs the loop until `done()` or the deadline; true when done.
    template <typename Pred> bool poll_until(Pred done, std::chrono::milliseconds timeout = 5s)
    {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!done()) {
            if (std::chrono::steady_clock::now() >= deadline) return false;
            io.run_one_for(20ms);
            if (io.stopped()) io.restart();
        }
        return true;
    }

    // Runs the loop for a while, whatever happens.
    void poll_for(std::chrono::milliseconds d)
    {
        io.run_for(d);
        if (io.stopped()) io.restart();
    }

    std::size_t count(const std::string& p) const
    {
        return static_cast<std::size_t>(std::count(reported.begin(), reported.end(), p));
    }

    // Writes a visible file and waits until it is reported: afterwards every
    // event queued before it has been handled.
    void sync_with_sentinel(const std::string& name = "zz-sentinel.jpg")
    {
        test::write_file(root / name, "sentinel");
        BOOST_TEST_REQUIRE(poll_until([&] { return count(name) > 0; }), "sentinel " << name << " never reported");
    }
};

// The kernel's inotify queue length (fs.inotify.max_queued_events), 0 when unknown.
long max_queued_events()
{
    std::ifstream in("/proc/sys/fs/inotify/max_queued_events");
    long limit = 0;
    in >> limit;
    return limit;
}

// Overflowing the queue takes about limit / 2 files: beyond 64 Ki events that
// is more files than a unit test should create.
boost::test_tools::assertion_result queue_can_overflow(boost::unit_test::test_unit_id /*unused*/)
{
    const long limit = max_queued_events();
    boost::test_tools::assertion_result r(limit > 0 && limit <= 65536);
    r.message() << "fs.inotify.max_queued_events is " << limit << " (a test needs it between 1 and 65536)";
    return r;
}

} // namespace

BOOST_AUTO_TEST_SUITE(watcher)

BOOST_AUTO_TEST_CASE(file_written_in_place_is_reported_once_after_close_not_at_creation)
{
    Harness h;
    h.start();
    const auto path = h.root / "x.jpg";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    BOOST_TEST_REQUIRE(fd >= 0);
    BOOST_TEST_REQUIRE(::write(fd, "partial", 7) == 7);
    h.poll_for(100ms);
    BOOST_TEST(h.reported.empty(), "reported while still open: " << h.reported.size());
    BOOST_TEST_REQUIRE(::write(fd, " rest", 5) == 5);
    h.poll_for(50ms);
    BOOST_TEST(h.reported.empty());
    ::close(fd);
    BOOST_TEST_REQUIRE(h.poll_until([&] { return !h.reported.empty(); }));
    h.sync_with_sentinel();
    BOOST_TEST(h.reported == Paths({"x.jpg", "zz-sentinel.jpg"}), "reported: " << joined(h.reported));
    BOOST_TEST(h.rescans == 0);
}

BOOST_AUTO_TEST_CASE(file_renamed_in_from_outside_the_tree_is_reported)
{
    Harness h;
    h.start();
    test::write_file(h.outside / "y.jpg", "complete"); // written outside: no event
    fs::create_directories(h.root / "sub");
    fs::rename(h.outside / "y.jpg", h.root / "y.jpg");
    BOOST_TEST_REQUIRE(h.poll_until([&] { return h.count("y.jpg") > 0; }));
    h.sync_with_sentinel();
    BOOST_TEST(h.count("y.jpg") == 1U);
    BOOST_TEST(h.reported.size() == 2U);
}

BOOST_AUTO_TEST_CASE(hidden_upload_renamed_to_its_final_name_is_reported_once_under_that_name)
{
    Harness h;
    h.start();
    test::write_file(h.root / ".photo.jpg.part", "uploading");
    fs::rename(h.root / ".photo.jpg.part", h.root / "photo.jpg");
    h.sync_with_sentinel();
    BOOST_TEST(h.reported == Paths({"photo.jpg", "zz-sentinel.jpg"}), "reported: " << joined(h.reported));
}

BOOST_AUTO_TEST_CASE(file_in_a_subdirectory_created_after_start_is_reported_with_its_relative_path)
{
    Harness h;
    h.start();
    BOOST_TEST(h.watcher->watch_count() == 1U);
    fs::create_directory(h.root / "a");
    BOOST_TEST_REQUIRE(h.poll_until([&] { return h.watcher->watch_count() == 2U; }));
    fs::create_directory(h.root / "a/b");
    BOOST_TEST_REQUIRE(h.poll_until([&] { return h.watcher->watch_count() == 3U; }));
    test::write_file(h.root / "a/b/x.jpg", "new");
    BOOST_TEST_REQUIRE(h.poll_until([&] { return h.count("a/b/x.jpg") > 0; }));
    h.sync_with_sentinel();
    BOOST_TEST(h.reported == Paths({"a/b/x.jpg", "zz-sentinel.jpg"}), "reported: " << joined(h.reported));
}

BOOST_AUTO_TEST_CASE(files_landing_in_a_new_directory_before_its_watch_exists_are_reported)
{
    Harness h;
    h.start();
    // mkdir -p and write before the loop runs: the watch cannot exist yet.
    test::write_file(h.root / "a/b/x.jpg", "new");
    test::write_file(h.root / "a/y.jpg", "new");
    test::write_file(h.root / "a/.hidden.jpg", "new");
    BOOST_TEST_REQUIRE(h.poll_until([&] { return h.count("a/b/x.jpg") > 0 && h.count("a/y.jpg") > 0; }));
    h.sync_with_sentinel();
    BOOST_TEST(h.count("a/b/x.jpg") == 1U);
    BOOST_TEST(h.count("a/y.jpg") == 1U);
    BOOST_TEST(h.reported.size() == 3U);
    BOOST_TEST(h.watcher->watch_count() == 3U);
}

BOOST_AUTO_TEST_CASE(file_still_open_in_a_new_directory_is_not_reported_before_close)
{
    // "Reports a file only once it is complete": a file being written into a
    // directory that was just created (cp -r, mkdir -p && curl -o) is not
    // complete when the watcher first looks at the new directory.
    Harness h;
    h.start();
    fs::create_directory(h.root / "a");
    const auto path = h.root / "a/x.jpg";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    BOOST_TEST_REQUIRE(fd >= 0);
    BOOST_TEST_REQUIRE(::write(fd, "partial", 7) == 7);
    BOOST_TEST_REQUIRE(h.poll_until([&] { return h.watcher->watch_count() == 2U; }));
    h.poll_for(100ms);
    BOOST_TEST(h.count("a/x.jpg") == 0U, "a/x.jpg reported while still being written");
    BOOST_TEST_REQUIRE(::write(fd, " rest", 5) == 5);
    ::close(fd);
    BOOST_TEST_REQUIRE(h.poll_until([&] { return h.count("a/x.jpg") > 0; }));
    h.sync_with_sentinel();
    BOOST_TEST(h.count("a/x.jpg") == 1U);
}

BOOST_AUTO_TEST_CASE(directory_moved_in_reports_its_files_and_is_watched)
{
    Harness h;
    h.start();
    test::write_file(h.outside / "d/1.jpg", "1");
    test::write_file(h.outside / "d/e/2.jpg", "2");
    test::write_file(h.outside / "d/.x/3.jpg", "3");
    fs::rename(h.outside / "d", h.root / "d");
    BOOST_TEST_REQUIRE(h.poll_until([&] { return h.count("d/1.jpg") > 0 && h.count("d/e/2.jpg") > 0; }));
    BOOST_TEST(h.watcher->watch_count() == 3U); // root, d, d/e; not d/.x
    test::write_file(h.root / "d/e/new.jpg", "n");
    BOOST_TEST_REQUIRE(h.poll_until([&] { return h.count("d/e/new.jpg") > 0; }));
    h.sync_with_sentinel();
    BOOST_TEST(h.reported.size() == 4U);
}

BOOST_AUTO_TEST_CASE(symlinks_and_fifos_are_reported_on_creation_and_regular_files_are_not)
{
    Harness h;
    h.start();
    test::write_file(h.outside / "target.jpg", "t");
    fs::create_symlink(h.outside / "target.jpg", h.root / "link.jpg");
    BOOST_TEST_REQUIRE(::mkfifo((h.root / "pipe.jpg").c_str(), 0600) == 0);
    const auto path = h.root / "open.jpg";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    BOOST_TEST_REQUIRE(fd >= 0);
    h.sync_with_sentinel();
    BOOST_TEST(h.count("link.jpg") == 1U);
    BOOST_TEST(h.count("pipe.jpg") == 1U);
    BOOST_TEST(h.count("open.jpg") == 0U, "a regular file is reported only when closed");
    ::close(fd);
    BOOST_TEST(h.poll_until([&] { return h.count("open.jpg") == 1U; }));
}

BOOST_AUTO_TEST_CASE(hard_link_into_the_tree_is_reported)
{
    // link() is complete at creation: it makes IN_CREATE and nothing else.
    Harness h;
    h.start();
    test::write_file(h.outside / "original.jpg", "complete content");
    fs::create_hard_link(h.outside / "original.jpg", h.root / "linked.jpg");
    h.sync_with_sentinel();
    BOOST_TEST(h.count("linked.jpg") == 1U, "a hard-linked file was never reported");
}

BOOST_AUTO_TEST_CASE(hidden_files_and_hidden_directories_are_not_reported)
{
    Harness h;
    fs::create_directories(h.root / ".already-hidden");
    fs::create_directories(h.root / "sub");
    h.start();
    BOOST_TEST(h.watcher->watch_count() == 2U); // root and sub, not the hidden one
    test::write_file(h.root / ".x.jpg", "h");
    test::write_file(h.root / "sub/.y.jpg", "h");
    test::write_file(h.root / ".already-hidden/z.jpg", "h");
    test::write_file(h.root / ".new-hidden/deep/w.jpg", "h");
    test::write_file(h.outside / "v.jpg", "h");
    fs::rename(h.outside / "v.jpg", h.root / ".v.jpg");
    h.sync_with_sentinel();
    BOOST_TEST(h.reported == Paths({"zz-sentinel.jpg"}), "reported: " << joined(h.reported));
    BOOST_TEST(h.watcher->watch_count() == 2U);
}

BOOST_AUTO_TEST_CASE(files_present_before_start_are_not_reported)
{
    Harness h;
    test::write_file(h.root / "old.jpg", "o");
    test::write_file(h.root / "sub/old2.jpg", "o");
    test::write_file(h.root / "sub/deeper/old3.jpg", "o");
    h.start();
    BOOST_TEST(h.watcher->watch_count() == 3U);
    h.sync_with_sentinel();
    BOOST_TEST(h.reported == Paths({"zz-sentinel.jpg"}), "reported: " << joined(h.reported));
    // But the pre-existing subdirectories are watched.
    test::write_file(h.root / "sub/deeper/new.jpg", "n");
    BOOST_TEST_REQUIRE(h.poll_until([&] { return h.count("sub/deeper/new.jpg") > 0; }));
}

BOOST_AUTO_TEST_CASE(deleted_or_moved_away_files_are_not_reported)
{
    Harness h;
    test::write_file(h.root / "a.jpg", "a");
    test::write_file(h.root / "b.jpg", "b");
    h.start();
    fs::remove(h.root / "a.jpg");
    fs::rename(h.root / "b.jpg", h.outside / "b.jpg");
    {
        std::ifstream in(h.root / "sub-missing.jpg");
    } // a failed open: nothing
    h.sync_with_sentinel();
    BOOST_TEST(h.reported == Paths({"zz-sentinel.jpg"}), "reported: " << joined(h.reported));
}

BOOST_AUTO_TEST_CASE(removed_directory_drops_its_watch)
{
    Harness h;
    fs::create_directories(h.root / "a");
    h.start();
    BOOST_TEST(h.watcher->watch_count() == 2U);
    fs::remove(h.root / "a");
    BOOST_TEST(h.poll_until([&] { return h.watcher->watch_count() == 1U; }));
}

BOOST_AUTO_TEST_CASE(directory_moved_out_of_the_tree_is_no_longer_reported)
{
    Harness h;
    fs::create_directories(h.root / "a");
    h.start();
    fs::rename(h.root / "a", h.outside / "a");
    test::write_file(h.outside / "a/x.jpg", "outside the ingest tree now");
    h.sync_with_sentinel();
    BOOST_TEST(h.reported == Paths({"zz-sentinel.jpg"}), "reported: " << joined(h.reported));
}

BOOST_AUTO_TEST_CASE(ingest_directory_removed_and_recreated_is_watched_again_and_rescanned)
{
    Harness h;
    h.start();
    fs::remove_all(h.root);
    h.poll_for(200ms);
    fs::create_directories(h.root);
    test::write_file(h.root / "early.jpg", "written before the watch is back");
    BOOST_TEST_REQUIRE(h.poll_until([&] { return h.rescans > 0; }, 5s), "no rescan after the directory came back");
    // Live events flow again.
    h.sync_with_sentinel();
    BOOST_TEST(h.count("zz-sentinel.jpg") == 1U);
}

BOOST_AUTO_TEST_CASE(stop_ends_reporting)
{
    Harness h;
    h.start();
    h.sync_with_sentinel("first.jpg");
    h.watcher->stop();
    test::write_file(h.root / "after-stop.jpg", "x");
    h.poll_for(100ms);
    BOOST_TEST(h.reported == Paths({"first.jpg"}), "reported: " << joined(h.reported));
}

BOOST_AUTO_TEST_CASE(queue_overflow_asks_for_a_rescan, *boost::unit_test::precondition(queue_can_overflow))
{
    const long limit = max_queued_events();
    Harness h;
    h.start();
    // Each file makes IN_CREATE + IN_CLOSE_WRITE; nothing is read meanwhile.
    const long files = limit / 2 + 100;
    for (long i = 0; i < files; ++i) {
        const auto p = h.root / ("f" + std::to_string(i));
        const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        BOOST_TEST_REQUIRE(fd >= 0);
        ::close(fd);
    }
    BOOST_TEST(h.poll_until([&] { return h.rescans > 0; }));
}

BOOST_AUTO_TEST_SUITE_END()
