// `ndrd report`: the review site of an index, written into a directory from
// a consistent read-only snapshot (a running daemon is not disturbed), with
// thumbnails cached across runs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "daemon/report/report_pages.hpp"

namespace ndrd::daemon {

struct ReportRequest {
    std::filesystem::path out;
    std::optional<std::string> since; // as parse_since() reads it
    std::optional<std::size_t> limit;
    std::string config_file;    // shown on the overview
    std::string release_prefix; // "ndrd release -c FILE", before the item number
    bool progress = false;      // a progress line on stderr (a terminal)
    int thumbnail_edge = 256;   // pixels
};

struct ReportSummary {
    std::uint64_t items = 0;                                           // in the window
    std::size_t groups = 0, duplicates = 0, removed = 0, rejected = 0; // on the pages
    std::size_t thumbnails_made = 0, thumbnails_cached = 0, placeholders = 0;
    SitePages pages;
    double seconds = 0.0;
};

// Throws index::IndexMissing when there is no index, std::invalid_argument
// for a --since it cannot read, std::runtime_error naming a file it cannot
// write. A file that is gone or undecodable only gets the placeholder.
ReportSummary write_report(const config::Config& cfg, const ReportRequest& request);

} // namespace ndrd::daemon
