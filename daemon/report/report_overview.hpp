// The report's overview page: counts per decision and subset, rebalancing
// and overrides, rejections by reason, and the histograms of best
// similarity with the threshold drawn on them (inline SVG).
#pragma once

#include <string>

#include "daemon/report/report_model.hpp"
#include "daemon/report/report_pages.hpp"

namespace ndrd::daemon {

// One histogram as an inline <svg>: kept and duplicated side by side per
// bin, on a logarithmic count scale (a few borderline items stay visible
// beside thousands of clear ones), the threshold as a vertical line.
std::string histogram_svg(const SimilarityHistogram& h, double threshold, std::string_view title);

// The overview's <main> content.
std::string overview_body(const ReportModel& m, const SiteInfo& info, const SitePages& pages);

} // namespace ndrd::daemon
