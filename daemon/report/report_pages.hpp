// The review site's pages from a ReportModel: the overview with its
// similarity histograms, duplicate groups, removed items and rejected files,
// each list in pages of bounded size. Static HTML with one style sheet and
// one script, nothing from the network.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include "daemon/report/report_model.hpp"
#include "daemon/report/thumbnails.hpp"

namespace ndrd::daemon {

struct SiteInfo {
    std::string config_file;
    std::string index_dir;
    std::string parameters;     // "algorithm gradient, block_shape [8, 8], hash_dim 32"
    std::string release_prefix; // "ndrd release -c /etc/ndrd/ndrd.yaml": the item number follows
    std::string since;          // as given, "" for the whole index
    std::int64_t generated_ms = 0;
};

// Tiles (thumbnails) on a page of groups or removed items, and rows on a
// page of rejected files: a page of a million-item index still opens at once.
inline constexpr std::size_t kTilesPerPage = 240;
inline constexpr std::size_t kRowsPerPage = 1000;

// A run of one group's duplicates on one page. A group larger than a page
// goes on over the next ones, its reference repeated ("continued").
struct GroupPart {
    std::size_t group = 0; // index into ReportModel::groups
    std::size_t first = 0; // first duplicate on this page
    std::size_t count = 0;
    bool continued = false;
};
std::vector<std::vector<GroupPart>> paginate_groups(const std::vector<DuplicateGroup>& groups, std::size_t tiles);

struct SitePages {
    std::size_t groups = 0, removed = 0, rejected = 0; // pages of each
};

// Writes index.html, groups-N.html, removed-N.html, rejected-N.html,
// report.css, report.js and the placeholder into `dir`. `thumbs` holds the
// thumbnail of every item the pages show (by item number); one missing is
// shown as the placeholder.
SitePages write_site(const std::filesystem::path& dir, const ReportModel& model,
                     const std::unordered_map<std::uint64_t, Thumbnail>& thumbs, const SiteInfo& info);

} // namespace ndrd::daemon
