// Where the command line finds its configuration and what a path in it
// means: --config, --instance, $NDRD_CONFIG; relative paths against the
// file's directory whatever the caller's; commands other than run/once never
// create an index; `ndrd check` and its exit codes; verify's 0/1/2; reload
// with no daemon (69); status --json.
#define BOOST_TEST_MODULE e2e_paths_and_check
#include <boost/test/unit_test.hpp>

#include <cstdlib>

#include "e2e_support.hpp"

using namespace ndrd;
using namespace ndrd::e2e;

namespace {

bool contains(const std::string& text, const std::string& needle)
{
    return text.find(needle) != std::string::npos;
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

BOOST_AUTO_TEST_CASE(a_running_daemon_removes_drained_ingest_subdirectories)
{
    test::TempDir dir;
    const fs::path file = relative_config(dir.path(), "ingest:\n  remove_empty_dirs: true\n  empty_dir_grace: 1s\n");
    Layout layout = make_layout(dir.path());
    layout.config = file;
    fs::create_directories(dir / "in");
    Daemon daemon(layout);
    BOOST_REQUIRE_MESSAGE(daemon.wait_ready(), daemon.log());
    test::write_file(dir / "in" / "2026" / "12" / "06" / "coins.png", image("coins.png"));
    BOOST_TEST(eventually([&] { return fs::exists(dir / "out" / "train" / "2026" / "12" / "06" / "coins.png"); }),
               daemon.log());
    BOOST_TEST(eventually([&] { return !fs::exists(dir / "in" / "2026"); }, std::chrono::seconds(15)), daemon.log());
    BOOST_TEST(fs::exists(dir / "in"));
    BOOST_TEST(contains(daemon.log(), "removed empty ingest directory 2026/12/06"), daemon.log());
    BOOST_TEST((daemon.stop() == std::optional<ExitStatus>(0)));
}

BOOST_AUTO_TEST_SUITE_END()
