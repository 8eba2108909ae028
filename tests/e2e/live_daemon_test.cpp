// `ndrd run` as a live daemon: files written or renamed into the watched tree
// while it runs are routed like a batch would route them; the backlog present
// at start-up is processed in lexicographic order; bad input (corrupt files,
// symlinks, FIFOs) never stops it; SIGTERM/SIGINT end it cleanly with nothing
// lost.
#define BOOST_TEST_MODULE e2e_live_daemon
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <thread>
#include <tuple>

#include "live.hpp"
#include "preconditions.hpp"

using namespace ndrd;
using namespace ndrd::e2e;

namespace {

// The reference decision that makes `dup` a near-duplicate of `original`
// when `original` is the only item fed before it.
void require_duplicate_pair(const std::string& original, const std::string& dup)
{
    const auto o = decision_of("h32_t0.5", original);
    const auto d = decision_of("h32_t0.5", dup);
    BOOST_REQUIRE(o && d);
    BOOST_REQUIRE_EQUAL(o->decision, "kept");
    BOOST_REQUIRE_EQUAL(d->decision, "duplicated");
    BOOST_REQUIRE_EQUAL(d->matched_file, original);
    BOOST_REQUIRE_EQUAL(d->key, o->key);
}

std::string prefixed(int position, const std::string& file)
{
    char buf[8];
    std::snprintf(buf, sizeof buf, "%03d_", position);
    return buf + file;
}

} // namespace

BOOST_AUTO_TEST_SUITE(live_daemon)

BOOST_AUTO_TEST_CASE(camera_style_chunked_write_is_routed_once_complete)
{
    Live live;
    live.start();
    const std::string bytes = image("astronaut.png");
    write_in_chunks(live.ingest("astronaut.png"), bytes, 3, std::chrono::milliseconds(50));
    live.expect("train/astronaut.png", bytes, live.ingest("astronaut.png"));
    // A second camera file, in more and smaller pieces.
    const std::string camera = image("camera.png");
    write_in_chunks(live.ingest("IMG_0002.png"), camera, 6, std::chrono::milliseconds(50));
    live.expect("train/IMG_0002.png", camera, live.ingest("IMG_0002.png"));
    BOOST_CHECK(live.running());
    live.stop_and_check();
}

BOOST_AUTO_TEST_CASE(scraper_style_rename_into_ingest_is_routed)
{
    Live live;
    live.start();
    // Written elsewhere on the same file system, then renamed in.
    const std::string coffee = image("coffee.png");
    write_then_rename(live.scratch("download.tmp"), live.ingest("coffee.png"), coffee);
    live.expect("train/coffee.png", coffee, live.ingest("coffee.png"));
    // Written under a hidden name inside the ingest directory, then renamed.
    const std::string moon = image("moon.png");
    test::write_file(live.ingest(".moon.png.part"), moon);
    std::filesystem::rename(live.ingest(".moon.png.part"), live.ingest("moon.png"));
    live.expect("train/moon.png", moon, live.ingest("moon.png"));
    // A hidden file that is never renamed is never touched.
    const std::string brick = image("brick.png");
    test::write_file(live.ingest(".uploading.png"), brick);
    live.expect_left(".uploading.png");
    // The hidden file was written before this one, which is routed: by then
    // the daemon has had every chance to (wrongly) take the hidden one.
    const std::string page = image("page.png");
    write_then_rename(live.scratch("page.tmp"), live.ingest("page.png"), page);
    live.expect("train/page.png", page, live.ingest("page.png"));
    live.stop_and_check();
    BOOST_CHECK(file_has(live.ingest(".uploading.png"), brick));
}

BOOST_AUTO_TEST_CASE(byte_identical_copy_is_duplicated)
{
    Live live;
    live.start();
    const std::string bytes = image("astronaut.png");
    test::write_file(live.ingest("astronaut.png"), bytes);
    live.expect("train/astronaut.png", bytes, live.ingest("astronaut.png"));
    test::write_file(live.ingest("astronaut copy.png"), bytes);
    live.expect("duplicated/astronaut copy.png", bytes, live.ingest("astronaut copy.png"));
    write_then_rename(live.scratch("x"), live.ingest("again.png"), bytes);
    live.expect("duplicated/again.png", bytes, live.ingest("again.png"));
    live.stop_and_check();
}

BOOST_AUTO_TEST_CASE(reencoded_jpeg_near_duplicates_are_duplicated)
{
    // Pairs (original, re-encoded/resized derivative) that Datumaro's h32_t0.5
    // run decided as "duplicated, matched to original".
    const std::vector<std::pair<std::string, std::string>> pairs{
        {"coins.png", "coins__jpeg_q70.jpg"},
        {"chelsea__jpeg_q40.jpg", "chelsea__jpeg_q95.jpg"},
        {"rocket__resize25.jpg", "rocket__jpeg_q95.jpg"},
    };
    for (const auto& [o, d] : pairs)
        require_duplicate_pair(o, d);

    Live live; // golden projection, threshold 0.5
    live.start();
    for (const auto& [original, dup] : pairs) {
        const std::string a = image(original);
        test::write_file(live.ingest(original), a);
        live.expect("train/" + original, a, live.ingest(original));
        const std::string b = image(dup);
        write_in_chunks(live.ingest(dup), b, 2, std::chrono::milliseconds(20));
        live.expect("duplicated/" + dup, b, live.ingest(dup));
    }
    // Similar is not the same: a mirror image has another key and is kept.
    BOOST_REQUIRE_EQUAL(decision_of("h32_t0.5", "coins__hflip.png")->decision, "kept");
    const std::string flipped = image("coins__hflip.png");
    test::write_file(live.ingest("coins__hflip.png"), flipped);
    live.expect("train/coins__hflip.png", flipped, live.ingest("coins__hflip.png"));
    live.stop_and_check();
}

BOOST_AUTO_TEST_CASE(corrupt_files_are_rejected_and_the_daemon_keeps_routing)
{
    Live live;
    live.start();
    const std::string truncated = undecodable();
    test::write_file(live.ingest("truncated.jpg"), truncated);
    live.expect("rejected/truncated.jpg", truncated, live.ingest("truncated.jpg"));
    const std::string text = "this is not a JPEG, just some text\n";
    test::write_file(live.ingest("x.jpg"), text);
    live.expect("rejected/x.jpg", text, live.ingest("x.jpg"));
    test::write_file(live.ingest("empty.png"), "");
    live.expect("rejected/empty.png", "", live.ingest("empty.png"));
    BOOST_CHECK(live.running());
    const std::string good = image("horse.png");
    test::write_file(live.ingest("horse.png"), good);
    live.expect("train/horse.png", good, live.ingest("horse.png"));
    BOOST_CHECK(live.running());
    live.stop_and_check();
    BOOST_CHECK(live.log().find("truncated.jpg") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(subdirectory_created_after_start_is_watched)
{
    Live live;
    live.start();
    std::filesystem::create_directories(live.ingest("a/b"));
    const std::string horse = image("horse.png");
    test::write_file(live.ingest("a/b/horse.png"), horse);
    live.expect("train/a/b/horse.png", horse, live.ingest("a/b/horse.png"));
    // Later files in the new directory arrive through its own watch.
    const std::string page = image("page.png");
    write_then_rename(live.scratch("p"), live.ingest("a/b/page.png"), page);
    live.expect("train/a/b/page.png", page, live.ingest("a/b/page.png"));
    const std::string& copy = horse;
    test::write_file(live.ingest("a/horse.png"), copy);
    live.expect("duplicated/a/horse.png", copy, live.ingest("a/horse.png"));
    // A directory tree moved in from elsewhere, with files already inside.
    const std::string moon = image("moon.png");
    test::write_file(live.scratch("batch/x/moon.png"), moon);
    std::filesystem::rename(live.scratch("batch"), live.ingest("batch"));
    live.expect("train/batch/x/moon.png", moon, live.ingest("batch/x/moon.png"));
    live.stop_and_check();
}

BOOST_AUTO_TEST_CASE(chunked_write_into_new_subdirectory_is_routed_once_complete)
{
    // A camera that creates a directory per day and at once writes a file
    // into it in pieces. Whether the daemon lists the new directory before or
    // after the file appears is a race, so this is done in four new
    // directories: each image must be kept, never rejected half-written.
    Live live;
    live.start();
    const std::vector<std::string> images{"coffee.png", "moon.png", "page.png", "horse.png"};
    for (std::size_t i = 0; i < images.size(); ++i) {
        const std::string dir = "cam/day" + std::to_string(i);
        std::filesystem::create_directories(live.ingest(dir));
        const std::string bytes = image(images[i]);
        write_in_chunks(live.ingest(dir + "/IMG_0001.png"), bytes, 3, std::chrono::milliseconds(100));
        live.expect("train/" + dir + "/IMG_0001.png", bytes, live.ingest(dir + "/IMG_0001.png"));
    }
    live.stop_and_check();
}

BOOST_AUTO_TEST_CASE(file_still_being_written_in_a_directory_moved_in_is_routed_once_complete)
{
    // A directory renamed into the ingest tree while a file inside it is
    // still open for writing (deterministic form of the race above).
    Live live;
    live.start();
    const std::string bytes = image("coffee.png");
    fs::create_directories(live.scratch("batch"));
    const fs::path staged = live.scratch("batch/IMG_0001.png");
    const int fd = ::open(staged.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    BOOST_REQUIRE(fd >= 0);
    const std::size_t half = bytes.size() / 2;
    BOOST_REQUIRE_EQUAL(::write(fd, bytes.data(), half), static_cast<ssize_t>(half));
    fs::rename(live.scratch("batch"), live.ingest("batch"));
    // The writer stalls (a slow upload, a camera flushing its buffer): longer
    // than any "size unchanged for a while" heuristic should be trusted with.
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    BOOST_REQUIRE_EQUAL(::write(fd, bytes.data() + half, bytes.size() - half),
                        static_cast<ssize_t>(bytes.size() - half));
    ::close(fd);
    live.expect("train/batch/IMG_0001.png", bytes, live.ingest("batch/IMG_0001.png"));
    live.stop_and_check();
}

BOOST_AUTO_TEST_CASE(sigint_stops_cleanly_too)
{
    Live live;
    live.start();
    const std::string bytes = image("brick.png");
    test::write_file(live.ingest("brick.png"), bytes);
    live.expect("train/brick.png", bytes, live.ingest("brick.png"));
    live.stop(SIGINT);
    live.check_inventory();
    BOOST_CHECK(live.log().find("SIGINT") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(output_on_another_file_system,
                     *boost::unit_test::precondition(test::another_file_system_at_dev_shm))
{
    // Ingest on the temp directory's file system, output on /dev/shm: every
    // move is a copy + fsync + link + unlink instead of a rename.
    const test::TempDir shm("/dev/shm");
    const std::string backlog = image("camera.png");
    Live live(ConfigOptions{}, shm.path() / "output");
    test::write_file(live.ingest("sub/camera.png"), backlog);
    live.start();
    live.expect("train/sub/camera.png", backlog, live.ingest("sub/camera.png"));
    const std::string a = image("astronaut.png");
    write_in_chunks(live.ingest("shot.png"), a, 3, std::chrono::milliseconds(30));
    live.expect("train/shot.png", a, live.ingest("shot.png"));
    const std::string b = image("coffee.png");
    write_then_rename(live.scratch("b"), live.ingest("shot.png"), b);
    live.expect("train/shot~1.png", b, live.ingest("shot.png"));
    test::write_file(live.ingest("copy.png"), a);
    live.expect("duplicated/copy.png", a, live.ingest("copy.png"));
    const std::string bad = undecodable();
    test::write_file(live.ingest("truncated.jpg"), bad);
    live.expect("rejected/truncated.jpg", bad, live.ingest("truncated.jpg"));
    // No partial copy is left behind (check_inventory flags any extra file).
    live.stop_and_check();
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(backlog)

BOOST_AUTO_TEST_CASE(files_present_at_start_are_routed_in_lexicographic_order)
{
    // Datumaro's sequence, split over two subdirectories; the position prefix
    // makes the lexicographic order of the relative paths Datumaro's order,
    // so that every decision depends on it (chelsea__jpeg_q40.jpg before
    // chelsea.png, rocket__copy.jpg before rocket.jpg...).
    Live live;
    const auto ds = decisions("h32_t0.5");
    BOOST_REQUIRE_EQUAL(ds.size(), 64U);
    std::vector<std::tuple<std::string, std::string, std::string>> expected; // location, bytes, source
    for (const auto& d : ds) {
        const std::string rel = (d.position < 32 ? "p0/" : "p1/") + prefixed(d.position, d.file);
        const std::string bytes = image(d.file);
        test::write_file(live.ingest(rel), bytes);
        expected.emplace_back((d.decision == "kept" ? "train/" : "duplicated/") + rel, bytes, rel);
    }
    // Hidden names are not part of the backlog, at any level.
    test::write_file(live.ingest(".partial.png"), image("horse.png"));
    test::write_file(live.ingest(".cache/horse.png"), image("horse.png"));
    test::write_file(live.ingest("p0/.part.png"), image("horse.png"));
    live.expect_left(".partial.png");
    live.expect_left(".cache/horse.png");
    live.expect_left("p0/.part.png");

    live.start();
    for (const auto& [location, bytes, source] : expected) {
        live.expect(location, bytes, live.ingest(source));
    }
    // The backlog's kept items are in the index: a copy arriving live is a duplicate.
    const std::string copy = image("chelsea.png"); // duplicated of 003_chelsea__jpeg_q40.jpg
    test::write_file(live.ingest("late_chelsea.png"), copy);
    live.expect("duplicated/late_chelsea.png", copy, live.ingest("late_chelsea.png"));
    const std::string unique = image("synth_black.png"); // not in the sequence
    test::write_file(live.ingest("late_black.png"), unique);
    live.expect("train/late_black.png", unique, live.ingest("late_black.png"));
    live.stop_and_check();
}

BOOST_AUTO_TEST_CASE(sigterm_during_the_backlog_leaves_the_rest_for_the_next_run)
{
    ConfigOptions opt;
    opt.workers = 1;
    Live live(opt);
    const auto ds = decisions("h32_t0.5");
    for (const auto& d : ds)
        test::write_file(live.ingest(prefixed(d.position, d.file)), image(d.file));
    live.start();
    live.stop(); // at once: most of the backlog is still waiting

    int routed = 0;
    for (const auto& d : ds) {
        const std::string name = prefixed(d.position, d.file);
        const std::string bytes = image(d.file);
        const bool waiting = file_has(live.ingest(name), bytes);
        const bool placed = file_has(live.output((d.decision == "kept" ? "train/" : "duplicated/") + name), bytes);
        BOOST_CHECK_MESSAGE(waiting != placed,
                            name << (waiting ? " is both waiting and placed" : " is lost or misplaced"));
        routed += placed ? 1 : 0;
    }
    BOOST_TEST_MESSAGE(routed << " of 64 files were routed before SIGTERM took effect");
    BOOST_CHECK_EQUAL(files_under(live.layout().output).size(), static_cast<std::size_t>(routed));

    // The next run finishes the rest with the decisions of an uninterrupted run.
    const auto r = run_ndrd({"once", "--config", live.layout().config.string()});
    BOOST_REQUIRE_EQUAL(r.code(), 0);
    const auto s = parse_summary(r.out);
    BOOST_REQUIRE(s);
    BOOST_CHECK_EQUAL(s->kept + s->duplicated, 64 - routed);
    for (const auto& d : ds) {
        const std::string name = prefixed(d.position, d.file);
        const std::string location = (d.decision == "kept" ? "train/" : "duplicated/") + name;
        BOOST_CHECK_MESSAGE(file_has(live.output(location), image(d.file)),
                            location << " is not where Datumaro puts it");
    }
    BOOST_CHECK_EQUAL(files_under(live.layout().output).size(), 64U);
    BOOST_CHECK(entries_under(live.layout().ingest).empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(bad_input_never_stops_the_daemon)

namespace {

void check_symlink_and_fifo_left(Live& live, const fs::path& target, const std::string& target_bytes)
{
    std::error_code ec;
    BOOST_CHECK(fs::is_symlink(fs::symlink_status(live.ingest("link.png"), ec)));
    BOOST_CHECK_EQUAL(fs::read_symlink(live.ingest("link.png"), ec), target);
    BOOST_CHECK(fs::is_fifo(fs::symlink_status(live.ingest("pipe.png"), ec)));
    BOOST_CHECK(file_has(target, target_bytes)); // the target is untouched
}

} // namespace

BOOST_AUTO_TEST_CASE(symlink_and_fifo_created_in_ingest_are_left_and_logged)
{
    Live live;
    const fs::path target = live.scratch("outside/target.png");
    const std::string target_bytes = image("astronaut.png");
    test::write_file(target, target_bytes);
    live.start();

    fs::create_symlink(target, live.ingest("link.png"));
    BOOST_REQUIRE_EQUAL(::mkfifo(live.ingest("pipe.png").c_str(), 0644), 0);
    live.expect_left("link.png");
    live.expect_left("pipe.png");
    // A later good image is still routed (a FIFO opened for reading must not
    // block the daemon)...
    const std::string good = image("camera.png");
    test::write_file(live.ingest("camera.png"), good);
    live.expect("train/camera.png", good, live.ingest("camera.png"));
    BOOST_CHECK(live.running());
    // ...and the two entries it cannot take are reported, not ignored silently.
    const bool logged = eventually(
        [&] {
            return live.log().find("link.png") != std::string::npos && live.log().find("pipe.png") != std::string::npos;
        },
        std::chrono::seconds(2));
    BOOST_CHECK_MESSAGE(logged, "the daemon's log does not mention link.png and pipe.png:\n" << live.log());
    live.stop_and_check();
    check_symlink_and_fifo_left(live, target, target_bytes);
}

BOOST_AUTO_TEST_CASE(symlink_and_fifo_renamed_into_ingest_are_left_and_logged)
{
    Live live;
    const fs::path target = live.scratch("outside/target.png");
    const std::string target_bytes = image("astronaut.png");
    test::write_file(target, target_bytes);
    live.start();

    fs::create_symlink(target, live.scratch("link.png"));
    BOOST_REQUIRE_EQUAL(::mkfifo(live.scratch("pipe.png").c_str(), 0644), 0);
    fs::rename(live.scratch("link.png"), live.ingest("link.png"));
    fs::rename(live.scratch("pipe.png"), live.ingest("pipe.png"));
    live.expect_left("link.png");
    live.expect_left("pipe.png");
    const std::string good = image("camera.png");
    test::write_file(live.ingest("camera.png"), good);
    live.expect("train/camera.png", good, live.ingest("camera.png"));
    BOOST_CHECK(live.running());
    const bool logged = eventually(
        [&] {
            return live.log().find("link.png") != std::string::npos && live.log().find("pipe.png") != std::string::npos;
        },
        std::chrono::seconds(2));
    BOOST_CHECK_MESSAGE(logged, "the daemon's log does not mention link.png and pipe.png:\n" << live.log());
    live.stop_and_check();
    check_symlink_and_fifo_left(live, target, target_bytes);
}

BOOST_AUTO_TEST_CASE(symlink_fifo_and_symlinked_directory_in_the_backlog)
{
    Live live;
    const fs::path target = live.scratch("outside/target.png");
    const std::string target_bytes = image("astronaut.png");
    test::write_file(target, target_bytes);
    const std::string other = image("moon.png");
    test::write_file(live.scratch("outside/dir/moon.png"), other);
    fs::create_symlink(target, live.ingest("link.png"));
    BOOST_REQUIRE_EQUAL(::mkfifo(live.ingest("pipe.png").c_str(), 0644), 0);
    fs::create_directory_symlink(live.scratch("outside/dir"), live.ingest("dirlink"));
    const std::string good = image("camera.png");
    test::write_file(live.ingest("camera.png"), good);

    // Batch: the summary counts what was left alone.
    const auto r = run_ndrd({"once", "--config", live.layout().config.string()});
    BOOST_CHECK_EQUAL(r.code(), 0);
    const auto s = parse_summary(r.out);
    BOOST_REQUIRE_MESSAGE(s, "no summary: " << r.out);
    BOOST_CHECK_EQUAL(s->kept, 1);
    BOOST_CHECK_EQUAL(s->rejected, 0);
    BOOST_CHECK_EQUAL(s->skipped, 3);
    BOOST_CHECK(r.err.find("link.png") != std::string::npos);
    BOOST_CHECK(r.err.find("pipe.png") != std::string::npos);
    BOOST_CHECK(file_has(live.output("train/camera.png"), good));
    check_symlink_and_fifo_left(live, target, target_bytes);
    BOOST_CHECK(file_has(live.scratch("outside/dir/moon.png"), other));

    // The daemon's backlog: the same entries are skipped again, it still routes.
    live.expect_left("link.png");
    live.expect_left("pipe.png");
    live.expect_left("dirlink");
    live.start();
    const std::string later = image("coffee.png");
    test::write_file(live.ingest("coffee.png"), later);
    live.expect("train/camera.png", good);
    live.expect("train/coffee.png", later, live.ingest("coffee.png"));
    live.stop_and_check();
    check_symlink_and_fifo_left(live, target, target_bytes);
    BOOST_CHECK(file_has(live.scratch("outside/dir/moon.png"), other));
}

BOOST_AUTO_TEST_SUITE_END()
