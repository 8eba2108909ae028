// The router: free names in the output tree, moves that never overwrite,
// and the copy path across file systems.
#define BOOST_TEST_MODULE router
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <random>
#include <unordered_set>

#include "daemon/route/router.hpp"
#include "preconditions.hpp"
#include "test_support.hpp"

using namespace ndrd;
using daemon::MoveResult;
using daemon::Router;
namespace fs = std::filesystem;

namespace {

struct Trees {
    test::TempDir tmp;
    fs::path ingest = tmp / "ingest";
    fs::path output = tmp / "output";
    Router router{ingest, output};
    Trees()
    {
        fs::create_directories(ingest);
        fs::create_directories(output);
    }
};

std::string name(MoveResult r)
{
    switch (r) {
    case MoveResult::moved: return "moved";
    case MoveResult::source_missing: return "source_missing";
    case MoveResult::destination_taken: return "destination_taken";
    }
    return "?";
}

ino_t inode_of(const fs::path& p)
{
    struct stat st {};
    BOOST_TEST_REQUIRE(::lstat(p.c_str(), &st) == 0, p);
    return st.st_ino;
}

dev_t device_of(const fs::path& p)
{
    struct stat st {};
    BOOST_TEST_REQUIRE(::stat(p.c_str(), &st) == 0, p);
    return st.st_dev;
}

// Every file below `dir` whose name starts with `prefix`.
std::vector<std::string> files_named(const fs::path& dir, const std::string& prefix)
{
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        if (e.path().filename().string().starts_with(prefix)) out.push_back(e.path().string());
    }
    return out;
}

std::string random_bytes(std::size_t n, unsigned seed)
{
    std::mt19937 gen(seed);
    std::string s(n, '\0');
    for (char& c : s)
        c = static_cast<char>(gen() & 0xffU);
    return s;
}

} // namespace

BOOST_AUTO_TEST_SUITE(router_plan)

BOOST_AUTO_TEST_CASE(free_name_is_area_slash_source)
{
    Trees t;
    BOOST_TEST(t.router.plan("train", "cat.jpg") == "train/cat.jpg");
    // Planning claims nothing.
    BOOST_TEST(!fs::exists(t.output / "train"));
}

BOOST_AUTO_TEST_CASE(taken_names_get_tilde_1_then_tilde_2_before_the_extension)
{
    Trees t;
    test::write_file(t.output / "train/cat.jpg", "a");
    BOOST_TEST(t.router.plan("train", "cat.jpg") == "train/cat~1.jpg");
    test::write_file(t.output / "train/cat~1.jpg", "b");
    BOOST_TEST(t.router.plan("train", "cat.jpg") == "train/cat~2.jpg");
    // A gap is reused: ~1 freed again comes back first.
    fs::remove(t.output / "train/cat~1.jpg");
    BOOST_TEST(t.router.plan("train", "cat.jpg") == "train/cat~1.jpg");
}

BOOST_AUTO_TEST_CASE(a_taken_255_byte_name_gets_a_suffixed_name_within_name_max)
{
    Trees t;
    const std::string name = std::string(251, 'n') + ".jpg"; // exactly NAME_MAX
    test::write_file(t.output / "train" / name, "a");
    const std::string planned = t.router.plan("train", name);
    const std::string file = fs::path(planned).filename().string();
    BOOST_TEST(file.size() <= 255U);
    BOOST_TEST(file.find("~1.jpg") != std::string::npos, file);
    test::write_file(t.output / planned, "b"); // the name is usable on disk
    BOOST_TEST(fs::exists(t.output / planned));
}

BOOST_AUTO_TEST_CASE(nested_sources_keep_their_directories)
{
    Trees t;
    BOOST_TEST(t.router.plan("duplicated", "2024/05/cat.png") == "duplicated/2024/05/cat.png");
    test::write_file(t.output / "duplicated/2024/05/cat.png", "a");
    BOOST_TEST(t.router.plan("duplicated", "2024/05/cat.png") == "duplicated/2024/05/cat~1.png");
    test::write_file(t.output / "duplicated/2024/05/cat~1.png", "b");
    BOOST_TEST(t.router.plan("duplicated", "2024/05/cat.png") == "duplicated/2024/05/cat~2.png");
    // The same name in another directory is free.
    BOOST_TEST(t.router.plan("duplicated", "2024/06/cat.png") == "duplicated/2024/06/cat.png");
}

BOOST_AUTO_TEST_CASE(names_without_extension_get_a_plain_suffix)
{
    Trees t;
    test::write_file(t.output / "train/README", "a");
    BOOST_TEST(t.router.plan("train", "README") == "train/README~1");
    test::write_file(t.output / "train/README~1", "b");
    BOOST_TEST(t.router.plan("train", "README") == "train/README~2");
    test::write_file(t.output / "train/sub/IMG_0001", "c");
    BOOST_TEST(t.router.plan("train", "sub/IMG_0001") == "train/sub/IMG_0001~1");
}

BOOST_AUTO_TEST_CASE(only_the_last_extension_is_kept_after_the_suffix)
{
    Trees t;
    test::write_file(t.output / "train/a.tar.gz", "a");
    BOOST_TEST(t.router.plan("train", "a.tar.gz") == "train/a.tar~1.gz");
}

BOOST_AUTO_TEST_CASE(a_dangling_symlink_or_a_directory_occupies_a_name)
{
    Trees t;
    fs::create_directories(t.output / "train");
    fs::create_symlink(t.tmp / "does-not-exist", t.output / "train/link.jpg");
    BOOST_TEST(t.router.plan("train", "link.jpg") == "train/link~1.jpg");
    fs::create_directories(t.output / "train/dir.jpg");
    BOOST_TEST(t.router.plan("train", "dir.jpg") == "train/dir~1.jpg");
}

BOOST_AUTO_TEST_CASE(reserved_locations_count_as_taken)
{
    Trees t;
    std::unordered_set<std::string> reserved{"train/cat.jpg", "train/cat~1.jpg"};
    BOOST_TEST(t.router.plan("train", "cat.jpg", &reserved) == "train/cat~2.jpg");
    test::write_file(t.output / "train/cat~2.jpg", "x");
    BOOST_TEST(t.router.plan("train", "cat.jpg", &reserved) == "train/cat~3.jpg");
    // Without the set, only the disk counts.
    BOOST_TEST(t.router.plan("train", "cat.jpg") == "train/cat.jpg");
    const std::unordered_set<std::string> nested{"train/a/b.png"};
    BOOST_TEST(t.router.plan("train", "a/b.png", &nested) == "train/a/b~1.png");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(router_move)

BOOST_AUTO_TEST_CASE(move_renames_the_file_and_creates_parent_directories)
{
    Trees t;
    test::write_file(t.ingest / "a/b/cat.jpg", "meow");
    const auto ino = inode_of(t.ingest / "a/b/cat.jpg");
    const auto loc = t.router.plan("train", "a/b/cat.jpg");
    const auto r = t.router.move("a/b/cat.jpg", loc);
    BOOST_TEST(name(r) == "moved");
    BOOST_TEST(!fs::exists(t.ingest / "a/b/cat.jpg"));
    BOOST_TEST_REQUIRE(fs::exists(t.output / "train/a/b/cat.jpg"));
    BOOST_TEST(test::read_file(t.output / "train/a/b/cat.jpg") == "meow");
    BOOST_TEST(inode_of(t.output / "train/a/b/cat.jpg") == ino); // a rename, not a copy
    // The now empty ingest directories are left for the uploader.
    BOOST_TEST(fs::is_directory(t.ingest / "a/b"));
}

BOOST_AUTO_TEST_CASE(move_never_overwrites_a_destination_created_after_plan)
{
    Trees t;
    test::write_file(t.ingest / "cat.jpg", "original source");
    const auto loc = t.router.plan("train", "cat.jpg");
    test::write_file(t.output / loc, "someone else's file");
    const auto r = t.router.move("cat.jpg", loc);
    BOOST_TEST(name(r) == "destination_taken");
    BOOST_TEST(test::read_file(t.ingest / "cat.jpg") == "original source");
    BOOST_TEST(test::read_file(t.output / loc) == "someone else's file");
    // Planning again finds the next free name, and that move succeeds.
    const auto again = t.router.plan("train", "cat.jpg");
    BOOST_TEST(again == "train/cat~1.jpg");
    BOOST_TEST(name(t.router.move("cat.jpg", again)) == "moved");
    BOOST_TEST(test::read_file(t.output / again) == "original source");
    BOOST_TEST(test::read_file(t.output / loc) == "someone else's file");
}

BOOST_AUTO_TEST_CASE(move_never_replaces_a_symlink_or_empty_directory_at_the_destination)
{
    Trees t;
    test::write_file(t.ingest / "x.jpg", "x");
    fs::create_directories(t.output / "train");
    fs::create_symlink(t.tmp / "nowhere", t.output / "train/x.jpg");
    BOOST_TEST(name(t.router.move("x.jpg", "train/x.jpg")) == "destination_taken");
    BOOST_TEST(fs::is_symlink(t.output / "train/x.jpg"));
    BOOST_TEST(test::read_file(t.ingest / "x.jpg") == "x");
}

BOOST_AUTO_TEST_CASE(move_of_a_missing_source_reports_source_missing)
{
    Trees t;
    BOOST_TEST(name(t.router.move("nothing.jpg", "train/nothing.jpg")) == "source_missing");
    BOOST_TEST(name(t.router.move("no/such/dir/nothing.jpg", "train/nothing.jpg")) == "source_missing");
    BOOST_TEST(!fs::exists(t.output / "train/nothing.jpg"));
}

BOOST_AUTO_TEST_CASE(move_failure_other_than_the_expected_ones_throws_route_error_naming_the_paths)
{
    Trees t;
    // The destination's parent is a file: the directory cannot be created.
    test::write_file(t.ingest / "x.jpg", "x");
    test::write_file(t.output / "train", "a file where a directory is needed");
    try {
        (void)t.router.move("x.jpg", "train/x.jpg");
        BOOST_FAIL("expected RouteError");
    } catch (const daemon::RouteError& e) {
        const std::string msg = e.what();
        BOOST_TEST(msg.find((t.output / "train").string()) != std::string::npos, msg);
    }
    BOOST_TEST(test::read_file(t.ingest / "x.jpg") == "x");
}

BOOST_AUTO_TEST_CASE(move_within_output_renames_between_areas_without_overwriting)
{
    Trees t;
    test::write_file(t.output / "train/a/cat.jpg", "kept");
    const auto ino = inode_of(t.output / "train/a/cat.jpg");
    BOOST_TEST(name(t.router.move_within_output("train/a/cat.jpg", "duplicated/a/cat.jpg")) == "moved");
    BOOST_TEST(!fs::exists(t.output / "train/a/cat.jpg"));
    BOOST_TEST(inode_of(t.output / "duplicated/a/cat.jpg") == ino);

    test::write_file(t.output / "train/a/cat.jpg", "another");
    BOOST_TEST(name(t.router.move_within_output("train/a/cat.jpg", "duplicated/a/cat.jpg")) == "destination_taken");
    BOOST_TEST(test::read_file(t.output / "train/a/cat.jpg") == "another");
    BOOST_TEST(test::read_file(t.output / "duplicated/a/cat.jpg") == "kept");

    BOOST_TEST(name(t.router.move_within_output("train/none.jpg", "duplicated/none.jpg")) == "source_missing");
    // Never reaches into the ingest directory.
    test::write_file(t.ingest / "train/x.jpg", "in ingest");
    BOOST_TEST(name(t.router.move_within_output("train/x.jpg", "duplicated/x.jpg")) == "source_missing");
    BOOST_TEST(fs::exists(t.ingest / "train/x.jpg"));
}

BOOST_AUTO_TEST_CASE(source_and_output_paths_join_the_trees)
{
    Trees t;
    BOOST_TEST(t.router.source_path("a/b.jpg") == t.ingest / "a/b.jpg");
    BOOST_TEST(t.router.output_path("train/a/b.jpg") == t.output / "train/a/b.jpg");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(router_cross_filesystem, *boost::unit_test::precondition(test::another_file_system_at_dev_shm))

BOOST_AUTO_TEST_CASE(move_across_file_systems_copies_exactly_and_removes_the_source)
{
    const test::TempDir shm("/dev/shm");
    test::TempDir out;
    const Router router(shm / "ingest", out / "output");
    // Larger than the 64 KiB copy buffer, and not a multiple of it.
    const std::string content = random_bytes(200'003, 7);
    test::write_file(shm / "ingest/sub/big.jpg", content);
    test::write_file(shm / "ingest/empty.jpg", "");
    BOOST_TEST_REQUIRE(device_of(shm.path()) != device_of(out.path()));

    BOOST_TEST(name(router.move("sub/big.jpg", "train/sub/big.jpg")) == "moved");
    BOOST_TEST(!fs::exists(shm / "ingest/sub/big.jpg"));
    BOOST_TEST_REQUIRE(fs::exists(out / "output/train/sub/big.jpg"));
    BOOST_TEST((test::read_file(out / "output/train/sub/big.jpg") == content));

    BOOST_TEST(name(router.move("empty.jpg", "train/empty.jpg")) == "moved");
    BOOST_TEST(!fs::exists(shm / "ingest/empty.jpg"));
    BOOST_TEST(fs::file_size(out / "output/train/empty.jpg") == 0U);

    BOOST_TEST(files_named(out.path(), ".ndrd-partial-").empty());
    BOOST_TEST(files_named(shm.path(), ".ndrd-partial-").empty());
}

BOOST_AUTO_TEST_CASE(move_across_file_systems_never_overwrites)
{
    const test::TempDir shm("/dev/shm");
    test::TempDir out;
    const Router router(shm / "ingest", out / "output");
    test::write_file(shm / "ingest/cat.jpg", "source bytes");
    const auto loc = router.plan("train", "cat.jpg");
    test::write_file(out / "output" / loc, "already there");
    BOOST_TEST(name(router.move("cat.jpg", loc)) == "destination_taken");
    BOOST_TEST(test::read_file(shm / "ingest/cat.jpg") == "source bytes");
    BOOST_TEST(test::read_file(out / "output" / loc) == "already there");
    BOOST_TEST(files_named(out.path(), ".ndrd-partial-").empty());
}

BOOST_AUTO_TEST_CASE(move_across_file_systems_of_a_missing_source_reports_source_missing)
{
    const test::TempDir shm("/dev/shm");
    test::TempDir out;
    fs::create_directories(shm / "ingest");
    const Router router(shm / "ingest", out / "output");
    BOOST_TEST(name(router.move("gone.jpg", "train/gone.jpg")) == "source_missing");
    BOOST_TEST(!fs::exists(out / "output/train/gone.jpg"));
    BOOST_TEST(files_named(out.path(), ".ndrd-partial-").empty());
}

BOOST_AUTO_TEST_CASE(move_across_file_systems_replaces_a_stale_partial_file)
{
    const test::TempDir shm("/dev/shm");
    test::TempDir out;
    const Router router(shm / "ingest", out / "output");
    test::write_file(shm / "ingest/cat.jpg", "complete");
    // A crash mid-copy left this behind.
    test::write_file(out / "output/train/.ndrd-partial-cat.jpg", "compl");
    BOOST_TEST(name(router.move("cat.jpg", "train/cat.jpg")) == "moved");
    BOOST_TEST(test::read_file(out / "output/train/cat.jpg") == "complete");
    BOOST_TEST(files_named(out.path(), ".ndrd-partial-").empty());
}

BOOST_AUTO_TEST_SUITE_END()
