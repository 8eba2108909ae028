// Drained ingest subdirectories: removed deepest first once empty past the
// grace period, in one sweep for a whole drained tree; never the root, never
// a directory holding anything, a hidden one, or one changed recently.
#define BOOST_TEST_MODULE empty_dirs
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "daemon/ingest/empty_dirs.hpp"
#include "test_support.hpp"

using namespace ndrd;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// Makes `dir` (and its parents below `root`) look untouched for an hour.
void age(const fs::path& root, const fs::path& dir)
{
    const auto old = fs::file_time_type::clock::now() - 1h;
    for (fs::path p = dir; p != root; p = p.parent_path()) {
        fs::last_write_time(p, old);
    }
}

bool removed(const std::vector<std::string>& list, const std::string& rel)
{
    return std::ranges::find(list, rel) != list.end();
}

} // namespace

BOOST_AUTO_TEST_SUITE(empty_dirs)

BOOST_AUTO_TEST_CASE(a_drained_date_tree_goes_in_one_sweep_and_nothing_else_does)
{
    test::TempDir dir;
    const fs::path& root = dir.path();
    fs::create_directories(root / "2026" / "12" / "05");
    fs::create_directories(root / "2026" / "12" / "06");
    test::write_file(root / "2026" / "12" / "06" / "cam.jpg", "x"); // still waiting
    fs::create_directories(root / "old" / "a" / "b");
    fs::create_directories(root / ".upload" / "tmp"); // an uploader's scratch space
    fs::create_directories(root / "fresh");           // made a moment ago
    for (const auto* p : {"2026/12/05", "2026/12/06", "old/a/b", ".upload/tmp"}) {
        age(root, root / p);
    }

    const auto gone = daemon::remove_empty_dirs(root, fs::file_time_type::clock::now() - 10min);
    BOOST_TEST(removed(gone, "2026/12/05"));
    BOOST_TEST(removed(gone, "old/a/b"));
    BOOST_TEST(removed(gone, "old/a"));
    BOOST_TEST(removed(gone, "old"));
    BOOST_TEST(gone.size() == 4U);
    BOOST_TEST(fs::exists(root / "2026" / "12" / "06" / "cam.jpg"));
    BOOST_TEST(fs::exists(root / ".upload" / "tmp"));
    BOOST_TEST(fs::exists(root / "fresh"));
    BOOST_TEST(fs::exists(root));

    // Drained now: the day, then the month and year above it.
    fs::remove(root / "2026" / "12" / "06" / "cam.jpg");
    age(root, root / "2026" / "12" / "06");
    const auto later = daemon::remove_empty_dirs(root, fs::file_time_type::clock::now() - 10min);
    BOOST_TEST(later.size() == 3U);
    BOOST_TEST(!fs::exists(root / "2026"));
}

BOOST_AUTO_TEST_CASE(an_empty_root_stays)
{
    test::TempDir dir;
    BOOST_TEST(daemon::remove_empty_dirs(dir.path(), fs::file_time_type::clock::now()).empty());
    BOOST_TEST(fs::exists(dir.path()));
}

BOOST_AUTO_TEST_SUITE_END()
