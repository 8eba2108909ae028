// The command line as an operator meets it: exit codes (64 usage, 78
// configuration), messages that name the cause, and `status` agreeing with
// the files on disk.
#define BOOST_TEST_MODULE e2e_cli
#include <boost/test/unit_test.hpp>

#include <regex>

#include "e2e_support.hpp"

using namespace ndrd;
using namespace ndrd::e2e;

namespace {

bool contains(const std::string& text, const std::string& needle)
{
    return text.find(needle) != std::string::npos;
}

// A config with `body` whose directories would be created below `dir`; checks
// that ndrd refuses it with 78, names `mention` and creates none of them.
void check_config_error(const std::string& body, const std::string& mention)
{
    BOOST_TEST_CONTEXT("config:\n" << body)
    {
        test::TempDir dir;
        const Layout layout = make_layout(dir.path());
        const std::string text = "ingest_dir: " + (dir / "in").string() + "\noutput_dir: " + (dir / "out").string() +
                                 "\nindex_dir: " + (dir / "idx").string() + "\n" + body;
        test::write_file(layout.config, text);
        for (const std::string command : {"once", "run", "status"}) {
            const auto r = run_ndrd({command, "--config", layout.config.string()}, std::chrono::seconds(10));
            BOOST_CHECK_EQUAL(r.code(), 78);
            BOOST_CHECK_MESSAGE(contains(r.err, mention),
                                command << ": stderr does not mention '" << mention << "': " << r.err);
            BOOST_CHECK_MESSAGE(contains(r.err, "ndrd.yaml"), command << ": stderr does not name the file: " << r.err);
            BOOST_CHECK(r.out.empty());
        }
        // Checked before anything on disk is touched.
        BOOST_CHECK(!fs::exists(dir / "in"));
        BOOST_CHECK(!fs::exists(dir / "out"));
        BOOST_CHECK(!fs::exists(dir / "idx"));
    }
}

} // namespace

BOOST_AUTO_TEST_SUITE(cli_errors)

BOOST_AUTO_TEST_CASE(missing_config_file_is_78_and_named)
{
    test::TempDir dir;
    const auto missing = (dir / "missing.yaml").string();
    for (const std::string command : {"once", "run", "status"}) {
        const auto r = run_ndrd({command, "--config", missing}, std::chrono::seconds(10));
        BOOST_CHECK_EQUAL(r.code(), 78);
        BOOST_CHECK_MESSAGE(contains(r.err, missing), command << ": " << r.err);
    }
    const auto h = run_ndrd({"hash", "--config", missing, (test::reference() / "images/coins.png").string()});
    BOOST_CHECK_EQUAL(h.code(), 78);
    BOOST_CHECK(contains(h.err, missing));
}

BOOST_AUTO_TEST_CASE(zero_hash_dim_is_78)
{
    check_config_error("gradient:\n  hash_dim: 0\n", "gradient.hash_dim");
}

BOOST_AUTO_TEST_CASE(unknown_key_is_78)
{
    check_config_error("gradient:\n  hash_dimm: 16\n", "hash_dimm");
    check_config_error("workerz: 2\n", "workerz");
}

BOOST_AUTO_TEST_CASE(unreadable_projection_is_78)
{
    test::TempDir dir;
    const Layout layout = make_layout(dir.path());
    ConfigOptions opt;
    opt.projection = dir / "no-such-projection.txt";
    write_config(layout, opt);
    const auto r = run_ndrd({"once", "--config", layout.config.string()});
    BOOST_CHECK_EQUAL(r.code(), 78);
    BOOST_CHECK_MESSAGE(contains(r.err, "no-such-projection.txt"), r.err);
}

BOOST_AUTO_TEST_CASE(projection_of_the_wrong_shape_is_78)
{
    test::TempDir dir;
    const Layout layout = make_layout(dir.path());
    ConfigOptions opt;
    opt.projection = test::reference() / "projection_768x16.txt";
    opt.hash_dim = 32;
    write_config(layout, opt);
    const auto r = run_ndrd({"once", "--config", layout.config.string()});
    BOOST_CHECK_EQUAL(r.code(), 78);
    BOOST_CHECK_MESSAGE(contains(r.err, "projection"), r.err);
}

BOOST_AUTO_TEST_CASE(usage_errors_are_64)
{
    const auto none = run_ndrd({});
    BOOST_CHECK_EQUAL(none.code(), 64);
    BOOST_CHECK(contains(none.err, "Usage"));
    const auto bogus = run_ndrd({"bogus"});
    BOOST_CHECK_EQUAL(bogus.code(), 64);
    BOOST_CHECK(contains(bogus.err, "bogus"));
    const auto both = run_ndrd({"status", "--config", "a.yaml", "--instance", "b"});
    BOOST_CHECK_EQUAL(both.code(), 64);
    BOOST_CHECK_MESSAGE(contains(both.err, "--config and --instance"), both.err);
    BOOST_CHECK_EQUAL(run_ndrd({"once", "--config"}).code(), 64);
    BOOST_CHECK_EQUAL(run_ndrd({"once", "--nonsense", "x"}).code(), 64);
}

BOOST_AUTO_TEST_CASE(journal_priorities_only_when_stderr_is_the_journal_stream)
{
    // systemd names the stream it connected in JOURNAL_STREAM ("dev:ino");
    // a child whose stderr goes elsewhere must not prefix its lines.
    const std::string binary = ndrd_binary();
    const std::string missing = "status --config /nonexistent/ndrd.yaml";
    const auto matching = run_process(
        {"/bin/sh", "-c", "JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) exec " + binary + " " + missing});
    BOOST_TEST(matching.code() == 78);
    BOOST_TEST(matching.err.rfind("<3>", 0) == 0U, matching.err);
    const auto other = run_process({"/bin/sh", "-c", "JOURNAL_STREAM=1:1 exec " + binary + " " + missing});
    BOOST_TEST(other.code() == 78);
    BOOST_TEST(other.err.find("<3>") == std::string::npos, other.err);
    BOOST_TEST(contains(other.err, "error configuration error"), other.err);
}

BOOST_AUTO_TEST_CASE(help_is_0_and_prints_usage)
{
    for (const std::string command : {"run", "once", "hash", "status"}) {
        const auto r = run_ndrd({command, "--help"});
        BOOST_CHECK_EQUAL(r.code(), 0);
        BOOST_CHECK_MESSAGE(contains(r.out, "Usage: ndrd " + command), command << ": " << r.out);
    }
    const auto top = run_ndrd({"--help"});
    BOOST_CHECK_EQUAL(top.code(), 0);
    BOOST_CHECK(contains(top.out, "Usage"));
    const auto version = run_ndrd({"--version"});
    BOOST_CHECK_EQUAL(version.code(), 0);
    BOOST_CHECK(contains(version.out, "ndrd "));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(status)

BOOST_AUTO_TEST_CASE(counts_match_the_files_on_disk)
{
    test::TempDir dir;
    const Layout layout = make_layout(dir.path());
    write_config(layout, ConfigOptions{});
    // 3 kept, 3 duplicated, 2 rejected (h32_t0.5 decisions for these pairs).
    test::write_file(layout.ingest / "a_astronaut.png", image("astronaut.png"));
    test::write_file(layout.ingest / "b_astronaut_copy.png", image("astronaut.png"));
    test::write_file(layout.ingest / "c_coins.png", image("coins.png"));
    test::write_file(layout.ingest / "d_coins_q70.jpg", image("coins__jpeg_q70.jpg"));
    test::write_file(layout.ingest / "e_moon.png", image("moon.png"));
    test::write_file(layout.ingest / "f/astronaut_blur.jpg", image("astronaut__blur.jpg"));
    test::write_file(layout.ingest / "g_truncated.jpg", undecodable());
    test::write_file(layout.ingest / "h_text.jpg", "not an image\n");
    const auto r = run_ndrd({"once", "--config", layout.config.string()});
    BOOST_REQUIRE_EQUAL(r.code(), 0);
    const auto summary = parse_summary(r.out);
    BOOST_REQUIRE(summary);
    BOOST_CHECK_EQUAL(summary->kept, 3);
    BOOST_CHECK_EQUAL(summary->duplicated, 3);
    BOOST_CHECK_EQUAL(summary->rejected, 2);

    const auto count = [&](const std::string& sub) {
        return static_cast<int>(entries_under(layout.output / sub).size());
    };
    BOOST_CHECK_EQUAL(count("train"), 3);
    BOOST_CHECK_EQUAL(count("duplicated"), 3);
    BOOST_CHECK_EQUAL(count("rejected"), 2);

    const auto s = run_ndrd({"status", "--config", layout.config.string()});
    BOOST_REQUIRE_EQUAL(s.code(), 0);
    std::smatch m;
    BOOST_REQUIRE_MESSAGE(std::regex_search(s.out, m, std::regex(R"((\d+) kept, (\d+) duplicated, (\d+) rejected)")),
                          s.out);
    BOOST_CHECK_EQUAL(std::stoi(m[1]), count("train"));
    BOOST_CHECK_EQUAL(std::stoi(m[2]), count("duplicated"));
    BOOST_CHECK_EQUAL(std::stoi(m[3]), count("rejected"));
    BOOST_REQUIRE_MESSAGE(std::regex_search(s.out, m, std::regex(R"(train (\d+), duplicated (\d+), rejected (\d+))")),
                          s.out);
    BOOST_CHECK_EQUAL(std::stoi(m[1]), count("train"));
    BOOST_CHECK_EQUAL(std::stoi(m[2]), count("duplicated"));
    BOOST_CHECK_EQUAL(std::stoi(m[3]), count("rejected"));
    BOOST_CHECK_MESSAGE(contains(s.out, "hash_dim 32"), s.out);
    BOOST_CHECK_MESSAGE(std::regex_search(s.out, std::regex(R"(items:\s+8\b)")), s.out);

    // Still true after a second run adds to it.
    test::write_file(layout.ingest / "i_camera.png", image("camera.png"));
    BOOST_REQUIRE_EQUAL(run_ndrd({"once", "--config", layout.config.string()}).code(), 0);
    const auto s2 = run_ndrd({"status", "--config", layout.config.string()});
    BOOST_REQUIRE_EQUAL(s2.code(), 0);
    BOOST_CHECK_MESSAGE(contains(s2.out, "4 kept, 3 duplicated, 2 rejected"), s2.out);
    BOOST_CHECK_MESSAGE(contains(s2.out, "train 4, duplicated 3, rejected 2"), s2.out);
}

BOOST_AUTO_TEST_CASE(empty_ingest_once_and_status)
{
    test::TempDir dir;
    const Layout layout = make_layout(dir.path());
    write_config(layout, ConfigOptions{});
    const auto r = run_ndrd({"once", "--config", layout.config.string()});
    BOOST_REQUIRE_EQUAL(r.code(), 0);
    const auto summary = parse_summary(r.out);
    BOOST_REQUIRE_MESSAGE(summary, r.out);
    BOOST_CHECK_EQUAL(summary->kept + summary->duplicated + summary->rejected + summary->skipped, 0);
    const auto s = run_ndrd({"status", "--config", layout.config.string()});
    BOOST_CHECK_EQUAL(s.code(), 0);
    BOOST_CHECK_MESSAGE(contains(s.out, "0 kept, 0 duplicated, 0 rejected"), s.out);
}

BOOST_AUTO_TEST_CASE(status_without_an_index_fails_with_1)
{
    test::TempDir dir;
    const Layout layout = make_layout(dir.path());
    write_config(layout, ConfigOptions{});
    const auto s = run_ndrd({"status", "--config", layout.config.string()});
    BOOST_CHECK_EQUAL(s.code(), 1);
    BOOST_CHECK_MESSAGE(contains(s.err, layout.index.string()), s.err);
}

BOOST_AUTO_TEST_SUITE_END()
