// Helpers for the end-to-end tests: a test directory laid out like a real
// deployment (ingest/output/index + config file, absolute paths), the ndrd
// binary, polling with a deadline, snapshots of directory trees, the
// reference data (sequence, decisions, keys, features) and a reader for the
// JSON lines ndrd prints.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#ifdef NDRD_BINARY
#include <boost/test/unit_test.hpp> // once_rows() checks each step
#endif

#include "process.hpp"
#include "test_support.hpp"

namespace ndrd::e2e {

namespace fs = std::filesystem;

// ---------------------------------------------------------------- layout

struct ConfigOptions {
    int hash_dim = 32;
    double sim_threshold = 0.5;
    // The golden projection matching hash_dim by default, so that keys.csv
    // and decisions.csv apply; nullopt = generated from the seed.
    std::optional<fs::path> projection = test::reference() / "projection_768x32.txt";
    unsigned workers = 2;
    std::string log_level = "debug"; // routed files are logged at debug: useful when a test fails
    std::string extra;               // more YAML lines appended verbatim
    // Most e2e tests check outcomes against Datumaro's own decisions
    // (decisions.csv), so they run in its mode; the tests of ndrd's wider
    // matching set "off" and an empty invariance/probe_radius of their own.
    std::string compat = "datumaro";
    std::optional<int> probe_radius; // written when set (compat off only)
    std::string invariance;          // YAML list text, e.g. "[hflip, rot90]"; empty = not written
};

// <root>/ingest, <root>/output, <root>/index and <root>/ndrd.yaml.
struct Layout {
    fs::path root;
    fs::path ingest;
    fs::path output;
    fs::path index;
    fs::path config;
};

Layout make_layout(const fs::path& root);
// Writes layout.config (creating ingest, not output/index: ndrd must).
void write_config(const Layout& layout, const ConfigOptions& options);
std::string config_text(const Layout& layout, const ConfigOptions& options);

// ------------------------------------------------------------ filesystem

using test::entries_under;
using test::files_under;
bool file_has(const fs::path& p, const std::string& content);

// Writes `content` to `p` through one file descriptor in `parts` write()
// calls with `pause` between them, as a camera or a slow upload does.
void write_in_chunks(const fs::path& p, const std::string& content, int parts = 3,
                     std::chrono::milliseconds pause = std::chrono::milliseconds(50));
// Writes `content` under `staging` then rename()s it to `p` (same file system).
void write_then_rename(const fs::path& staging, const fs::path& p, const std::string& content);

// A loopback TCP port nothing listens on right now (bound to 0, read back,
// closed). Throws std::runtime_error if no socket can be bound.
int free_loopback_port();

// GET `target` from the HTTP server on 127.0.0.1:`port` with HTTP/1.0 (the
// server closes the connection after its answer): the whole response,
// status line and headers included, or "" if nobody answers within 2 s.
std::string http_response(int port, const std::string& target);

// Polls `pred` every `step` until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = std::chrono::seconds(10),
                std::chrono::milliseconds step = std::chrono::milliseconds(20));

// --------------------------------------------------------- reference data

std::string image(const std::string& name); // bytes of reference/images/<name>
std::string undecodable();                  // bytes of reference/images_undecodable/truncated.jpg
std::vector<std::string> sequence();        // sequence.txt

struct Decision {
    int position = 0;
    std::string file;
    std::string key;
    std::string decision; // kept | duplicated
    std::string matched_file;
};
std::vector<Decision> decisions(const std::string& scenario); // in position order
std::optional<Decision> decision_of(const std::string& scenario, const std::string& file);

struct Keys {
    std::string key32;
    std::string key16;
};
std::map<std::string, Keys> reference_keys();
std::map<std::string, std::vector<double>> reference_features();

// ------------------------------------------------------------------ output

struct Summary {
    int kept = -1, duplicated = -1, rejected = -1, skipped = -1;
};
// Parses "K kept, D duplicated, R rejected, S skipped in T s (...)"; nullopt
// unless `text` holds exactly one such line.
std::optional<Summary> parse_summary(const std::string& text);

// One line of ndrd's JSON output (`hash`, `query`, `export --format jsonl`,
// `rebalance`, `release`, `mark-duplicate`). Throws std::runtime_error,
// quoting the line, unless it is exactly one JSON object.
nlohmann::json parse_json_line(std::string_view line);
std::vector<std::string> lines_of(const std::string& text);

// -------------------------------------------------------------- the binary

#ifdef NDRD_BINARY
inline std::string ndrd_binary()
{
    return NDRD_BINARY;
}

inline RunResult run_ndrd(std::vector<std::string> args, std::chrono::milliseconds timeout = std::chrono::seconds(60))
{
    args.insert(args.begin(), ndrd_binary());
    return run_process(args, timeout);
}

// `ndrd once` over `files` (name -> bytes) on a fresh layout at `root`
// written with `options`, then the rows of `ndrd export`.
inline std::vector<test::CsvRow> once_rows(const fs::path& root, const ConfigOptions& options,
                                           const std::vector<std::pair<std::string, std::string>>& files)
{
    const Layout l = make_layout(root);
    write_config(l, options);
    for (const auto& [name, bytes] : files) {
        test::write_file(l.ingest / name, bytes);
    }
    const auto r = run_ndrd({"once", "--config", l.config.string()});
    BOOST_TEST_REQUIRE(r.code() == 0, r.err);
    const auto csv = run_ndrd({"export", "--config", l.config.string()});
    BOOST_TEST_REQUIRE(csv.code() == 0, csv.err);
    return test::parse_csv_rows(csv.out);
}

// A `ndrd run` daemon on a layout; killed when destroyed if still running.
class Daemon {
public:
    // Starts `ndrd run --config <layout.config>` and waits until it logs
    // "ready" (the backlog has been queued and the watches are in place).
    explicit Daemon(const Layout& layout, const std::string& log_name = "daemon") : layout_(layout)
    {
        static int counter = 0;
        const auto base = layout.root / (log_name + "-" + std::to_string(++counter));
        process_ = std::make_unique<Process>(
            std::vector<std::string>{ndrd_binary(), "run", "--config", layout.config.string()},
            fs::path(base.string() + ".out"), fs::path(base.string() + ".err"));
    }
    [[nodiscard]] bool wait_ready(std::chrono::milliseconds timeout = std::chrono::seconds(10))
    {
        return process_->wait_for_stderr(" ready\n", timeout);
    }
    // SIGTERM (or `sig`); the exit status, nullopt if still running after `timeout`.
    std::optional<ExitStatus> stop(int sig = 15, std::chrono::milliseconds timeout = std::chrono::seconds(5))
    {
        process_->send_signal(sig);
        return process_->wait(timeout);
    }
    [[nodiscard]] bool running() { return process_->running(); }
    [[nodiscard]] std::string log() const { return process_->stderr_text(); }
    Process& process() { return *process_; }

private:
    Layout layout_;
    std::unique_ptr<Process> process_;
};
#endif

} // namespace ndrd::e2e
