// `ndrd hash` and `ndrd status` (see commands.hpp).
#include "daemon/commands.hpp"

#include <cstdio>
#include <iostream>

#include "daemon/service.hpp"
#include "daemon/source_file.hpp"
#include "index/decode.hpp"
#include "index/hash_index.hpp"
#include "index/key.hpp"

namespace ndrd::daemon {

std::string json_string(std::string_view s)
{
    std::string out = "\"";
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        switch (ch) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        case '\r': out += "\\r"; break;
        default:
            if (c < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", c);
                out += buf;
            } else {
                out += ch;
            }
        }
    }
    return out + "\"";
}

int hash_command(const config::Config& cfg, bool use_index, const std::vector<std::string>& files, bool with_feature)
{
    index::Grid grid{cfg.gradient.grid_rows, cfg.gradient.grid_cols};
    config::Config effective = cfg;
    if (!use_index) {
        effective.index_dir = "/nonexistent/ndrd-no-index";
    }
    const index::Projection projection = projection_for(effective, grid);
    int status = 0;
    for (const auto& file : files) {
        std::string line = "{\"file\": " + json_string(file);
        try {
            SourceFile src = read_source(file, cfg.max_file_size);
            if (src.status != SourceStatus::ok) {
                throw index::DecodeError(src.reason);
            }
            const auto feature = index::compute_feature(index::decode_image(src.bytes), grid);
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
        }
        std::cout << line << "}\n";
    }
    return status;
}

int status_command(const config::Config& cfg)
{
    const auto idx = index::HashIndex::open_read_only(cfg.index_dir);
    const auto& p = idx.params();
    const auto& c = idx.counts();
    std::cout << "index:        " << cfg.index_dir.string() << " (" << idx.disk_bytes() / 1024 << " KiB on disk)\n"
              << "parameters:   algorithm " << p.algorithm << ", block_shape [" << p.grid.rows << ", " << p.grid.cols
              << "], hash_dim " << p.hash_dim << ", sim_threshold " << cfg.gradient.sim_threshold << " (config)\n"
              << "items:        " << (idx.next_seq() - 1) << "\n"
              << "decisions:    " << c.kept << " kept, " << c.duplicated << " duplicated, " << c.rejected
              << " rejected, " << c.vanished << " vanished\n"
              << "subsets:      " << cfg.working_subset << " " << c.in_working << ", " << cfg.duplicated_subset << " "
              << c.in_duplicated << ", rejected " << c.in_rejected << "\n"
              << "pending moves: " << c.planned << "\n";
    return 0;
}

}  // namespace ndrd::daemon
