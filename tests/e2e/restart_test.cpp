// What survives a restart: the index (a copy arriving after a restart is still
// a duplicate), the refusal to run with other index parameters, and the files
// already in the output tree (a taken name gets "~N", never overwritten).
#define BOOST_TEST_MODULE e2e_restart
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <sstream>

#include "live.hpp"

using namespace ndrd;
using namespace ndrd::e2e;

namespace {

Summary once_ok(const Layout& layout)
{
    const auto r = run_ndrd({"once", "--config", layout.config.string()});
    BOOST_TEST_INFO("stderr:\n" << r.err);
    BOOST_REQUIRE_EQUAL(r.code(), 0);
    const auto s = parse_summary(r.out);
    BOOST_REQUIRE_MESSAGE(s, "no summary line: " << r.out);
    return *s;
}

// projection_768x32.txt with its columns in reverse order: orthonormal too,
// but another projection.
fs::path reversed_projection(const fs::path& dir)
{
    std::istringstream in(test::read_file(test::reference() / "projection_768x32.txt"));
    std::ostringstream out;
    std::string line;
    int rows = 0;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        std::istringstream cells(line);
        std::vector<std::string> v;
        std::string c;
        while (cells >> c)
            v.push_back(c);
        BOOST_REQUIRE_EQUAL(v.size(), 32U);
        for (auto it = v.rbegin(); it != v.rend(); ++it)
            out << *it << (it + 1 == v.rend() ? "\n" : " ");
        ++rows;
    }
    BOOST_REQUIRE_EQUAL(rows, 768);
    const fs::path p = dir / "reversed_768x32.txt";
    test::write_file(p, out.str());
    return p;
}

} // namespace

BOOST_AUTO_TEST_SUITE(restart)

BOOST_AUTO_TEST_CASE(index_persists_between_once_runs)
{
    test::TempDir dir;
    const Layout layout = make_layout(dir.path());
    write_config(layout, ConfigOptions{});
    const std::string bytes = image("astronaut.png");
    test::write_file(layout.ingest / "astronaut.png", bytes);
    const auto first = once_ok(layout);
    BOOST_CHECK_EQUAL(first.kept, 1);
    BOOST_CHECK_EQUAL(first.duplicated, 0);
    BOOST_CHECK(file_has(layout.output / "train/astronaut.png", bytes));

    // New process, same index: the copy is recognised.
    test::write_file(layout.ingest / "later/astronaut-copy.png", bytes);
    const auto second = once_ok(layout);
    BOOST_CHECK_EQUAL(second.kept, 0);
    BOOST_CHECK_EQUAL(second.duplicated, 1);
    BOOST_CHECK(file_has(layout.output / "duplicated/later/astronaut-copy.png", bytes));
    BOOST_CHECK(file_has(layout.output / "train/astronaut.png", bytes));
    BOOST_CHECK_EQUAL(files_under(layout.output).size(), 2U);
    BOOST_CHECK(entries_under(layout.ingest).empty());

    // And a near-duplicate decided against an item kept by the first run.
    const std::string near = image("astronaut__blur.jpg");
    BOOST_REQUIRE_EQUAL(decision_of("h32_t0.5", "astronaut__blur.jpg")->matched_file, "astronaut.png");
    test::write_file(layout.ingest / "blur.jpg", near);
    const auto third = once_ok(layout);
    BOOST_CHECK_EQUAL(third.duplicated, 1);
    BOOST_CHECK(file_has(layout.output / "duplicated/blur.jpg", near));
}

BOOST_AUTO_TEST_CASE(index_persists_across_daemon_restart)
{
    Live live;
    live.start();
    const std::string bytes = image("coins.png");
    test::write_file(live.ingest("coins.png"), bytes);
    live.expect("train/coins.png", bytes, live.ingest("coins.png"));
    live.stop();

    live.start();
    BOOST_CHECK_MESSAGE(live.log().find("1 kept, 0 duplicated, 0 rejected") != std::string::npos,
                        "the restarted daemon does not report the index it reopened:\n"
                            << live.log());
    test::write_file(live.ingest("coins again.png"), bytes);
    live.expect("duplicated/coins again.png", bytes, live.ingest("coins again.png"));
    const std::string near = image("coins__jpeg_q70.jpg");
    write_in_chunks(live.ingest("coins_q70.jpg"), near, 3, std::chrono::milliseconds(30));
    live.expect("duplicated/coins_q70.jpg", near, live.ingest("coins_q70.jpg"));
    live.stop_and_check();
}

BOOST_AUTO_TEST_CASE(other_hash_dim_is_refused_and_touches_nothing)
{
    test::TempDir dir;
    const Layout layout = make_layout(dir.path());
    write_config(layout, ConfigOptions{});
    test::write_file(layout.ingest / "astronaut.png", image("astronaut.png"));
    once_ok(layout);
    const auto output_before = files_under(layout.output);

    const std::string waiting = image("camera.png");
    test::write_file(layout.ingest / "camera.png", waiting);
    for (const bool with_projection : {true, false}) {
        ConfigOptions sixteen;
        sixteen.hash_dim = 16;
        if (with_projection) {
            sixteen.projection = test::reference() / "projection_768x16.txt";
        } else {
            sixteen.projection.reset();
        }
        write_config(layout, sixteen);
        for (const std::string command : {"once", "run"}) {
            BOOST_TEST_CONTEXT(command << (with_projection ? " with" : " without") << " a 16-column projection")
            {
                const auto r = run_ndrd({command, "--config", layout.config.string()}, std::chrono::seconds(10));
                BOOST_CHECK_EQUAL(r.code(), 78);
                BOOST_CHECK_MESSAGE(r.err.find("hash_dim") != std::string::npos, "stderr: " << r.err);
                BOOST_CHECK(r.out.empty());
                BOOST_CHECK(file_has(layout.ingest / "camera.png", waiting));
                BOOST_CHECK(files_under(layout.output) == output_before);
            }
        }
    }
    // The original configuration still works on the untouched index.
    write_config(layout, ConfigOptions{});
    const auto s = once_ok(layout);
    BOOST_CHECK_EQUAL(s.kept, 1);
    BOOST_CHECK(file_has(layout.output / "train/camera.png", waiting));
}

BOOST_AUTO_TEST_CASE(other_projection_is_refused)
{
    test::TempDir dir;
    const Layout layout = make_layout(dir.path());
    write_config(layout, ConfigOptions{});
    test::write_file(layout.ingest / "astronaut.png", image("astronaut.png"));
    once_ok(layout);
    const std::string waiting = image("camera.png");
    test::write_file(layout.ingest / "camera.png", waiting);
    ConfigOptions other;
    other.projection = reversed_projection(dir.path());
    write_config(layout, other);
    const auto r = run_ndrd({"once", "--config", layout.config.string()});
    BOOST_CHECK_EQUAL(r.code(), 78);
    BOOST_CHECK_MESSAGE(r.err.find("projection") != std::string::npos, "stderr: " << r.err);
    BOOST_CHECK(file_has(layout.ingest / "camera.png", waiting));
    BOOST_CHECK(!fs::exists(layout.output / "train/camera.png"));
}

BOOST_AUTO_TEST_CASE(refused_first_start_leaves_no_broken_index)
{
    // The operator's first start names a projection file that does not exist
    // (or has the wrong shape): 78. Once the configuration is fixed, ndrd
    // must start; the refused attempt must not have left an index behind
    // that every later start trips over.
    test::TempDir dir;
    const Layout layout = make_layout(dir.path());
    const std::string waiting = image("astronaut.png");
    test::write_file(layout.ingest / "astronaut.png", waiting);
    for (const auto& bad : {dir / "typo_768x32.txt", test::reference() / "projection_768x16.txt"}) {
        ConfigOptions broken;
        broken.projection = bad;
        write_config(layout, broken);
        const auto r = run_ndrd({"once", "--config", layout.config.string()});
        BOOST_CHECK_EQUAL(r.code(), 78);
        BOOST_CHECK(file_has(layout.ingest / "astronaut.png", waiting));
    }
    write_config(layout, ConfigOptions{});
    // Before any successful start there is no index: `hash` uses the
    // configuration's projection (the golden one, so Datumaro's key).
    const auto before =
        run_ndrd({"hash", "--config", layout.config.string(), test::reference_image("coins.png").string()});
    BOOST_CHECK_MESSAGE(before.code() == 0, "hash exit " << before.code() << ": " << before.err);
    if (before.code() == 0) {
        BOOST_CHECK_EQUAL(parse_json_line(lines_of(before.out).at(0)).value("key", ""),
                          reference_keys().at("coins.png").key32);
    }
    const auto fixed = run_ndrd({"once", "--config", layout.config.string()});
    BOOST_CHECK_MESSAGE(fixed.code() == 0, "exit " << fixed.code() << " after fixing the configuration: " << fixed.err);
    BOOST_CHECK(file_has(layout.output / "train/astronaut.png", waiting));
    const auto status = run_ndrd({"status", "--config", layout.config.string()});
    BOOST_CHECK_MESSAGE(status.code() == 0, "status exit " << status.code() << ": " << status.err);
    // And hash now reads the index's projection: the golden one too.
    const auto h = run_ndrd({"hash", "--config", layout.config.string(), test::reference_image("coins.png").string()});
    BOOST_CHECK_EQUAL(h.code(), 0);
    if (h.code() == 0) {
        BOOST_CHECK_EQUAL(parse_json_line(lines_of(h.out).at(0)).value("key", ""),
                          reference_keys().at("coins.png").key32);
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(name_collisions)

BOOST_AUTO_TEST_CASE(same_name_in_later_once_runs_gets_a_suffix)
{
    test::TempDir dir;
    const Layout layout = make_layout(dir.path());
    write_config(layout, ConfigOptions{});
    // Somebody else's file already sits where the first image would go.
    test::write_file(layout.output / "train/pre.png", "precious, not ndrd's");

    struct Drop {
        std::string ingest_name;
        std::string image;
        std::string location;
    };
    const std::vector<std::vector<Drop>> runs{
        {{"shot.png", "astronaut.png", "train/shot.png"},
         {"a/b/shot.png", "coffee.png", "train/a/b/shot.png"},
         {"noext", "horse.png", "train/noext"},
         {"x.tar.png", "page.png", "train/x.tar.png"},
         {"pre.png", "brick.png", "train/pre~1.png"},
         {"bad.jpg", "", "rejected/bad.jpg"}},
        {{"shot.png", "camera.png", "train/shot~1.png"},
         {"a/b/shot.png", "moon.png", "train/a/b/shot~1.png"},
         {"noext", "logo.png", "train/noext~1"},
         {"x.tar.png", "palette_color.png", "train/x.tar~1.png"},
         {"bad.jpg", "", "rejected/bad~1.jpg"}},
        {{"shot.png", "motorcycle_left.png", "train/shot~2.png"}},
    };
    std::map<std::string, std::string> expected{{"train/pre.png", "precious, not ndrd's"}};
    for (const auto& run : runs) {
        for (const auto& d : run) {
            const std::string bytes = d.image.empty() ? "garbage " + d.location : image(d.image);
            test::write_file(layout.ingest / d.ingest_name, bytes);
            expected[d.location] = bytes;
        }
        once_ok(layout);
    }
    const auto actual = files_under(layout.output);
    for (const auto& [location, bytes] : expected) {
        const auto it = actual.find(location);
        BOOST_CHECK_MESSAGE(it != actual.end() && it->second == bytes, location << " missing or not the bytes dropped");
    }
    BOOST_CHECK_EQUAL(actual.size(), expected.size());
    BOOST_CHECK(entries_under(layout.ingest).empty());
}

BOOST_AUTO_TEST_CASE(same_name_arriving_live_gets_a_suffix)
{
    Live live;
    live.start();
    const std::string first = image("astronaut.png");
    const std::string second = image("camera.png");
    test::write_file(live.ingest("shot.png"), first);
    live.expect("train/shot.png", first, live.ingest("shot.png"));
    write_in_chunks(live.ingest("shot.png"), second, 3, std::chrono::milliseconds(30));
    live.expect("train/shot~1.png", second, live.ingest("shot.png"));
    // Duplicates with a taken name in the duplicated subset.
    test::write_file(live.ingest("shot.png"), second);
    live.expect("duplicated/shot.png", second, live.ingest("shot.png"));
    write_then_rename(live.scratch("s"), live.ingest("shot.png"), first);
    live.expect("duplicated/shot~1.png", first, live.ingest("shot.png"));
    // And in a subdirectory.
    test::write_file(live.ingest("d/shot.png"), image("coffee.png"));
    live.expect("train/d/shot.png", image("coffee.png"), live.ingest("d/shot.png"));
    test::write_file(live.ingest("d/shot.png"), image("moon.png"));
    live.expect("train/d/shot~1.png", image("moon.png"), live.ingest("d/shot.png"));
    live.stop_and_check();
}

BOOST_AUTO_TEST_SUITE_END()
