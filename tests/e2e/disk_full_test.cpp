// A full or read-only disk under the output tree, or a full one under the
// index (below index_min_free), pauses ndrd
// instead of stopping it: the files wait in the ingest directory (or, once
// decided, keep their journal entry), the daemon retries with back-off, and
// when space returns everything is routed, in order, with nothing lost and
// `ndrd verify` clean. The small file systems are real tmpfs mounts, so
// these tests need CAP_SYS_ADMIN (CI runs as root); elsewhere they are
// reported as skipped.
#define BOOST_TEST_MODULE e2e_disk_full
#include <boost/test/unit_test.hpp>

#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <utility>

#include "live.hpp"

using namespace ndrd;
using namespace ndrd::e2e;

namespace {

// A tmpfs of `bytes` mounted on a fresh directory; unmounted when destroyed.
class SmallFs {
public:
    SmallFs(fs::path where, std::size_t bytes) : path_(std::move(where))
    {
        fs::create_directories(path_);
        const std::string opts = "size=" + std::to_string(bytes) + ",mode=0755";
        if (::mount("tmpfs", path_.c_str(), "tmpfs", 0, opts.c_str()) != 0) {
            throw std::runtime_error("cannot mount a tmpfs on " + path_.string() + ": " + std::strerror(errno));
        }
    }
    SmallFs(const SmallFs&) = delete;
    SmallFs& operator=(const SmallFs&) = delete;
    ~SmallFs() { ::umount2(path_.c_str(), MNT_DETACH); }

    // Fills the file system with one file until write() reports ENOSPC.
    void fill()
    {
        std::ofstream out(filler(), std::ios::binary);
        const std::string block(std::size_t{64} << 10U, 'x');
        while (out.write(block.data(), static_cast<std::streamsize>(block.size()))) {
        }
        out.close();
        // Whatever page the stream could not write: top up byte by byte.
        std::ofstream rest(filler(), std::ios::binary | std::ios::app);
        while (rest.put('x') && rest.flush()) {
        }
    }
    void drain() { fs::remove(filler()); }
    void remount(bool read_only)
    {
        const unsigned long flags = read_only ? MS_REMOUNT | MS_RDONLY : MS_REMOUNT;
        if (::mount("tmpfs", path_.c_str(), "tmpfs", flags, nullptr) != 0) {
            throw std::runtime_error("cannot remount " + path_.string() + ": " + std::strerror(errno));
        }
    }
    [[nodiscard]] const fs::path& path() const { return path_; }

private:
    [[nodiscard]] fs::path filler() const { return path_ / "filler.bin"; }
    fs::path path_;
};

// Whether this process may mount file systems (root, or CAP_SYS_ADMIN).
boost::test_tools::assertion_result can_mount(boost::unit_test::test_unit_id)
{
    test::TempDir probe;
    try {
        SmallFs fs(probe.path() / "m", 1 << 20);
    } catch (const std::exception& e) {
        boost::test_tools::assertion_result r(false);
        r.message() << e.what() << " (these tests need CAP_SYS_ADMIN)";
        return r;
    }
    return true;
}

// The index's file system is 64 MiB here: keep 4 MiB of it free.
ConfigOptions small_reserve()
{
    ConfigOptions o;
    o.extra = "index_min_free: 4MiB\n";
    return o;
}

bool logged(Live& live, const std::string& text, std::chrono::milliseconds timeout = std::chrono::seconds(10))
{
    return eventually([&] { return live.log().find(text) != std::string::npos; }, timeout);
}

RunResult verify(const Live& live)
{
    return run_ndrd({"verify", "--config", live.layout().config.string()});
}

} // namespace

BOOST_AUTO_TEST_SUITE(disk_full, *boost::unit_test::precondition(can_mount))

BOOST_AUTO_TEST_CASE(full_output_keeps_files_in_ingest_and_routes_them_when_space_returns)
{
    test::TempDir mounts;
    // The output on its own small file system: moves are copies, which need space.
    SmallFs out(mounts.path() / "output", 4 << 20);
    Live live(ConfigOptions{}, out.path());
    live.start();
    out.fill();

    const std::string astronaut = image("astronaut.png");
    const std::string coffee = image("coffee.png");
    test::write_file(live.ingest("astronaut.png"), astronaut);
    test::write_file(live.ingest("coffee.png"), coffee);
    BOOST_REQUIRE_MESSAGE(logged(live, "No space left on device"), live.log());
    BOOST_TEST(live.running());
    // Decided and journaled, but not moved: the bytes are still in the ingest directory.
    BOOST_TEST(file_has(live.ingest("astronaut.png"), astronaut));
    BOOST_TEST(file_has(live.ingest("coffee.png"), coffee));
    const auto status = run_ndrd({"status", "--config", live.layout().config.string()});
    BOOST_TEST(status.out.find("stuck moves:") != std::string::npos, status.out);

    out.drain();
    // Back-off starts at 1 s and doubles: a few seconds are enough here.
    BOOST_TEST(live.expect("train/astronaut.png", astronaut, live.ingest("astronaut.png")));
    BOOST_TEST(live.expect("train/coffee.png", coffee, live.ingest("coffee.png")));
    live.stop_and_check();
    const auto v = verify(live);
    BOOST_TEST(v.code() == 0, v.out << v.err);
}

BOOST_AUTO_TEST_CASE(full_index_pauses_ingestion_and_resumes_in_order)
{
    test::TempDir mounts;
    SmallFs idx(mounts.path() / "index", 64 << 20);
    Live live(small_reserve(), {}, idx.path());
    live.start();
    idx.fill();

    // A near-duplicate pair: if the pause reordered anything, the duplicate
    // could be decided before its original.
    const std::string original = image("coins.png");
    const std::string copy = image("coins__jpeg_q70.jpg");
    test::write_file(live.ingest("a_coins.png"), original);
    test::write_file(live.ingest("b_coins.jpg"), copy);
    BOOST_REQUIRE_MESSAGE(logged(live, "ingestion paused"), live.log());
    BOOST_TEST(live.running());
    BOOST_TEST(file_has(live.ingest("a_coins.png"), original));
    BOOST_TEST(file_has(live.ingest("b_coins.jpg"), copy));
    const auto status = run_ndrd({"status", "--config", live.layout().config.string()});
    BOOST_TEST(status.out.find("PAUSED") != std::string::npos, status.out);

    idx.drain();
    BOOST_TEST(live.expect("train/a_coins.png", original, live.ingest("a_coins.png")));
    BOOST_TEST(live.expect("duplicated/b_coins.jpg", copy, live.ingest("b_coins.jpg")));
    BOOST_TEST(logged(live, "ingestion resumed"));
    live.stop_and_check();
    const auto v = verify(live);
    BOOST_TEST(v.code() == 0, v.out << v.err);
}

BOOST_AUTO_TEST_CASE(read_only_output_holds_moves_until_writable_again)
{
    test::TempDir mounts;
    SmallFs out(mounts.path() / "output", 4 << 20);
    Live live(ConfigOptions{}, out.path());
    live.start();
    out.remount(/*read_only=*/true);

    const std::string moon = image("moon.png");
    test::write_file(live.ingest("moon.png"), moon);
    BOOST_REQUIRE_MESSAGE(logged(live, "Read-only file system"), live.log());
    BOOST_TEST(live.running());
    BOOST_TEST(file_has(live.ingest("moon.png"), moon));

    out.remount(/*read_only=*/false);
    BOOST_TEST(live.expect("train/moon.png", moon, live.ingest("moon.png")));
    live.stop_and_check();
    const auto v = verify(live);
    BOOST_TEST(v.code() == 0, v.out << v.err);
}

BOOST_AUTO_TEST_CASE(stopping_while_paused_leaves_undecided_files_for_the_next_start)
{
    test::TempDir mounts;
    SmallFs idx(mounts.path() / "index", 64 << 20);
    Live live(small_reserve(), {}, idx.path());
    live.start();
    idx.fill();
    const std::string camera = image("camera.png");
    test::write_file(live.ingest("camera.png"), camera);
    BOOST_REQUIRE_MESSAGE(logged(live, "ingestion paused"), live.log());
    live.stop(); // must exit 0 promptly, not wait for the disk
    BOOST_TEST(file_has(live.ingest("camera.png"), camera));

    idx.drain();
    live.start();
    BOOST_TEST(live.expect("train/camera.png", camera, live.ingest("camera.png")));
    live.stop_and_check();
    const auto v = verify(live);
    BOOST_TEST(v.code() == 0, v.out << v.err);
}

BOOST_AUTO_TEST_SUITE_END()
