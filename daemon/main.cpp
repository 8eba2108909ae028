// ndrd's command line: run, once, check, status and the other commands, one
// table from which both dispatch and --help come. Maps failures to exit codes
// (64 usage, 69 no daemon to ask, 78 configuration, 1 anything else) with a
// message naming the cause.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include <boost/program_options.hpp>

#include "config/config.hpp"
#include "config/locations.hpp"
#include "daemon/check.hpp"
#include "daemon/cluster/jetstream_stream.hpp"
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

constexpr int exit_usage = 64;        // EX_USAGE
constexpr int exit_unavailable = 69;  // EX_UNAVAILABLE: no running daemon to ask
constexpr int exit_config = 78;       // EX_CONFIG
constexpr int exit_verify_failed = 2; // verify could not run (1 means it found discrepancies)

struct Usage : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A command's parsed arguments, and what every command asks of them.
struct Arguments {
    std::string command;
    po::variables_map vm;

    // --config, else --instance NAME (/etc/ndrd/NAME.yaml), else
    // $NDRD_CONFIG, else /etc/ndrd/ndrd.yaml.
    [[nodiscard]] std::string config_path() const
    {
        if (vm.count("config") && vm.count("instance")) {
            throw Usage("ndrd " + command + ": --config and --instance name the same thing; give one");
        }
        if (vm.count("config")) return vm["config"].as<std::string>();
        if (vm.count("instance")) return config::instance_config_path(vm["instance"].as<std::string>()).string();
        return config::default_config_path().string();
    }
    // Whether the command line named a configuration (hash uses none otherwise).
    [[nodiscard]] bool config_named() const { return vm.count("config") > 0 || vm.count("instance") > 0; }
    [[nodiscard]] config::Config config() const { return config::load_config(config_path()); }
    // The positional arguments stored under `key`; a usage error naming
    // `what` when there are none.
    [[nodiscard]] std::vector<std::string> operands(const char* key, std::string_view what) const
    {
        if (!vm.count(key)) {
            throw Usage("ndrd " + command + ": no " + std::string(what) + " given (see 'ndrd " + command + " --help')");
        }
        return vm[key].as<std::vector<std::string>>();
    }
};

struct Command {
    std::string name;
    std::string synopsis;    // what follows "ndrd <name>" in the usage lines
    std::string summary;     // its line in `ndrd --help`
    std::string description; // what `ndrd <name> --help` says below the usage line
    // Options besides --config, --instance and --help, and positional arguments (none when empty).
    std::function<void(po::options_description&, po::positional_options_description&)> options;
    std::function<int(const Arguments&)> run;
};

// Positional arguments, all under `key`.
auto positional(const char* key, const char* help)
{
    return [key, help](po::options_description& desc, po::positional_options_description& pos) {
        desc.add_options()(key, po::value<std::vector<std::string>>()->multitoken(), help);
        pos.add(key, -1);
    };
}

Command service_entry(daemon::ServiceMode mode)
{
    const bool daemon_mode = mode == daemon::ServiceMode::run;
    return {daemon_mode ? "run" : "once",
            "[-c FILE | -i NAME]",
            daemon_mode ? "watch the ingest directory and route every new image (foreground)"
                        : "process what is in the ingest directory now, then exit",
            daemon_mode ? "Processes the backlog, then watches the ingest directory until SIGTERM/SIGINT."
                        : "Processes every file now in the ingest directory, prints a summary, exits.",
            {},
            [mode](const Arguments& a) {
                return daemon::run_service(a.config(), mode, a.config_path());
            }};
}

Command hash_entry()
{
    return {"hash",
            "[-c FILE | -i NAME] [--feature] FILE...",
            "print each file's key (and feature) as one JSON object per line",
            "Prints {\"file\", \"key\"[, \"feature\"]} per file, one JSON object per line. The projection is the one\n"
            "stored in the configuration's index if it exists, else the configuration's (gradient.projection, or\n"
            "generated from seed). Without --config or --instance the built-in defaults are used and no index is\n"
            "read.\n"
            "Files that cannot be hashed print {\"file\", \"error\"}; the exit code is then 1.",
            [](po::options_description& desc, po::positional_options_description& pos) {
                desc.add_options()("feature", po::bool_switch(), "include the 768-d feature");
                positional("file", "image files")(desc, pos);
            },
            [](const Arguments& a) {
                const auto files = a.operands("file", "FILE"); // before the configuration, which is optional
                const bool use_index = a.config_named();
                const config::Config cfg = use_index ? a.config() : config::Config{};
                return daemon::hash_command(cfg, use_index, files, a.vm["feature"].as<bool>());
            }};
}

Command override_entry(index::Override action)
{
    const std::string name(daemon::command_name(action));
    const bool release = action == index::Override::released;
    return {name,
            "[-c FILE | -i NAME] ITEM|FILE...",
            release ? "keep these duplicates after all (remembered: later images match them)"
                    : "treat these kept images as duplicates (remembered)",
            std::string(
                release ? "Moves each duplicate back to the working subset as kept, and remembers it: it stays kept\n"
                          "through restarts and rebalances, and later images are compared with it.\n"
                        : "Moves each kept image to the duplicated subset, and remembers it: it stays a duplicate\n"
                          "through restarts and rebalances, and is no longer a reference for later images.\n") +
                "ITEM is an item number (see 'ndrd export'); FILE a file in the output tree. Goes through the\n"
                "running daemon, or works on the index and files directly when none runs. Prints one JSON object\n"
                "per target; the exit code is 1 if any failed.",
            positional("target", "items or files"),
            [action](const Arguments& a) {
                const auto cfg = a.config();
                return daemon::override_command(cfg, action, a.operands("target", "ITEM or FILE"));
            }};
}

Command export_entry()
{
    return {"export",
            "[-c FILE | -i NAME] [--format csv|jsonl]",
            "every item with its subset, key, decision and similarity, on stdout",
            "Writes every item of the index to stdout in ingest order: item, source, location, subset, decision,\n"
            "state, key, reason, matched_item, best_similarity, match, override, size_bytes, ingested_ms, routed_ms.\n"
            "Reads a consistent snapshot of the index, so the daemon may keep running.",
            [](po::options_description& desc, po::positional_options_description&) {
                desc.add_options()("format", po::value<std::string>()->default_value("csv"), "csv or jsonl");
            },
            [](const Arguments& a) {
                const auto cfg = a.config();
                daemon::ExportFormat format{};
                try {
                    format = daemon::parse_export_format(a.vm["format"].as<std::string>());
                } catch (const std::invalid_argument& e) {
                    throw Usage(std::string("ndrd export: ") + e.what());
                }
                return daemon::export_command(cfg, format);
            }};
}

// A word as a POSIX shell reads it back: quoted when it holds anything but
// plain characters (a configuration path with a space).
std::string shell_word(const std::string& w)
{
    if (!w.empty() && w.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._-+=:,@") ==
                          std::string::npos) {
        return w;
    }
    std::string out = "'";
    for (const char c : w) {
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return out + "'";
}

// How the report's pages spell `ndrd release` for this configuration: the
// way it was named here, with a path made absolute.
std::string release_prefix(const Arguments& a)
{
    if (a.vm.count("instance")) return "ndrd release -i " + shell_word(a.vm["instance"].as<std::string>());
    if (a.vm.count("config") || std::getenv("NDRD_CONFIG") != nullptr) {
        return "ndrd release -c " + shell_word(std::filesystem::absolute(a.config_path()).string());
    }
    return "ndrd release";
}

Command report_entry()
{
    return {"report",
            "[-c FILE | -i NAME] --out DIR [--since TIME] [--limit N]",
            "write a review site of duplicate groups, removed and rejected images into DIR",
            "Writes a static, self-contained review site into DIR (open DIR/index.html in a browser; it needs no\n"
            "network): an overview with counts and histograms of best similarity around sim_threshold, the\n"
            "duplicate groups as thumbnails (borderline first) with the 'ndrd release' command for each duplicate,\n"
            "the images removed by rebalancing or by an operator, and the rejected files with their reasons.\n"
            "Thumbnails are cached in DIR/thumbs, so a second report only makes the new ones. Reads a consistent\n"
            "snapshot of the index, so the daemon may keep running. Prints a JSON summary; exit code 1 on failure.\n"
            "TIME: a UTC date or time (2026-12-01, 2026-12-01T08:30) or a duration back from now (36h, 7d).",
            [](po::options_description& desc, po::positional_options_description&) {
                desc.add_options()("out", po::value<std::string>(), "the directory to write the site into");
                desc.add_options()("since", po::value<std::string>(), "only items that arrived since TIME");
                desc.add_options()("limit", po::value<std::size_t>(),
                                   "at most N groups (the most borderline), N removed and N rejected items");
            },
            [](const Arguments& a) {
                if (!a.vm.count("out")) throw Usage("ndrd report: --out DIR is required (see 'ndrd report --help')");
                daemon::ReportRequest request;
                request.out = a.vm["out"].as<std::string>();
                if (a.vm.count("since")) request.since = a.vm["since"].as<std::string>();
                if (a.vm.count("limit")) request.limit = a.vm["limit"].as<std::size_t>();
                const auto cfg = a.config();
                request.config_file = std::filesystem::absolute(a.config_path()).string();
                request.release_prefix = release_prefix(a);
                request.progress = ::isatty(STDERR_FILENO) != 0;
                try {
                    return daemon::report_command(cfg, request);
                } catch (const std::invalid_argument& e) {
                    throw Usage(std::string("ndrd report: ") + e.what());
                }
            }};
}

Command check_entry()
{
    return {"check",
            "[-c FILE | -i NAME] [--print]",
            "check the configuration, directories, permissions and index (like nginx -t)",
            "Loads and validates the configuration, then checks that ingest_dir, output_dir and index_dir exist\n"
            "(or can be created) and are writable by the user the service runs as, that the index (if any) agrees\n"
            "with the parameters and, for a packaged unit's configuration (" +
                std::string(config::kConfigDir) +
                "/*.yaml), that paths outside the unit's state\n"
                "directory are granted by its ReadWritePaths=. Prints one line per check (ok, note, problem).\n"
                "Exit code 0 when all is well, 1 when a problem was found, 78 when the configuration is invalid.",
            [](po::options_description& desc, po::positional_options_description&) {
                desc.add_options()("print", po::bool_switch(),
                                   "then print the effective configuration (every key, paths resolved) as YAML");
            },
            [](const Arguments& a) {
                return daemon::check_command(a.config_path(), a.vm["print"].as<bool>());
            }};
}

Command reload_entry()
{
    return {"reload",
            "[-c FILE | -i NAME]",
            "make the running daemon re-read its configuration, and say what changed",
            "Asks the running daemon, over its control socket, to re-read the configuration file it was started\n"
            "with, and prints what now applies, what would need a restart (the reload is then refused whole and\n"
            "the running configuration stays) or why the file was refused. Exit code 0 when applied (or nothing\n"
            "changed), 1 when refused, 69 when no daemon runs, 78 when the file is invalid (the daemon is then not\n"
            "asked). The systemd units' ExecReload= run it, so 'systemctl reload' fails when a reload does.",
            {},
            [](const Arguments& a) {
                return daemon::reload_command(a.config());
            }};
}

// Every command, in the order `ndrd --help` lists them.
const std::vector<Command>& commands()
{
    static const std::vector<Command> table = {
        service_entry(daemon::ServiceMode::run),
        service_entry(daemon::ServiceMode::once),
        hash_entry(),
        check_entry(),
        reload_entry(),
        {"status", "[-c FILE | -i NAME] [--json]",
         "counts per subset and the index's parameters (live if the daemon runs)",
         "Shows the index's parameters and counts per subset: live from the daemon when it runs,\n"
         "else read from the index. --json prints the same as one JSON object.",
         [](po::options_description& desc, po::positional_options_description&) {
             desc.add_options()("json", po::bool_switch(), "one JSON object instead of text");
         },
         [](const Arguments& a) {
             return daemon::status_command(a.config(), a.vm["json"].as<bool>());
         }},
        {"rebalance",
         "[-c FILE | -i NAME]",
         "bring the working subset to num_cut now (through the daemon if it runs)",
         "Rebalances the working subset to num_cut with the configured policies and prints what moved as JSON.\n"
         "Asks the running daemon over its control socket; with no daemon running, works on the index directly.",
         {},
         [](const Arguments& a) {
             return daemon::rebalance_command(a.config());
         }},
        {"verify", "[-c FILE | -i NAME] [--repair]", "check that the index and the files on disk agree",
         "Checks that every index record names an existing file, no two records name the same file, every file in\n"
         "the subset directories is recorded, and no move is half-done. Prints one line per discrepancy\n"
         "(kind, path, detail). Exit code 0 when clean, 1 when it found discrepancies, 2 when it could not run\n"
         "(no index, the daemon running with --repair, ...). Read-only unless --repair.",
         [](po::options_description& desc, po::positional_options_description&) {
             desc.add_options()("repair", po::bool_switch(),
                                "finish pending moves and mark records whose file is gone as vanished "
                                "(untracked files are only reported); needs the daemon stopped");
         },
         [](const Arguments& a) {
             const auto cfg = a.config(); // a configuration error stays exit 78
             try {
                 return daemon::verify_command(cfg, a.vm["repair"].as<bool>());
             } catch (const std::exception& e) {
                 daemon::log_error("ndrd verify could not run: ", e.what());
                 return exit_verify_failed;
             }
         }},
        {"query", "[-c FILE | -i NAME] IMAGE...", "would these images be kept or duplicates? (nothing is ingested)",
         "Hashes each image and applies the decision rule against the index, without ingesting anything: prints\n"
         "{\"file\", \"key\", \"decision\": \"kept\"|\"duplicated\", \"similarity\", \"matched_variant\",\n"
         "\"matched_item\", \"matched_source\", \"matched_location\"} per image, one JSON object per line. Asks the\n"
         "running daemon (its live index and threshold); with none running, reads the index. Images that cannot be\n"
         "hashed print {\"file\", \"error\"}; the exit code is then 1.",
         positional("file", "image files"),
         [](const Arguments& a) {
             const auto cfg = a.config();
             return daemon::query_command(cfg, a.operands("file", "IMAGE"));
         }},
        override_entry(index::Override::released),
        override_entry(index::Override::marked_duplicate),
        export_entry(),
        report_entry(),
        {"snapshot", "[-c FILE | -i NAME] DIR",
         "a consistent copy of the index at DIR (a new replica's start, a backup)",
         "Makes DIR (a new directory; its parent must exist) a consistent copy of the index, which a new instance\n"
         "can start from, replaying the rest of the decision stream, or which serves as a backup. The running\n"
         "daemon makes it (so DIR must be a directory it may write); with none running, it is made from the index\n"
         "read-only. Prints {\"ok\", \"dir\", \"applied_entry\", \"items\"}; the exit code is 1 if it failed.",
         positional("dir", "the new directory"),
         [](const Arguments& a) {
             const auto dirs = a.operands("dir", "DIR");
             if (dirs.size() != 1) {
                 throw Usage("ndrd snapshot: one DIR, not " + std::to_string(dirs.size()) +
                             " (see 'ndrd snapshot --help')");
             }
             return daemon::snapshot_command(a.config(), dirs.front());
         }},
        {"compact",
         "[-c FILE | -i NAME]",
         "give the index's unused space back to the disk (after retention)",
         "Rewrites the index's tables so that the space of records rewritten since, and of the features retention\n"
         "dropped, goes back to the file system. The running daemon does it (on a thread of its own: it goes on\n"
         "routing files meanwhile) and the command waits; with none running, it works on the index directly.\n"
         "The daemon also compacts by itself after retention has expired 1000 items. Prints {\"ok\", \"dir\",\n"
         "\"bytes_before\", \"bytes_after\", \"seconds\"}; the exit code is 1 if it failed.",
         {},
         [](const Arguments& a) {
             return daemon::compact_command(a.config());
         }},
    };
    return table;
}

// `ndrd --help`, from the table: each command with its synopsis and summary.
std::string overview()
{
    constexpr std::size_t synopsis_column = 11;
    constexpr std::size_t summary_column = 36;
    std::string out = "ndrd - near-duplicate removal daemon (Datumaro NDR, gradient algorithm)\n\n"
                      "Usage: ndrd <command> [options]\n\nCommands:\n";
    for (const auto& c : commands()) {
        std::string line = "  " + c.name;
        line.resize(std::max(line.size() + 1, synopsis_column), ' ');
        line += c.synopsis;
        if (line.size() < summary_column) {
            line.resize(summary_column, ' ');
        } else {
            line += "\n" + std::string(summary_column, ' ');
        }
        out += line + c.summary + "\n";
    }
    return out + "\nThe configuration: -c FILE, else -i NAME (" + std::string(config::kConfigDir) +
           "/NAME.yaml), else $NDRD_CONFIG, else " + std::string(config::kConfigDir) +
           "/ndrd.yaml.\n"
           "Run 'ndrd <command> --help' for a command's options, 'man ndrd' for the whole manual.\n"
           "Exit codes: 0 success, 1 failure (see each command), 2 verify could not run, 64 usage error,\n"
           "69 no running daemon (reload), 78 configuration error.\n";
}

int dispatch(const std::string& name, const std::vector<std::string>& args)
{
    const auto& table = commands();
    const auto command = std::ranges::find(table, name, &Command::name);
    if (command == table.end()) {
        throw Usage("ndrd: unknown command '" + name + "'\n\n" + overview());
    }
    po::options_description desc("Usage: ndrd " + name + " " + command->synopsis + "\n\n" + command->description +
                                 "\n\nOptions");
    desc.add_options()("config,c", po::value<std::string>(), "configuration file (YAML)");
    desc.add_options()("instance,i", po::value<std::string>(),
                       ("the instance's configuration, " + std::string(config::kConfigDir) + "/NAME.yaml").c_str());
    po::positional_options_description pos;
    if (command->options) command->options(desc, pos);
    desc.add_options()("help,h", "show this help");
    Arguments arguments{name, {}};
    try {
        po::store(po::command_line_parser(args).options(desc).positional(pos).run(), arguments.vm);
        po::notify(arguments.vm);
    } catch (const po::error& e) {
        throw Usage("ndrd " + name + ": " + e.what() + " (see 'ndrd " + name + " --help')");
    }
    if (arguments.vm.count("help")) {
        std::cout << desc << "\n";
        return 0;
    }
    return command->run(arguments);
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
        std::cerr << overview();
        return exit_usage;
    }
    if (all[0] == "--help" || all[0] == "-h" || all[0] == "help") {
        std::cout << overview();
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
    } catch (const daemon::NoDaemon& e) {
        daemon::log_error(e.what());
        return exit_unavailable;
    } catch (const config::ConfigError& e) {
        daemon::log_error("configuration error: ", e.what());
        return exit_config;
    } catch (const index::IndexMismatch& e) {
        daemon::log_error("configuration error: ", e.what());
        return exit_config;
    } catch (const daemon::StreamMismatch& e) {
        daemon::log_error("configuration error: ", e.what());
        return exit_config;
    } catch (const daemon::StreamDiverged& e) {
        // Restarting changes nothing: the operator must act (see the message).
        daemon::log_error("this replica cannot go on: ", e.what());
        return exit_config;
    } catch (const std::exception& e) {
        daemon::log_error(e.what());
        return 1;
    }
}
