// The review site's HTML (see report_pages.hpp).
#include "daemon/report/report_pages.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <system_error>

#include "daemon/report/html.hpp"
#include "daemon/report/report_assets.hpp"
#include "daemon/report/report_overview.hpp"

namespace ndrd::daemon {

namespace fs = std::filesystem;
using html::escape;

namespace {

struct Nav {
    std::size_t groups = 0, removed = 0, rejected = 0; // how many of each the model holds
};

std::string page_name(std::string_view kind, std::size_t n)
{
    return std::string(kind) + "-" + std::to_string(n) + ".html";
}

std::string page(std::string_view title, std::string_view here, const Nav& nav, const std::string& body)
{
    const auto link = [&](std::string_view id, const std::string& href, const std::string& text) {
        return "<a href='" + href + "'" + (id == here ? " class='here'" : "") + ">" + text + "</a>";
    };
    std::ostringstream o;
    o << "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
      << "<meta name='viewport' content='width=device-width, initial-scale=1'>"
      << "<title>" << escape(title) << " - ndrd report</title>"
      << "<link rel='stylesheet' href='report.css'><script src='report.js'></script></head>\n<body>\n"
      << "<header><h1>ndrd report</h1>" << link("overview", "index.html", "Overview")
      << link("groups", page_name("groups", 1), "Duplicate groups (" + std::to_string(nav.groups) + ")")
      << link("removed", page_name("removed", 1), "Removed (" + std::to_string(nav.removed) + ")")
      << link("rejected", page_name("rejected", 1), "Rejected (" + std::to_string(nav.rejected) + ")")
      << "</header>\n<main>\n"
      << body << "</main>\n</body></html>\n";
    return o.str();
}

std::string pager(std::string_view kind, std::size_t at, std::size_t pages)
{
    if (pages <= 1) return {};
    std::string out = "<nav class='pages'>Page ";
    for (std::size_t p = 1; p <= pages; ++p) {
        out += p == at ? "<span>" + std::to_string(p) + "</span>"
                       : "<a href='" + page_name(kind, p) + "'>" + std::to_string(p) + "</a>";
    }
    return out + "</nav>\n";
}

std::string thumb_img(const ReportItem& item, const std::unordered_map<std::uint64_t, Thumbnail>& thumbs)
{
    const auto t = thumbs.find(item.seq);
    const std::string src = t == thumbs.end() ? std::string(kPlaceholder) : t->second.href;
    const char* why = t == thumbs.end() || t->second.result == ThumbnailResult::missing ? "file not found"
                      : t->second.result == ThumbnailResult::undecodable                ? "cannot be decoded"
                                                                                        : "";
    return "<img src='" + escape(src) + "' alt='item " + std::to_string(item.seq) + "'" +
           (*why != '\0' ? std::string(" title='") + why + "'" : std::string()) + ">";
}

std::string match_label(const ReportItem& d)
{
    switch (match_kind(d)) {
    case MatchKind::exact: return "<span class='badge exact'>exact copy</span>";
    case MatchKind::variant:
        return "<span class='badge variant'>" + std::string(index::name(d.variant.value())) + "</span>";
    case MatchKind::near: break;
    }
    return "<span class='badge near'>near-duplicate</span>";
}

std::string where(const ReportItem& i)
{
    std::string s = escape(i.source);
    if (!i.origin.empty()) s += " <span class='badge'>on " + escape(i.origin) + "</span>";
    if (i.state == index::RouteState::vanished) s += " <span class='badge'>vanished</span>";
    if (i.state == index::RouteState::expired) s += " <span class='badge'>deleted by retention</span>";
    if (i.replaced_by != 0) {
        s += " <span class='badge replaced'>replaced by better copy " + std::to_string(i.replaced_by) + "</span>";
    }
    if (i.replaced != 0) {
        s += " <span class='badge replaced'>better copy of " + std::to_string(i.replaced) + "</span>";
    }
    if (i.pixels != 0) s += " &middot; " + std::to_string(i.pixels) + " px";
    return s;
}

std::string reference_tile(const DuplicateGroup& g, const std::unordered_map<std::uint64_t, Thumbnail>& thumbs,
                           bool continued)
{
    const ReportItem& r = g.reference;
    std::string caption = g.reference_missing ? "item " + std::to_string(r.seq) + " (no longer in the index)"
                                              : "<b>kept</b> item " + std::to_string(r.seq) +
                                                    (continued ? " (continued)" : "") + "<br>" + where(r) + "<br>" +
                                                    html::utc_time(r.ingested_ms) + "<br>" + escape(r.location);
    return "<figure class='tile ref'>" + thumb_img(r, thumbs) + "<figcaption>" + caption + "</figcaption></figure>\n";
}

std::string duplicate_tile(const DuplicateGroup& g, const ReportItem& d,
                           const std::unordered_map<std::uint64_t, Thumbnail>& thumbs, const SiteInfo& info)
{
    const double sim = d.similarity.value_or(1.0);
    std::string distance;
    if (!g.reference_missing && !d.key.empty() && g.reference.key.size() == d.key.size()) {
        distance = " &middot; key distance " + std::to_string(key_distance(d.key, g.reference.key));
    }
    std::string o = "<figure class='tile dup' data-item='" + std::to_string(d.seq) + "' data-kind='" +
                    std::string(to_string(match_kind(d))) + "' data-sim='" + html::similarity(sim) + "'>" +
                    thumb_img(d, thumbs) + "<figcaption><span class='sim'>" + html::similarity(sim) + "</span> " +
                    match_label(d) + distance + "<br>item " + std::to_string(d.seq) + " &middot; " +
                    html::utc_time(d.ingested_ms) + "<br>" + where(d) + "<br>" + escape(d.location);
    if (d.subset == index::Subset::working) {
        o += "<br><span class='badge'>in the working subset (rebalanced)</span>";
    } else if (d.state != index::RouteState::vanished && d.state != index::RouteState::expired) {
        o += "<code class='cmd'>" + escape(info.release_prefix) + " " + std::to_string(d.seq) +
             "</code><button class='copy' type='button'>copy</button>";
    }
    return o + "</figcaption></figure>\n";
}

std::string groups_page(const ReportModel& m, const std::vector<GroupPart>& parts,
                        const std::unordered_map<std::uint64_t, Thumbnail>& thumbs, const SiteInfo& info,
                        std::size_t at, std::size_t pages)
{
    std::ostringstream o;
    o << "<p class='note'>Each kept image with the images the hash decision found to be its near-duplicates, "
         "labelled with their similarity (threshold "
      << html::similarity(m.options.sim_threshold)
      << "). Borderline groups come first. For a false duplicate, run the command under it: this page changes "
         "nothing itself.</p>\n"
      << "<div class='controls'>Show <label><input type='checkbox' data-kind='near' checked> near-duplicates"
         "</label><label><input type='checkbox' data-kind='variant' checked> flip/rotation matches</label>"
         "<label><input type='checkbox' data-kind='exact' checked> exact copies</label>"
         "<label>Order <select id='order'><option value='borderline'>borderline first</option>"
         "<option value='similar'>most similar first</option><option value='newest'>newest first</option>"
         "</select></label></div>\n"
      << pager("groups", at, pages) << "<div id='groups'>\n";
    for (const auto& part : parts) {
        const DuplicateGroup& g = m.groups[part.group];
        std::int64_t newest = 0;
        double low = 1.0;
        for (std::size_t i = part.first; i < part.first + part.count; ++i) {
            newest = std::max(newest, g.duplicates[i].ingested_ms);
            low = std::min(low, g.duplicates[i].similarity.value_or(1.0));
        }
        o << "<section class='group' data-ref='" << g.reference.seq << "' data-low='" << html::similarity(low)
          << "' data-newest='" << newest << "'><h3>Item " << g.reference.seq << ": " << g.duplicates.size()
          << " duplicate" << (g.duplicates.size() == 1 ? "" : "s") << "</h3><div class='tiles'>\n"
          << reference_tile(g, thumbs, part.continued);
        for (std::size_t i = part.first; i < part.first + part.count; ++i) {
            o << duplicate_tile(g, g.duplicates[i], thumbs, info);
        }
        o << "</div></section>\n";
    }
    o << "</div>\n" << pager("groups", at, pages);
    return o.str();
}

std::string removed_tile(const ReportItem& r, const std::unordered_map<std::uint64_t, Thumbnail>& thumbs)
{
    const bool marked = r.override_ == index::Override::marked_duplicate;
    return "<figure class='tile' data-item='" + std::to_string(r.seq) + "'>" + thumb_img(r, thumbs) +
           "<figcaption><span class='badge'>" + (marked ? "marked duplicate by an operator" : "cut by rebalancing") +
           "</span><br>item " + std::to_string(r.seq) + " &middot; " + html::utc_time(r.ingested_ms) + "<br>" +
           where(r) + "<br>" + escape(r.location) + "</figcaption></figure>\n";
}

std::string rejected_rows(const std::vector<ReportItem>& rows, std::size_t first, std::size_t count)
{
    std::string o = "<table><tr><th>item</th><th>file</th><th>reason</th><th>arrived</th><th>now at</th></tr>\n";
    for (std::size_t i = first; i < first + count; ++i) {
        const auto& r = rows[i];
        o += "<tr class='rejected'><td class='n'>" + std::to_string(r.seq) + "</td><td>" + where(r) + "</td><td>" +
             escape(r.reason) + "</td><td>" + html::utc_time(r.ingested_ms) + "</td><td>" + escape(r.location) +
             "</td></tr>\n";
    }
    return o + "</table>\n";
}

// A report written over an earlier one may have fewer pages: the earlier
// run's last pages would stay, reachable by name only, with old contents.
void remove_pages_after(const fs::path& dir, std::string_view kind, std::size_t pages)
{
    for (std::size_t p = pages + 1;; ++p) {
        std::error_code ec;
        if (!fs::remove(dir / page_name(kind, p), ec)) return;
    }
}

std::size_t pages_for(std::size_t n, std::size_t per_page)
{
    return std::max<std::size_t>(1, (n + per_page - 1) / per_page);
}

} // namespace

std::vector<std::vector<GroupPart>> paginate_groups(const std::vector<DuplicateGroup>& groups, std::size_t tiles)
{
    std::vector<std::vector<GroupPart>> pages(1);
    std::size_t used = 0;
    const std::size_t per_part = std::max<std::size_t>(1, tiles - 1); // duplicates beside the reference
    for (std::size_t g = 0; g < groups.size(); ++g) {
        const std::size_t n = groups[g].duplicates.size();
        for (std::size_t first = 0; first < n || (n == 0 && first == 0); first += per_part) {
            const std::size_t count = std::min(per_part, n - first);
            if (used > 0 && used + count + 1 > tiles) {
                pages.emplace_back();
                used = 0;
            }
            pages.back().push_back({g, first, count, first > 0});
            used += count + 1;
            if (n == 0) break;
        }
    }
    return pages;
}

SitePages write_site(const fs::path& dir, const ReportModel& m,
                     const std::unordered_map<std::uint64_t, Thumbnail>& thumbs, const SiteInfo& info)
{
    fs::create_directories(dir);
    html::write_file(dir / "report.css", report_css());
    html::write_file(dir / "report.js", report_js());
    html::write_file(dir / std::string(kPlaceholder), placeholder_svg());
    const Nav nav{m.groups.size(), m.removed.size(), m.rejected.size()};
    const auto group_pages = paginate_groups(m.groups, kTilesPerPage);
    SitePages pages{group_pages.size(), pages_for(m.removed.size(), kTilesPerPage),
                    pages_for(m.rejected.size(), kRowsPerPage)};
    for (std::size_t p = 0; p < group_pages.size(); ++p) {
        html::write_file(
            dir / page_name("groups", p + 1),
            page("Duplicate groups", "groups", nav, groups_page(m, group_pages[p], thumbs, info, p + 1, pages.groups)));
    }
    for (std::size_t p = 0; p < pages.removed; ++p) {
        std::string body = "<p class='note'>Kept images that left the working subset: cut by rebalancing to "
                           "num_cut, or marked as duplicates by an operator. Newest first.</p>\n" +
                           pager("removed", p + 1, pages.removed) + "<div class='tiles'>\n";
        for (std::size_t i = p * kTilesPerPage; i < std::min(m.removed.size(), (p + 1) * kTilesPerPage); ++i) {
            body += removed_tile(m.removed[i], thumbs);
        }
        html::write_file(dir / page_name("removed", p + 1), page("Removed", "removed", nav, body + "</div>\n"));
    }
    for (std::size_t p = 0; p < pages.rejected; ++p) {
        const std::size_t first = p * kRowsPerPage;
        const std::size_t count = std::min(kRowsPerPage, m.rejected.size() - std::min(first, m.rejected.size()));
        html::write_file(dir / page_name("rejected", p + 1),
                         page("Rejected", "rejected", nav,
                              "<p class='note'>Files that could not be hashed, with the reason. Newest first."
                              "</p>\n" +
                                  pager("rejected", p + 1, pages.rejected) + rejected_rows(m.rejected, first, count)));
    }
    html::write_file(dir / "index.html", page("Overview", "overview", nav, overview_body(m, info, pages)));
    remove_pages_after(dir, "groups", pages.groups);
    remove_pages_after(dir, "removed", pages.removed);
    remove_pages_after(dir, "rejected", pages.rejected);
    return pages;
}

} // namespace ndrd::daemon
