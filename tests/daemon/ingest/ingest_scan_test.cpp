// The backlog listing: every visible non-directory entry, in byte order, no
// hidden names, no symlinked directory followed.
#define BOOST_TEST_MODULE ingest_scan
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include "daemon/ingest/ingest_scan.hpp"
#include "test_support.hpp"

using namespace ndrd;
namespace fs = std::filesystem;
using Paths = std::vector<std::string>;

BOOST_AUTO_TEST_SUITE(ingest_scan)

BOOST_AUTO_TEST_CASE(lists_files_across_nested_directories_in_byte_order)
{
    test::TempDir dir;
    const auto root = dir / "in";
    // Created in a scrambled order; '-' (0x2d) < '.' (0x2e) < '/' (0x2f) < 'A' < 'a'.
    for (const char* p :
         {"b.jpg", "a/z.jpg", "a/b/c.jpg", "a.jpg", "a-b.jpg", "B.jpg", "a/b/a.jpg", "z/y/x/w.png", "a/b.jpg"}) {
        test::write_file(root / p, p);
    }
    fs::create_directories(root / "empty/dir");
    const Paths expected{"B.jpg",     "a-b.jpg", "a.jpg", "a/b.jpg",    "a/b/a.jpg",
                         "a/b/c.jpg", "a/z.jpg", "b.jpg", "z/y/x/w.png"};
    BOOST_TEST(daemon::scan_ingest(root) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(hidden_files_and_hidden_directories_are_skipped_at_every_level)
{
    test::TempDir dir;
    const auto root = dir / "in";
    test::write_file(root / "visible.jpg", "v");
    test::write_file(root / ".hidden.jpg", "h");
    test::write_file(root / "sub/.partial.jpg.part", "h");
    test::write_file(root / "sub/ok.jpg", "v");
    test::write_file(root / ".tmp/inside.jpg", "h");
    test::write_file(root / ".tmp/deeper/inside.jpg", "h");
    test::write_file(root / "sub/.cache/inside.jpg", "h");
    BOOST_TEST(daemon::scan_ingest(root) == Paths({"sub/ok.jpg", "visible.jpg"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(symlinked_directory_is_listed_but_not_followed)
{
    test::TempDir dir;
    const auto root = dir / "in";
    test::write_file(dir / "outside/secret.jpg", "s");
    test::write_file(root / "real/a.jpg", "a");
    fs::create_directory_symlink(dir / "outside", root / "linked");
    fs::create_directory_symlink(root / "real", root / "loop"); // inside the tree too
    const auto listed = daemon::scan_ingest(root);
    BOOST_TEST(listed == Paths({"linked", "loop", "real/a.jpg"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(file_symlinks_and_special_files_are_listed_as_entries)
{
    test::TempDir dir;
    const auto root = dir / "in";
    test::write_file(dir / "outside.jpg", "o");
    fs::create_directories(root);
    fs::create_symlink(dir / "outside.jpg", root / "link.jpg");
    fs::create_symlink(dir / "missing.jpg", root / "dangling.jpg");
    BOOST_TEST_REQUIRE(::mkfifo((root / "fifo.jpg").c_str(), 0600) == 0);
    // Listing only: read_source decides later what to do with them.
    BOOST_TEST(daemon::scan_ingest(root) == Paths({"dangling.jpg", "fifo.jpg", "link.jpg"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_subdirectory_scan_returns_paths_relative_to_the_root)
{
    test::TempDir dir;
    const auto root = dir / "in";
    test::write_file(root / "top.jpg", "t");
    test::write_file(root / "a/one.jpg", "1");
    test::write_file(root / "a/b/two.jpg", "2");
    test::write_file(root / "a/.hidden/three.jpg", "3");
    test::write_file(root / "c/four.jpg", "4");
    BOOST_TEST(daemon::scan_ingest(root, "a") == Paths({"a/b/two.jpg", "a/one.jpg"}), boost::test_tools::per_element());
    BOOST_TEST(daemon::scan_ingest(root, "a/b") == Paths({"a/b/two.jpg"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_missing_root_gives_an_empty_list)
{
    test::TempDir dir;
    BOOST_TEST(daemon::scan_ingest(dir / "nothing").empty());
    BOOST_TEST(daemon::scan_ingest(dir.path(), "nothing").empty());
}

BOOST_AUTO_TEST_CASE(hidden_name_is_a_leading_dot_only)
{
    BOOST_TEST(daemon::is_hidden_name(".x"));
    BOOST_TEST(daemon::is_hidden_name("."));
    BOOST_TEST(daemon::is_hidden_name(".."));
    BOOST_TEST(!daemon::is_hidden_name("x.jpg"));
    BOOST_TEST(!daemon::is_hidden_name("x."));
    BOOST_TEST(!daemon::is_hidden_name(""));
}

BOOST_AUTO_TEST_SUITE_END()
