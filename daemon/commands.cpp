// `ndrd hash`, `status`, `rebalance` and `verify` (see commands.hpp).
#include "daemon/commands.hpp"

#include <cstdio>
#include <iostream>
#include <optional>

#include "daemon/control/control_server.hpp"
#include "daemon/control/query.hpp"
#include "daemon/control/status.hpp"
#include "daemon/ingest/source_file.hpp"
#include "daemon/route/configured.hpp"
#include "daemon/route/match_rule.hpp"
#include "daemon/route/overrides.hpp"
#include "daemon/route/verify.hpp"
#include "daemon/service.hpp"
#include "daemon/telemetry/json.hpp"
#include "daemon/telemetry/logger.hpp"
#include "index/hash/key.hpp"
#include "index/image/decode.hpp"
#include "index/store/hash_index.hpp"

namespace ndrd::daemon {

namespace {

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
    return index::compute_feature(index::decode_image(src.bytes, cfg.max_pixels, reduce_for), grid);
}

} // namespace

int hash_command(const config::Config& cfg, bool use_index, const std::vector<std::string>& files, bool with_feature)
{
    index::Grid grid{cfg.gradient.grid_rows, cfg.gradient.grid_cols};
    const index::Projection projection = use_index ? projection_for(cfg, grid) : configured_projection(cfg);
    index::configure_decoder();
    int status = 0;
    for (const auto& file : files) {
        std::string line = "{\"file\": " + json_string(file);
        try {
            const auto feature = feature_of_file(cfg, grid, file);
            line += ", \"key\": " + json_string(index::compute_key(feature, projection).hex());
            if (feature.degenerate) {
                line += ", \"degenerate\": true";
            }
            if (with_feature) {
                line += ", \"feature\": [";
                char buf[40];
                for (std::size_t i = 0; i < feature.values.size(); ++i) {
                    std::snprintf(buf, sizeof buf, "%s%.17g", i ? ", " : "", feature.values[i]);
                    line += buf;
                }
                line += "]";
            }
        } catch (const index::DecodeError& e) {
            line += ", \"error\": " + json_string(e.what());
            status = 1;
        } catch (const index::FeatureError& e) {
            line += ", \"error\": " + json_string(e.what());
            status = 1;
        }
        std::cout << line << "}\n";
    }
    return status;
}

int status_command(const config::Config& cfg)
{
    std::string json;
    if (auto live = control_call(cfg.control_socket_path(), R"({"command": "status"})")) {
        json = std::move(*live);
    } else {
        const auto idx = index::HashIndex::open_read_only(cfg.index_dir);
        json = status_json(idx, cfg, nullptr);
    }
    std::cout << format_status(parse_json(json));
    return 0;
}

int rebalance_command(const config::Config& cfg)
{
    if (auto live = control_call(cfg.control_socket_path(), R"({"command": "rebalance"})")) {
        std::cout << *live << "\n";
        return parse_json(*live).get<bool>("ok", false) ? 0 : 1;
    }
    // No daemon: do it here, on the index and the files.
    set_log_level(cfg.log_level);
    auto idx = open_index(cfg);
    const Router router(cfg.ingest_dir, cfg.output_dir);
    Relocator relocator(idx, router, areas_of(cfg));
    relocator.recover();
    Rebalancer rebalancer(idx, relocator, rebalance_policy(cfg));
    std::cout << rebalancer.run().json() << "\n";
    return 0;
}

int verify_command(const config::Config& cfg, bool do_repair)
{
    VerifyReport report;
    if (do_repair) {
        if (control_call(cfg.control_socket_path(), R"({"command": "ping"})")) {
            throw std::runtime_error("the daemon is running on this index: stop it before 'ndrd verify --repair'");
        }
        set_log_level(cfg.log_level);
        auto idx = open_index(cfg);
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

} // namespace ndrd::daemon

namespace ndrd::daemon {

int query_command(const config::Config& cfg, const std::vector<std::string>& files)
{
    index::Grid grid{cfg.gradient.grid_rows, cfg.gradient.grid_cols};
    const index::Projection projection = projection_for(cfg, grid);
    index::configure_decoder();
    // Opened on first need: with a daemon running, every answer comes from it.
    std::optional<index::HashIndex> snapshot;
    int status = 0;
    for (const auto& file : files) {
        std::string answer;
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
            answer = JsonObject().add("ok", false).add("error", e.what()).str();
            status = 1;
        } catch (const index::FeatureError& e) {
            answer = JsonObject().add("ok", false).add("error", e.what()).str();
            status = 1;
        }
        // The file name first, then the daemon's (or our) answer.
        std::cout << "{\"file\": " << json_string(file) << ", " << answer.substr(1) << "\n";
    }
    return status;
}

int override_command(const config::Config& cfg, index::Override action, const std::vector<std::string>& targets)
{
    const std::string name(command_name(action));
    const auto print = [](const std::string& target, const std::string& answer) {
        std::cout << "{\"target\": " << json_string(target) << ", " << answer.substr(1) << "\n";
    };
    int status = 0;
    if (control_call(cfg.control_socket_path(), R"({"command": "ping"})")) {
        // Paths are resolved here, on a snapshot: a scan of the index must
        // not hold up the daemon's event loop.
        const auto snapshot = index::HashIndex::open_read_only(cfg.index_dir);
        for (const auto& target : targets) {
            std::string answer;
            try {
                const auto seq = resolve_target(snapshot, cfg.output_dir, target);
                const std::string request =
                    "{\"command\": " + json_string(name) + ", \"item\": " + std::to_string(seq) + "}";
                auto live = control_call(cfg.control_socket_path(), request);
                if (!live)
                    throw std::runtime_error("the daemon stopped answering on " + cfg.control_socket_path().string());
                answer = std::move(*live);
            } catch (const OverrideError& e) {
                answer = JsonObject().add("ok", false).add("error", e.what()).str();
            }
            if (!parse_json(answer).get<bool>("ok", false)) status = 1;
            print(target, answer);
        }
        return status;
    }
    set_log_level(cfg.log_level);
    auto idx = open_index(cfg);
    const Router router(cfg.ingest_dir, cfg.output_dir);
    Relocator relocator(idx, router, areas_of(cfg));
    relocator.recover();
    for (const auto& target : targets) {
        std::string answer;
        try {
            answer = override_json(apply_override(idx, relocator, action, resolve_target(idx, cfg.output_dir, target)));
        } catch (const OverrideError& e) {
            answer = JsonObject().add("ok", false).add("error", e.what()).str();
            status = 1;
        }
        print(target, answer);
    }
    return status;
}

int export_command(const config::Config& cfg, ExportFormat format)
{
    const auto idx = index::HashIndex::open_read_only(cfg.index_dir);
    const auto n = export_items(idx, format, std::cout);
    std::cout.flush();
    log_debug("exported ", n, " item(s)");
    return std::cout ? 0 : 1;
}

} // namespace ndrd::daemon
