// The overview page (see report_overview.hpp).
#include "daemon/report/report_overview.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "daemon/report/html.hpp"

namespace ndrd::daemon {

namespace {

std::string row(std::string_view label, std::uint64_t n, std::string_view note = {})
{
    return "<tr><td>" + std::string(label) + "</td><td class='n'>" + std::to_string(n) + "</td><td>" +
           std::string(note) + "</td></tr>\n";
}

std::string card(std::string_view label, std::uint64_t n)
{
    return "<div class='card'><b>" + std::to_string(n) + "</b>" + std::string(label) + "</div>";
}

std::string fixed(double v, int decimals)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

std::string counts_table(const ReportModel& m)
{
    const auto& c = m.counts;
    return "<h2>Decisions and where the files are</h2>\n<table><tr><th></th><th>items</th><th></th></tr>\n" +
           row("kept (unique)", c.kept, "the hash decision, or an operator's release") +
           row("duplicated", c.duplicated, "near-duplicates and exact copies of a kept image") +
           row("rejected", c.rejected, "could not be hashed (see below)") +
           row("vanished", c.vanished, "gone from the ingest directory before they could be moved") +
           row("in the working subset", c.in_working) + row("in the duplicated subset", c.in_duplicated) +
           row("in the rejected area", c.in_rejected) +
           row("cut by rebalancing", c.cut, "kept, moved out to bring the working subset to num_cut") +
           row("restored by rebalancing", c.restored, "duplicates moved into the working subset") +
           row("released by an operator", c.released, "ndrd release") +
           row("marked duplicate by an operator", c.marked_duplicate, "ndrd mark-duplicate") +
           row("move pending", c.planned, "decided, the file not moved yet") + "</table>\n" +
           "<h2>How duplicates matched</h2>\n<table><tr><th></th><th>items</th><th></th></tr>\n" +
           row("near-duplicates", m.near_duplicates, "similarity at or above the threshold") +
           row("flip or rotation matches", m.variant_matches, "a flipped or rotated version matched") +
           row("exact copies", m.exact_copies, "byte-identical to an indexed file, decided without decoding") +
           "</table>\n";
}

std::string rejections_table(const ReportModel& m)
{
    if (m.rejections.empty()) return "<h2>Rejections by reason</h2>\n<p>None.</p>\n";
    std::vector<std::pair<std::string, std::uint64_t>> rows(m.rejections.begin(), m.rejections.end());
    std::ranges::stable_sort(rows, [](const auto& a, const auto& b) { return a.second > b.second; });
    std::string o = "<h2>Rejections by reason</h2>\n<table><tr><th>reason (# stands for a number)</th><th>files</th>"
                    "</tr>\n";
    for (const auto& [reason, n] : rows) {
        o += "<tr><td>" + html::escape(reason) + "</td><td class='n'>" + std::to_string(n) + "</td></tr>\n";
    }
    return o + "</table>\n";
}

} // namespace

// A fixed-size drawing; what it draws is the function of the histogram, so
// its length is mostly coordinates.
std::string histogram_svg(const SimilarityHistogram& h, double threshold, std::string_view title)
{
    constexpr double width = 760, height = 240, left = 50, right = 16, top = 28, bottom = 40;
    const double plot_w = width - left - right;
    const double plot_h = height - top - bottom;
    const std::size_t bins = h.kept.size();
    std::uint64_t peak = 1;
    for (std::size_t i = 0; i < bins; ++i)
        peak = std::max({peak, h.kept[i], h.duplicated[i]});
    const auto bar_height = [&](std::uint64_t n) {
        return n == 0 ? 0.0 : plot_h * std::log1p(n) / std::log1p(peak);
    };
    const auto x_of = [&](double v) {
        return left + plot_w * (v - h.lo) / (h.hi - h.lo);
    };
    std::ostringstream o;
    o << "<svg class='hist' xmlns='http://www.w3.org/2000/svg' width='" << width << "' height='" << height
      << "' role='img'><title>" << html::escape(title) << "</title>"
      << "<text x='" << left << "' y='16' font-weight='600'>" << html::escape(title) << "</text>"
      << "<rect x='" << width - 250 << "' y='7' width='10' height='10' fill='#2f6db3'/><text x='" << width - 236
      << "' y='16'>kept</text><rect x='" << width - 190 << "' y='7' width='10' height='10' fill='#d9822b'/><text x='"
      << width - 176 << "' y='16'>duplicated</text>";
    const double bin_w = plot_w / static_cast<double>(bins);
    for (std::size_t i = 0; i < bins; ++i) {
        const double from = h.lo + (h.hi - h.lo) * static_cast<double>(i) / static_cast<double>(bins);
        const double to = h.lo + (h.hi - h.lo) * static_cast<double>(i + 1) / static_cast<double>(bins);
        const std::string range = fixed(from, 3) + "-" + fixed(to, 3);
        const double x = left + bin_w * static_cast<double>(i);
        const double kh = bar_height(h.kept[i]);
        const double dh = bar_height(h.duplicated[i]);
        o << "<rect x='" << fixed(x + 0.5, 1) << "' y='" << fixed(top + plot_h - kh, 1) << "' width='"
          << fixed(bin_w / 2 - 0.5, 1) << "' height='" << fixed(kh, 1) << "' fill='#2f6db3'><title>" << range << ": "
          << h.kept[i] << " kept</title></rect>"
          << "<rect x='" << fixed(x + bin_w / 2, 1) << "' y='" << fixed(top + plot_h - dh, 1) << "' width='"
          << fixed(bin_w / 2 - 0.5, 1) << "' height='" << fixed(dh, 1) << "' fill='#d9822b'><title>" << range << ": "
          << h.duplicated[i] << " duplicated</title></rect>";
    }
    o << "<line x1='" << left << "' y1='" << top + plot_h << "' x2='" << width - right << "' y2='" << top + plot_h
      << "' stroke='#888'/>";
    for (int t = 0; t <= 4; ++t) {
        const double v = h.lo + (h.hi - h.lo) * t / 4.0;
        o << "<text x='" << fixed(x_of(v), 1) << "' y='" << top + plot_h + 16 << "' text-anchor='middle'>"
          << fixed(v, 3) << "</text>";
    }
    o << "<text x='" << left + plot_w / 2 << "' y='" << height - 6
      << "' text-anchor='middle'>best similarity</text><text x='12' y='" << top + plot_h / 2
      << "' transform='rotate(-90 12 " << top + plot_h / 2 << ")' text-anchor='middle'>items (log scale, peak " << peak
      << ")</text>";
    if (threshold >= h.lo && threshold <= h.hi) {
        const double x = x_of(threshold);
        o << "<line class='threshold' x1='" << fixed(x, 1) << "' y1='" << top - 4 << "' x2='" << fixed(x, 1) << "' y2='"
          << top + plot_h << "' stroke='#c0392b' stroke-width='2' stroke-dasharray='5 3'/>"
          << "<text x='" << fixed(x + 4, 1) << "' y='" << top + 8 << "' fill='#c0392b'>sim_threshold "
          << fixed(threshold, 3) << "</text>";
    }
    o << "</svg>\n";
    return o.str();
}

std::string overview_body(const ReportModel& m, const SiteInfo& info, const SitePages& pages)
{
    std::ostringstream o;
    o << "<p class='note'>Generated " << html::utc_time(info.generated_ms) << " from the index at <code>"
      << html::escape(info.index_dir) << "</code> (" << html::escape(info.parameters) << "), configuration <code>"
      << html::escape(info.config_file) << "</code>. "
      << (info.since.empty() ? std::string("Every item of the index.")
                             : "Items that arrived since " + html::escape(info.since) + ".")
      << " Read-only: nothing here changes the index or the files.</p>\n<div class='cards'>" << card("items", m.items)
      << card("kept", m.counts.kept) << card("duplicated", m.counts.duplicated) << card("rejected", m.counts.rejected)
      << card("duplicate groups", m.groups_total) << "</div>\n";
    if (m.groups.size() < m.groups_total || m.rejected.size() < m.rejected_total ||
        m.removed.size() < m.removed_total) {
        o << "<p class='note'>--limit: the pages show the " << m.groups.size() << " most borderline of "
          << m.groups_total << " groups, the newest " << m.removed.size() << " of " << m.removed_total
          << " removed and " << m.rejected.size() << " of " << m.rejected_total << " rejected items.</p>\n";
    }
    o << "<h2>Best similarity</h2>\n<p class='note'>For every hashed item that shared its key with a kept image: "
         "the highest similarity found. Duplicates (orange) are at or above the threshold, kept images (blue) "
         "below it. Blue bars just under the line are images kept by a small margin; orange bars just over it "
         "are the borderline duplicates the group pages list first. "
      << m.kept_without_candidate
      << " kept images shared their key with no kept image and have no similarity; exact copies are not "
         "drawn.</p>\n"
      << histogram_svg(m.overall, m.options.sim_threshold, "All items, 0 to 1")
      << histogram_svg(m.near_threshold, m.options.sim_threshold, "Around the threshold") << counts_table(m)
      << rejections_table(m) << "<h2>Pages</h2>\n<ul>"
      << "<li><a href='groups-1.html'>Duplicate groups</a>: " << m.groups.size() << " groups on " << pages.groups
      << " page(s)</li><li><a href='removed-1.html'>Removed</a>: " << m.removed.size() << " items on " << pages.removed
      << " page(s)</li><li><a href='rejected-1.html'>Rejected</a>: " << m.rejected.size() << " files on "
      << pages.rejected << " page(s)</li></ul>\n";
    return o.str();
}

} // namespace ndrd::daemon
