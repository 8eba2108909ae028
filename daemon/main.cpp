// ndrd's command line: run, once, hash, status. Maps failures to exit codes
// (64 usage, 78 configuration, 1 anything else) with a message naming the cause.
#include <sys/resource.h>

#include <cstdio>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "config/config.hpp"
#include "daemon/commands.hpp"
#include "daemon/control/exporter.hpp"
#include "daemon/route/overrides.hpp"
#include "daemon/service.hpp"
#include "daemon/telemetry/logger.hpp"
#include "index/store/hash_index.hpp"
#include "index/store/storage_log.hpp"

namespace po = boost::program_options;
using namespace ndrd;

namespace {

constexpr int exit_usage = 64;  // EX_USAGE
constexpr int exit_config = 78; // EX_CONFIG

constexpr const char* overview = R"(ndrd - near-duplicate removal daemon (Datumaro NDR, gradient algorithm)

Usage: ndrd <command> [options]

Commands:
  run      --config FILE            watch the ingest directory and route every new image (foreground)
  once     --config FILE            process what is in the ingest directory now, then exit
  hash     [--config FILE] [--feature] FILE...
                                    print each file's key (and feature) as one JSON object per line
  status   --config FILE            counts per subset and the index's parameters (live if the daemon runs)
  rebalance --config FILE           bring the working subset to num_cut now (through the daemon if it runs)
  verify   --config FILE [--repair] check that the index and the files on disk agree
  query    --config FILE FILE...    would these images be kept or duplicates? (nothing is ingested)
  release  --config FILE ITEM|FILE...
                                    keep these duplicates after all (remembered: later images match them)
  mark-duplicate --config FILE ITEM|FILE...
                                    treat these kept images as duplicates (remembered)
  export   --config FILE [--format csv|jsonl]
                                    every item with its subset, key, decision and similarity, on stdout

Run 'ndrd <command> --help' for a command's options.
Exit codes: 0 success, 1 runtime failure, 64 usage error, 78 configuration error.
)";

struct Usage : std::runtime_error {
    using std::runtime_error::runtime_error;
};

po::variables_map parse(const std::string& command, po::options_description& desc, const std::vector<std::string>& args,
                        po::positional_options_description* pos = nullptr)
{
    desc.add_options()("help,h", "show this help");
    po::variables_map vm;
    try {
        auto parser = po::command_line_parser(args).options(desc);
        if (pos) parser.positional(*pos);
        po::store(parser.run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        throw Usage("ndrd " + command + ": " + e.what() + " (see 'ndrd " + command + " --help')");
    }
    return vm;
}

std::string require_config(const po::variables_map& vm, const std::string& command)
{
    if (!vm.count("config")) {
        throw Usage("ndrd " + command + ": --config FILE is required (see 'ndrd " + command + " --help')");
    }
    return vm["config"].as<std::string>();
}

// A command whose options are --config FILE plus `extra`: parses, answers
// --help, loads the configuration and hands it to `run`.
int config_command(const std::string& command, const std::string& usage, const std::vector<std::string>& args,
                   const std::function<void(po::options_description&)>& extra,
                   const std::function<int(const config::Config&, const po::variables_map&)>& run,
                   po::positional_options_description* pos = nullptr)
{
    po::options_description desc(usage + "\n\nOptions");
    desc.add_options()("config,c", po::value<std::string>(), "configuration file (YAML)");
    if (extra) extra(desc);
    const auto vm = parse(command, desc, args, pos);
    if (vm.count("help")) {
        std::cout << desc << "\n";
        return 0;
    }
    return run(config::load_config(require_config(vm, command)), vm);
}

int dispatch(const std::string& command, const std::vector<std::string>& args)
{
    if (command == "run" || command == "once") {
        const bool daemon_mode = command == "run";
        return config_command(
            command,
            "Usage: ndrd " + command + " --config FILE\n\n" +
                (daemon_mode ? "Processes the backlog, then watches the ingest directory until SIGTERM/SIGINT."
                             : "Processes every file now in the ingest directory, prints a summary, exits."),
            args, {}, [&](const config::Config& cfg, const po::variables_map& vm) {
                return daemon::run_service(cfg, daemon_mode ? daemon::ServiceMode::run : daemon::ServiceMode::once,
                                           vm["config"].as<std::string>());
            });
    }
    if (command == "hash") {
        po::options_description desc(
            "Usage: ndrd hash [--config FILE] [--feature] FILE...\n\n"
            "Prints {\"file\", \"key\"[, \"feature\"]} per file, one JSON object per line. The projection is the one\n"
            "stored in the configuration's index if it exists, else the configuration's (gradient.projection, or\n"
            "generated from seed). Without --config the built-in defaults are used and no index is read.\n"
            "Files that cannot be hashed print {\"file\", \"error\"}; the exit code is then 1.\n\nOptions");
        desc.add_options()("config,c", po::value<std::string>(),
                           "configuration file (YAML)")("feature", po::bool_switch(), "include the 768-d feature")(
            "file", po::value<std::vector<std::string>>()->multitoken(), "image files");
        po::positional_options_description pos;
        pos.add("file", -1);
        const auto vm = parse(command, desc, args, &pos);
        if (vm.count("help")) {
            std::cout << desc << "\n";
            return 0;
        }
        if (!vm.count("file")) {
            throw Usage("ndrd hash: no FILE given (see 'ndrd hash --help')");
        }
        config::Config cfg;
        bool use_index = false;
        if (vm.count("config")) {
            cfg = config::load_config(vm["config"].as<std::string>());
            use_index = true;
        }
        return daemon::hash_command(cfg, use_index, vm["file"].as<std::vector<std::string>>(),
                                    vm["feature"].as<bool>());
    }
    if (command == "status") {
        return config_command(
            command,
            "Usage: ndrd status --config FILE\n\n"
            "Shows the index's parameters and counts per subset: live from the daemon when it "
            "runs,\nelse read from the index.",
            args, {}, [](const config::Config& cfg, const po::variables_map&) { return daemon::status_command(cfg); });
    }
    if (command == "rebalance") {
        return config_command(
            command,
            "Usage: ndrd rebalance --config FILE\n\n"
            "Rebalances the working subset to num_cut with the configured policies and prints what moved as JSON.\n"
            "Asks the running daemon over its control socket; with no daemon running, works on the index directly.",
            args, {},
            [](const config::Config& cfg, const po::variables_map&) { return daemon::rebalance_command(cfg); });
    }
    if (command == "verify") {
        return config_command(
            command,
            "Usage: ndrd verify --config FILE [--repair]\n\n"
            "Checks that every index record names an existing file, no two records name the same file, every file in\n"
            "the subset directories is recorded, and no move is half-done. Prints one line per discrepancy\n"
            "(kind, path, detail); exit code 0 when clean, 1 otherwise. Read-only unless --repair.",
            args,
            [](po::options_description& desc) {
                desc.add_options()("repair", po::bool_switch(),
                                   "finish pending moves and mark records whose file is gone as vanished "
                                   "(untracked files are only reported); needs the daemon stopped");
            },
            [](const config::Config& cfg, const po::variables_map& vm) {
                return daemon::verify_command(cfg, vm["repair"].as<bool>());
            });
    }
    if (command == "query") {
        po::positional_options_description pos;
        pos.add("file", -1);
        return config_command(
            command,
            "Usage: ndrd query --config FILE IMAGE...\n\n"
            "Hashes each image and applies the decision rule against the index, without ingesting anything: prints\n"
            "{\"file\", \"key\", \"decision\": \"kept\"|\"duplicated\", \"similarity\", \"matched_item\",\n"
            "\"matched_source\", \"matched_location\"} per image, one JSON object per line. Asks the running daemon\n"
            "(its live index and threshold); with none running, reads the index. Images that cannot be hashed print\n"
            "{\"file\", \"error\"}; the exit code is then 1.",
            args,
            [](po::options_description& desc) {
                desc.add_options()("file", po::value<std::vector<std::string>>()->multitoken(), "image files");
            },
            [](const config::Config& cfg, const po::variables_map& vm) {
                if (!vm.count("file")) {
                    throw Usage("ndrd query: no IMAGE given (see 'ndrd query --help')");
                }
                return daemon::query_command(cfg, vm["file"].as<std::vector<std::string>>());
            },
            &pos);
    }
    if (const auto action = daemon::parse_override_action(command)) {
        po::positional_options_description pos;
        pos.add("target", -1);
        const bool release = *action == index::Override::released;
        return config_command(
            command,
            std::string("Usage: ndrd ") + command + " --config FILE ITEM|FILE...\n\n" +
                (release ? "Moves each duplicate back to the working subset as kept, and remembers it: it stays kept\n"
                           "through restarts and rebalances, and later images are compared with it.\n"
                         : "Moves each kept image to the duplicated subset, and remembers it: it stays a duplicate\n"
                           "through restarts and rebalances, and is no longer a reference for later images.\n") +
                "ITEM is an item number (see 'ndrd export'); FILE a file in the output tree. Goes through the\n"
                "running daemon, or works on the index and files directly when none runs. Prints one JSON object\n"
                "per target; the exit code is 1 if any failed.",
            args,
            [](po::options_description& desc) {
                desc.add_options()("target", po::value<std::vector<std::string>>()->multitoken(), "items or files");
            },
            [action, command](const config::Config& cfg, const po::variables_map& vm) {
                if (!vm.count("target")) {
                    throw Usage("ndrd " + command + ": no ITEM or FILE given (see 'ndrd " + command + " --help')");
                }
                return daemon::override_command(cfg, *action, vm["target"].as<std::vector<std::string>>());
            },
            &pos);
    }
    if (command == "export") {
        return config_command(
            command,
            "Usage: ndrd export --config FILE [--format csv|jsonl]\n\n"
            "Writes every item of the index to stdout in ingest order: item, source, location, subset, decision,\n"
            "state, key, reason, matched_item, best_similarity, match, override, size_bytes, ingested_ms, "
            "routed_ms.\nReads a "
            "consistent snapshot of the index, so the daemon may keep running.",
            args,
            [](po::options_description& desc) {
                desc.add_options()("format", po::value<std::string>()->default_value("csv"), "csv or jsonl");
            },
            [](const config::Config& cfg, const po::variables_map& vm) {
                try {
                    return daemon::export_command(cfg, daemon::parse_export_format(vm["format"].as<std::string>()));
                } catch (const std::invalid_argument& e) {
                    throw Usage(std::string("ndrd export: ") + e.what());
                }
            });
    }
    throw Usage("ndrd: unknown command '" + command + "'\n\n" + overview);
}

// The index keeps a descriptor per table file (a large index has thousands):
// take the hard limit the service manager grants, as systemd advises
// programs that need many descriptors to do themselves.
void raise_open_file_limit()
{
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)::setrlimit(RLIMIT_NOFILE, &rl); // best effort: the index adapts to whatever limit holds
    }
}

} // namespace

int main(int argc, char** argv)
{
    const std::vector<std::string> all(argv + 1, argv + argc);
    if (all.empty()) {
        std::cerr << overview;
        return exit_usage;
    }
    if (all[0] == "--help" || all[0] == "-h" || all[0] == "help") {
        std::cout << overview;
        return 0;
    }
    if (all[0] == "--version") {
        std::cout << "ndrd " << NDRD_VERSION << "\n";
        return 0;
    }
    index::set_storage_log([](std::string_view line) { daemon::log_warning(line); });
    raise_open_file_limit();
    try {
        return dispatch(all[0], {all.begin() + 1, all.end()});
    } catch (const Usage& e) {
        std::cerr << e.what() << "\n";
        return exit_usage;
    } catch (const config::ConfigError& e) {
        daemon::log_error("configuration error: ", e.what());
        return exit_config;
    } catch (const index::IndexMismatch& e) {
        daemon::log_error("configuration error: ", e.what());
        return exit_config;
    } catch (const std::exception& e) {
        daemon::log_error(e.what());
        return 1;
    }
}
