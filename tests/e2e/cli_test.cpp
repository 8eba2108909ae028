// The command line as an operator meets it: exit codes (64 usage, 69 no
// daemon, 78 configuration), messages that name the cause, `status`
// agreeing with the files on disk; where the configuration is found
// (--config, --instance, $NDRD_CONFIG) and what a relative path in it means
// (the file's directory, whatever the caller's); commands other than
// run/once never creating an index; `ndrd check` and its exit codes;
// verify's 0/1/2; status --json; a daemon removing drained directories.
#define BOOST_TEST_MODULE e2e_cli
#include <boost/test/unit_test.hpp>

#include <cstdlib>
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

// A configuration with relative paths in `dir`: in/, out/, idx/.
fs::path relative_config(const fs::path& dir, const std::string& extra = {})
{
    const fs::path file = dir / "conf" / "site.yaml";
    test::write_file(file, "ingest_dir: ../in\noutput_dir: ../out\nindex_dir: ../idx\ncompat: datumaro\n"
                           "log_level: info\nworkers: 1\n" +
                               extra);
    return file;
}

// $NDRD_CONFIG for the commands run in this scope.
class ConfigEnv {
public:
    explicit ConfigEnv(const fs::path& file) { ::setenv("NDRD_CONFIG", file.c_str(), 1); }
    ConfigEnv(const ConfigEnv&) = delete;
    ConfigEnv& operator=(const ConfigEnv&) = delete;
    ~ConfigEnv() { ::unsetenv("NDRD_CONFIG"); }
};

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

BOOST_AUTO_TEST_SUITE(paths_and_check)

BOOST_AUTO_TEST_CASE(the_configuration_is_found_without_options_and_named_when_missing)
{
    ::unsetenv("NDRD_CONFIG");
    // The packaged default, absent on a build machine: named, exit 78.
    for (const std::string command : {"status", "check", "export"}) {
        const auto r = run_ndrd({command});
        if (fs::exists("/etc/ndrd/ndrd.yaml")) break; // a packaged host: nothing to prove here
        BOOST_TEST(r.code() == 78, command << ": " << r.err);
        BOOST_TEST(contains(r.err, "/etc/ndrd/ndrd.yaml"), r.err);
    }
    const auto instance = run_ndrd({"status", "--instance", "no-such-site"});
    BOOST_TEST(instance.code() == 78, instance.err);
    BOOST_TEST(contains(instance.err, "/etc/ndrd/no-such-site.yaml"), instance.err);
    BOOST_TEST(run_ndrd({"status", "-i", "../etc"}).code() == 78); // not a plain name

    test::TempDir dir;
    const fs::path file = relative_config(dir.path());
    const ConfigEnv env(file);
    const auto check = run_ndrd({"check"});
    BOOST_TEST(check.code() == 0, check.out << check.err);
    BOOST_TEST(contains(check.out, "ok: configuration " + file.string() + " is valid"), check.out);
}

BOOST_AUTO_TEST_CASE(relative_paths_resolve_against_the_files_directory_not_the_callers)
{
    test::TempDir dir;
    const fs::path file = relative_config(dir.path());
    test::write_file(dir / "in" / "coins.png", image("coins.png"));
    // The test runs in the build tree; nothing may appear there or in conf/.
    const auto once = run_ndrd({"once", "--config", file.string()});
    BOOST_TEST(once.code() == 0, once.err);
    BOOST_TEST(fs::exists(dir / "out" / "train" / "coins.png"));
    BOOST_TEST(fs::exists(dir / "idx" / "CURRENT"));
    BOOST_TEST(!fs::exists(fs::current_path() / "in"));
    BOOST_TEST(!fs::exists(dir / "conf" / "idx"));
    // One info line per routed file, naming source, destination and decision.
    BOOST_TEST(contains(once.err, "info routed coins.png -> train/coins.png (kept"), once.err);

    const auto printed = run_ndrd({"check", "--config", file.string(), "--print"});
    BOOST_TEST(printed.code() == 0, printed.out << printed.err);
    BOOST_TEST(contains(printed.out, "base_dir: " + (dir / "conf").string()), printed.out);
    BOOST_TEST(contains(printed.out, "index_dir: " + (dir / "idx").string()), printed.out);
    BOOST_TEST(contains(printed.out, "agrees with the configuration"), printed.out);

    const auto status = run_ndrd({"status", "--json", "--config", file.string()});
    BOOST_TEST(status.code() == 0, status.err);
    const auto json = parse_json_line(lines_of(status.out).at(0));
    BOOST_TEST(json.dump().find("\"kept\":1") != std::string::npos, json.dump());

    // base_dir moves them all, itself relative to the file's directory.
    test::write_file(file, "base_dir: ../site\n");
    const auto based = run_ndrd({"check", "--config", file.string(), "--print"});
    BOOST_TEST(contains(based.out, "ingest_dir: " + (dir / "site" / "incoming").string()), based.out);
}

BOOST_AUTO_TEST_CASE(commands_beside_the_daemon_never_create_an_index)
{
    test::TempDir dir;
    const fs::path file = relative_config(dir.path());
    const std::string config = file.string();
    const std::string image_file = (test::reference() / "images" / "coins.png").string();
    const std::vector<std::vector<std::string>> commands = {{"status", "--config", config},
                                                            {"export", "--config", config},
                                                            {"rebalance", "--config", config},
                                                            {"query", "--config", config, image_file},
                                                            {"release", "--config", config, "1"},
                                                            {"mark-duplicate", "--config", config, "1"},
                                                            {"snapshot", "--config", config, (dir / "snap").string()}};
    for (const auto& args : commands) {
        const auto r = run_ndrd(args);
        BOOST_TEST(r.code() == 1, args[0] << ": " << r.err);
        BOOST_TEST(contains(r.err, "no index at " + (dir / "idx").string()), args[0] << ": " << r.err);
    }
    const auto verify = run_ndrd({"verify", "--config", config});
    BOOST_TEST(verify.code() == 2, verify.err);
    const auto repair = run_ndrd({"verify", "--repair", "--config", config});
    BOOST_TEST(repair.code() == 2, repair.err);
    BOOST_TEST(!fs::exists(dir / "idx"));
    BOOST_TEST(!fs::exists(dir / "snap"));
    const auto reload = run_ndrd({"reload", "--config", config});
    BOOST_TEST(reload.code() == 69, reload.err);
    BOOST_TEST(contains(reload.err, "no ndrd daemon answers"), reload.err);
}

BOOST_AUTO_TEST_CASE(check_reports_problems_with_exit_1_and_invalid_files_with_78)
{
    test::TempDir dir;
    // Nested directories: a problem, and nothing is created.
    const fs::path nested = dir / "nested.yaml";
    test::write_file(nested, "ingest_dir: data/in\noutput_dir: data\nindex_dir: idx\n");
    const auto n = run_ndrd({"check", "--config", nested.string()});
    BOOST_TEST(n.code() == 1, n.out);
    BOOST_TEST(contains(n.out, "problem: ingest_dir"), n.out);
    BOOST_TEST(!fs::exists(dir / "data"));

    // An index built with other parameters.
    const fs::path file = relative_config(dir.path());
    BOOST_REQUIRE(run_ndrd({"once", "--config", file.string()}).code() == 0);
    test::write_file(file, "ingest_dir: ../in\noutput_dir: ../out\nindex_dir: ../idx\ngradient:\n  hash_dim: 16\n");
    const auto m = run_ndrd({"check", "--config", file.string()});
    BOOST_TEST(m.code() == 1, m.out);
    BOOST_TEST(contains(m.out, "problem: index " + (dir / "idx").string() + " was built with"), m.out);

    // A directory nobody may write (unless this runs as root).
    if (::geteuid() != 0) {
        const fs::path locked = dir / "locked";
        fs::create_directories(locked / "in");
        fs::permissions(locked / "in", fs::perms::owner_read | fs::perms::owner_exec);
        const fs::path lf = dir / "locked.yaml";
        test::write_file(lf, "ingest_dir: locked/in\noutput_dir: out2\nindex_dir: idx2\n");
        const auto l = run_ndrd({"check", "--config", lf.string()});
        BOOST_TEST(l.code() == 1, l.out);
        BOOST_TEST(contains(l.out, "not readable, writable and searchable"), l.out);
        fs::permissions(locked / "in", fs::perms::owner_all);
    }

    // A metrics port another daemon holds (a copied instance's, say).
    const int port = free_loopback_port();
    const std::string metrics = "metrics:\n  listen: 127.0.0.1:" + std::to_string(port) + "\n";
    test::TempDir other_dir;
    Layout other = make_layout(other_dir.path());
    other.config = relative_config(other_dir.path(), metrics);
    fs::create_directories(other_dir / "in");
    Daemon holder(other);
    BOOST_REQUIRE_MESSAGE(holder.wait_ready(), holder.log());
    const fs::path copy = relative_config(dir.path(), metrics);
    const auto taken = run_ndrd({"check", "--config", copy.string()});
    BOOST_TEST(taken.code() == 1, taken.out);
    BOOST_TEST(contains(taken.out, "problem: metrics.listen 127.0.0.1:" + std::to_string(port) + ": cannot bind"),
               taken.out);
    const auto own = run_ndrd({"check", "--config", other.config.string()}); // its own daemon holds it: fine
    BOOST_TEST(own.code() == 0, own.out);

    test::write_file(file, "gradient:\n  hash_dimm: 16\n");
    const auto bad = run_ndrd({"check", "--config", file.string()});
    BOOST_TEST(bad.code() == 78, bad.err);
    BOOST_TEST(contains(bad.err, "did you mean 'hash_dim'"), bad.err);
}

BOOST_AUTO_TEST_CASE(verify_says_1_for_discrepancies)
{
    test::TempDir dir;
    const fs::path file = relative_config(dir.path());
    test::write_file(dir / "in" / "coins.png", image("coins.png"));
    BOOST_REQUIRE(run_ndrd({"once", "--config", file.string()}).code() == 0);
    BOOST_TEST(run_ndrd({"verify", "--config", file.string()}).code() == 0);
    fs::remove(dir / "out" / "train" / "coins.png");
    const auto v = run_ndrd({"verify", "--config", file.string()});
    BOOST_TEST(v.code() == 1, v.out << v.err);
}

BOOST_AUTO_TEST_CASE(a_reload_turns_on_removing_drained_ingest_subdirectories)
{
    test::TempDir dir;
    const fs::path file = relative_config(dir.path());
    Layout layout = make_layout(dir.path());
    layout.config = file;
    fs::create_directories(dir / "in");
    Daemon daemon(layout);
    BOOST_REQUIRE_MESSAGE(daemon.wait_ready(), daemon.log());
    // Off by default; turned on live, the next sweep comes on the new period
    // (one second), not the minute the old one had scheduled.
    (void)relative_config(dir.path(), "ingest:\n  remove_empty_dirs: true\n  empty_dir_grace: 1s\n");
    const auto reload = run_ndrd({"reload", "--config", file.string()});
    BOOST_REQUIRE_MESSAGE(reload.code() == 0, reload.err);
    BOOST_TEST(contains(reload.out, "ingest.remove_empty_dirs and ingest.empty_dir_grace now apply"), reload.out);
    test::write_file(dir / "in" / "2026" / "12" / "06" / "coins.png", image("coins.png"));
    BOOST_TEST(eventually([&] { return fs::exists(dir / "out" / "train" / "2026" / "12" / "06" / "coins.png"); }),
               daemon.log());
    BOOST_TEST(eventually([&] { return !fs::exists(dir / "in" / "2026"); }, std::chrono::seconds(10)), daemon.log());
    BOOST_TEST(fs::exists(dir / "in"));
    BOOST_TEST(contains(daemon.log(), "removed empty ingest directory 2026/12/06"), daemon.log());
    BOOST_TEST((daemon.stop() == std::optional<ExitStatus>(0)));
}

BOOST_AUTO_TEST_SUITE_END()
