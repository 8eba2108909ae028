// The one-shot commands (see commands.hpp).
#include "daemon/commands.hpp"

#include <chrono>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string_view>

#include "daemon/control/control_server.hpp"
#include "daemon/control/query.hpp"
#include "daemon/control/status.hpp"
#include "daemon/ingest/source_file.hpp"
#include "daemon/reload.hpp"
#include "daemon/route/configured.hpp"
#include "daemon/route/match_rule.hpp"
#include "daemon/route/overrides.hpp"
#include "daemon/route/verify.hpp"
#include "daemon/telemetry/logger.hpp"
#include "index/hash/key.hpp"
#include "index/image/decode.hpp"
#include "index/store/hash_index.hpp"

namespace ndrd::daemon {

namespace {

// A replica changes only through the shared stream: a rebalance or an
// override made on the index alone would leave it apart from the others.
void refuse_offline_in_a_cluster(const config::Config& cfg, std::string_view command)
{
    if (cfg.cluster) {
        throw std::runtime_error("in a cluster, 'ndrd " + std::string(command) +
                                 "' goes through this instance's running daemon, which appends it to the shared "
                                 "stream; start it (systemctl start ndrd) and run the command again");
    }
}

// A file named on the command line, read and hashed as the daemon would (same
// limits, same decode_scale). Throws index::DecodeError or
// index::FeatureError with the reason.
index::Feature feature_of_file(const config::Config& cfg, index::Grid grid, const std::string& file)
{
    const SourceFile src = read_source(file, cfg.max_file_size);
    if (src.status != SourceStatus::ok) {
        throw index::DecodeError("unreadable", src.reason);
    }
    const auto reduce_for =
        cfg.decode_scale == config::DecodeScale::automatic ? std::optional(grid.blocks()) : std::nullopt;
    const auto orientation = cfg.exif_orientation == config::ExifOrientation::apply ? index::ExifOrientation::apply
                                                                                    : index::ExifOrientation::ignore;
    return index::compute_feature(index::decode_image(src.bytes, cfg.max_pixels, reduce_for, orientation), grid);
}

// A control request with no fields but its command.
Json request(std::string_view command)
{
    return Json{{"command", command}};
}

// Whether the daemon's (or our) answer says "ok": true.
bool succeeded(const Json& answer)
{
    const auto it = answer.find("ok");
    return it != answer.end() && it->is_boolean() && it->get<bool>();
}

// `answer`'s fields after `name`: `value`, the one line printed per file or target.
Json labelled(std::string_view name, const std::string& value, const Json& answer)
{
    Json line;
    line[name] = value;
    line.update(answer);
    return line;
}

} // namespace

int hash_command(const config::Config& cfg, bool use_index, const std::vector<std::string>& files, bool with_feature)
{
    index::Grid grid{cfg.gradient.grid_rows, cfg.gradient.grid_cols};
    const index::Projection projection = use_index ? projection_for(cfg, grid) : configured_projection(cfg);
    index::configure_decoder();
    int status = 0;
    for (const auto& file : files) {
        Json line;
        line["file"] = file;
        try {
            const auto feature = feature_of_file(cfg, grid, file);
            line["key"] = index::compute_key(feature, projection).hex();
            if (feature.degenerate) {
                line["degenerate"] = true;
            }
            if (with_feature) {
                line["feature"] = feature.values; // the shortest text that reads back as the same double
            }
        } catch (const index::DecodeError& e) {
            line["error"] = e.what();
            status = 1;
        } catch (const index::FeatureError& e) {
            line["error"] = e.what();
            status = 1;
        }
        std::cout << json_text(line) << "\n";
    }
    return status;
}

int status_command(const config::Config& cfg, bool as_json)
{
    Json status;
    if (auto live = control_call(cfg.control_socket_path(), request("status"))) {
        status = std::move(*live);
    } else {
        const auto idx = index::HashIndex::open_read_only(cfg.index_dir);
        status = status_json(idx, cfg, nullptr);
    }
    std::cout << (as_json ? json_text(status) + "\n" : format_status(status));
    return 0;
}

int reload_command(const config::Config& cfg)
{
    const auto socket = cfg.control_socket_path();
    const auto answer = control_call(socket, request("reload"));
    if (!answer) {
        throw NoDaemon("no ndrd daemon answers on " + socket.string() +
                       " (is it running? a changed control_socket takes a restart)");
    }
    const auto file = answer->value("file", std::string("its configuration"));
    if (succeeded(*answer)) {
        const auto& applied = answer->value("applied", Json::array());
        if (applied.empty()) {
            std::cout << "reloaded " << file << ": nothing changed\n";
        } else {
            std::cout << "reloaded " << file << ": " << join_keys(applied.get<std::vector<std::string>>())
                      << (applied.size() == 1 ? " now applies\n" : " now apply\n");
        }
        return 0;
    }
    std::cerr << "reload refused, the running configuration stays: "
              << answer->value("error", std::string("no reason given")) << "\n";
    return 1;
}

int rebalance_command(const config::Config& cfg)
{
    if (auto live = control_call(cfg.control_socket_path(), request("rebalance"))) {
        std::cout << json_text(*live) << "\n";
        return succeeded(*live) ? 0 : 1;
    }
    // No daemon: do it here, on the index and the files.
    refuse_offline_in_a_cluster(cfg, "rebalance");
    set_log_level(cfg.log_level);
    auto idx = open_existing_index(cfg);
    const Router router(cfg.ingest_dir, cfg.output_dir);
    Relocator relocator(idx, router, areas_of(cfg));
    relocator.recover();
    Rebalancer rebalancer(idx, relocator, rebalance_policy(cfg));
    std::cout << rebalancer.run().json() << "\n";
    return 0;
}

int verify_command(const config::Config& cfg, bool do_repair)
{
    if (do_repair) {
        refuse_offline_in_a_cluster(cfg, "verify --repair"); // it would mark items vanished on one replica
    }
    VerifyReport report;
    if (do_repair) {
        if (control_call(cfg.control_socket_path(), request("ping"))) {
            throw std::runtime_error("the daemon is running on this index: stop it before 'ndrd verify --repair'");
        }
        set_log_level(cfg.log_level);
        auto idx = open_existing_index(cfg);
        report = repair(idx, cfg);
    } else {
        const auto idx = index::HashIndex::open_read_only(cfg.index_dir);
        report = verify(idx, cfg);
    }
    for (const auto& p : report.problems) {
        std::cout << p.kind << "\t" << p.path << "\t" << p.detail << "\n";
    }
    std::cout << report.records << " records, " << report.files << " files, " << report.problems.size()
              << " discrepancies\n";
    return report.clean() ? 0 : 1;
}

int query_command(const config::Config& cfg, const std::vector<std::string>& files)
{
    index::Grid grid{cfg.gradient.grid_rows, cfg.gradient.grid_cols};
    const index::Projection projection = projection_for(cfg, grid);
    index::configure_decoder();
    // Opened on first need: with a daemon running, every answer comes from it.
    std::optional<index::HashIndex> snapshot;
    int status = 0;
    for (const auto& file : files) {
        Json answer;
        try {
            // Read as the user who asks, not as the daemon.
            const auto feature = feature_of_file(cfg, grid, file);
            const auto key = index::compute_key(feature, projection);
            if (auto live = control_call(cfg.control_socket_path(), query_request(feature, key))) {
                answer = std::move(*live);
            } else {
                if (!snapshot) snapshot.emplace(index::HashIndex::open_read_only(cfg.index_dir));
                answer = query_json(*snapshot, feature, key, match_rule(cfg));
            }
        } catch (const index::DecodeError& e) {
            answer = error_reply(e.what());
            status = 1;
        } catch (const index::FeatureError& e) {
            answer = error_reply(e.what());
            status = 1;
        }
        std::cout << json_text(labelled("file", file, answer)) << "\n";
    }
    return status;
}

namespace {

// An override through the running daemon. Paths are resolved here, on a
// snapshot: a scan of the index must not hold up the daemon's event loop.
int override_through_daemon(const config::Config& cfg, index::Override action, const std::vector<std::string>& targets)
{
    const auto snapshot = index::HashIndex::open_read_only(cfg.index_dir);
    int status = 0;
    for (const auto& target : targets) {
        Json answer;
        try {
            Json req = request(command_name(action));
            req["item"] = resolve_target(snapshot, cfg.output_dir, target);
            auto live = control_call(cfg.control_socket_path(), req);
            if (!live)
                throw std::runtime_error("the daemon stopped answering on " + cfg.control_socket_path().string());
            answer = std::move(*live);
        } catch (const OverrideError& e) {
            answer = error_reply(e.what());
        }
        if (!succeeded(answer)) status = 1;
        std::cout << json_text(labelled("target", target, answer)) << "\n";
    }
    return status;
}

} // namespace

int override_command(const config::Config& cfg, index::Override action, const std::vector<std::string>& targets)
{
    if (control_call(cfg.control_socket_path(), request("ping"))) {
        return override_through_daemon(cfg, action, targets);
    }
    refuse_offline_in_a_cluster(cfg, command_name(action));
    set_log_level(cfg.log_level);
    auto idx = open_existing_index(cfg);
    const Router router(cfg.ingest_dir, cfg.output_dir);
    Relocator relocator(idx, router, areas_of(cfg));
    relocator.recover();
    int status = 0;
    for (const auto& target : targets) {
        Json answer;
        try {
            answer = parse_json(
                override_json(apply_override(idx, relocator, action, resolve_target(idx, cfg.output_dir, target))));
        } catch (const OverrideError& e) {
            answer = error_reply(e.what());
            status = 1;
        }
        std::cout << json_text(labelled("target", target, answer)) << "\n";
    }
    return status;
}

int snapshot_command(const config::Config& cfg, const std::string& dir)
{
    // The daemon's working directory is not ours: it is given an absolute path.
    const auto target = std::filesystem::absolute(dir).lexically_normal();
    Json req = request("snapshot");
    req["dir"] = target.string();
    Json answer;
    if (auto live = control_call(cfg.control_socket_path(), req)) {
        answer = std::move(*live);
        if (succeeded(answer) && !std::filesystem::exists(target)) {
            // Under systemd the daemon has a /tmp of its own (PrivateTmp):
            // the copy is there, and goes when the service stops.
            answer = error_reply("the daemon made the snapshot at " + target.string() +
                                 " but it is not visible here (the service has its own /tmp): choose a directory "
                                 "under its state directory, e.g. /var/lib/ndrd, or one it may write "
                                 "(ReadWritePaths)");
        }
    } else {
        // No daemon: nothing writes the index, and RocksDB makes a checkpoint
        // of an index opened read-only too.
        const auto idx = index::HashIndex::open_read_only(cfg.index_dir);
        try {
            idx.checkpoint(target);
            answer = Json{{"ok", true},
                          {"dir", target.string()},
                          {"applied_entry", idx.applied_entry()},
                          {"items", idx.next_seq() - 1}};
        } catch (const index::IndexError& e) { // the same answer as the daemon's
            answer = error_reply(e.what());
        }
    }
    std::cout << json_text(answer) << "\n";
    return succeeded(answer) ? 0 : 1;
}

int compact_command(const config::Config& cfg)
{
    Json answer;
    if (auto live = control_call(cfg.control_socket_path(), request("compact"))) {
        answer = std::move(*live);
    } else {
        // No daemon: nothing else holds the index. Compacting changes no
        // record, so a cluster's replica may do it alone.
        set_log_level(cfg.log_level);
        auto idx = open_existing_index(cfg);
        const auto started = std::chrono::steady_clock::now();
        const std::uint64_t before = idx.disk_bytes();
        (void)idx.compact();
        answer = Json{{"ok", true},
                      {"dir", cfg.index_dir.string()},
                      {"bytes_before", before},
                      {"bytes_after", idx.disk_bytes()},
                      {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()}};
    }
    std::cout << json_text(answer) << "\n";
    return succeeded(answer) ? 0 : 1;
}

int export_command(const config::Config& cfg, ExportFormat format)
{
    const auto idx = index::HashIndex::open_read_only(cfg.index_dir);
    const auto n = export_items(idx, format, std::cout);
    std::cout.flush();
    log_debug("exported ", n, " item(s)");
    return std::cout ? 0 : 1;
}

int report_command(const config::Config& cfg, const ReportRequest& request)
{
    const ReportSummary r = write_report(cfg, request);
    const auto index_page = std::filesystem::absolute(request.out / "index.html");
    log_info("report: ", r.groups, " group(s) with ", r.duplicates, " duplicate(s), ", r.removed, " removed, ",
             r.rejected, " rejected; thumbnails ", r.thumbnails_made, " made, ", r.thumbnails_cached, " cached, ",
             r.placeholders, " placeholder(s); in ", r.seconds, " s: ", index_page.string());
    const Json answer{
        {"ok", true},
        {"dir", std::filesystem::absolute(request.out).string()},
        {"index", index_page.string()},
        {"items", r.items},
        {"groups", r.groups},
        {"duplicates", r.duplicates},
        {"removed", r.removed},
        {"rejected", r.rejected},
        {"pages", Json{{"groups", r.pages.groups}, {"removed", r.pages.removed}, {"rejected", r.pages.rejected}}},
        {"thumbnails",
         Json{{"made", r.thumbnails_made}, {"cached", r.thumbnails_cached}, {"placeholders", r.placeholders}}},
        {"seconds", r.seconds}};
    std::cout << json_text(answer) << "\n";
    std::cout.flush();
    return std::cout ? 0 : 1;
}

} // namespace ndrd::daemon
