// The one-shot commands beside the daemon: `hash`, `status`, `reload`,
// `rebalance`, `verify`, `query`, `export`, `report`, `snapshot` and `compact`.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "daemon/control/exporter.hpp"
#include "daemon/report/report.hpp"
#include "index/hash/record.hpp"

namespace ndrd::daemon {

// A command that only the running daemon can answer found none on its
// control socket (exit code 69).
class NoDaemon : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// One JSON object per file on stdout; returns 1 if any file failed.
int hash_command(const config::Config& cfg, bool use_index, const std::vector<std::string>& files, bool with_feature);

// Status on stdout, human-readable or as one JSON object: from the running
// daemon over the control socket when there is one, else from the index
// opened read-only.
int status_command(const config::Config& cfg, bool as_json);

// Asks the running daemon to re-read its configuration file and prints what
// it applied, or why it refused. Returns 0 applied (or unchanged), 1 refused;
// throws NoDaemon when none answers.
int reload_command(const config::Config& cfg);

// Asks the running daemon to rebalance now, or rebalances the index and the
// files itself when no daemon runs. Prints the JSON report.
int rebalance_command(const config::Config& cfg);

// One JSON decision per image, asked of the running daemon or, with none,
// of the index read-only. Returns 1 if any image could not be hashed.
int query_command(const config::Config& cfg, const std::vector<std::string>& files);

// `ndrd release` / `ndrd mark-duplicate`: through the running daemon, or on
// the index and files directly when none runs. One JSON line per target;
// returns 1 if any target failed.
int override_command(const config::Config& cfg, index::Override action, const std::vector<std::string>& targets);

// The index as CSV or JSON lines on stdout.
int export_command(const config::Config& cfg, ExportFormat format);

// The review site into request.out; prints {"ok", "dir", "index", "items",
// "groups", "duplicates", "removed", "rejected", "pages", "thumbnails",
// "seconds"} and logs the same in a line.
int report_command(const config::Config& cfg, const ReportRequest& request);

// A consistent copy of the index at `dir` (a new directory), to start a new
// replica from or to keep as a backup: made by the running daemon, which
// holds the index, or from the index opened read-only when none runs.
// Prints {"ok", "dir", "applied_entry", "items"}; returns 1 if it failed.
int snapshot_command(const config::Config& cfg, const std::string& dir);

// Gives the space of overwritten records and of the features retention
// dropped back to the file system: done by the running daemon (on a thread of
// its own; the command waits), or on the index directly when none runs.
// Prints {"ok", "dir", "bytes_before", "bytes_after", "seconds"}; returns 1
// if it failed.
int compact_command(const config::Config& cfg);

// Checks that the index and the disk agree; prints every discrepancy.
// Returns 0 when clean, 1 otherwise; throws when it cannot run (no index,
// `repair` with the daemon running).
int verify_command(const config::Config& cfg, bool repair);

} // namespace ndrd::daemon
