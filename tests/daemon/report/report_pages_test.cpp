// The site's pages: every page the model needs and no more, names escaped,
// the release command under each duplicate, the placeholder where a
// thumbnail is missing, the threshold on the histogram, nothing external.
#define BOOST_TEST_MODULE report_pages
#include <boost/test/unit_test.hpp>

#include <regex>

#include "daemon/report/report_overview.hpp"
#include "daemon/report/report_pages.hpp"
#include "test_support.hpp"

BOOST_TEST_DONT_PRINT_LOG_VALUE(ndrd::daemon::ThumbnailResult)

using namespace ndrd;
using namespace ndrd::daemon;
namespace fs = std::filesystem;

namespace {

ReportItem item(std::uint64_t seq, std::string source, double sim = 0.9)
{
    ReportItem i;
    i.seq = seq;
    i.source = std::move(source);
    i.location = "duplicated/" + i.source;
    i.subset = index::Subset::duplicated;
    i.verdict = index::Verdict::duplicated;
    i.similarity = sim;
    i.key = "ab";
    i.ingested_ms = 1'796'083'200'000;
    return i;
}

ReportModel model_with(std::size_t groups, std::size_t per_group, std::size_t rejected)
{
    ReportModel m;
    m.options.sim_threshold = 0.5;
    for (std::size_t g = 0; g < groups; ++g) {
        DuplicateGroup group;
        group.reference = item(g + 1, "ref" + std::to_string(g) + ".jpg");
        for (std::size_t d = 0; d < per_group; ++d) {
            group.duplicates.push_back(item(1000 + g * per_group + d, "dup.jpg", 0.6));
        }
        m.groups.push_back(std::move(group));
    }
    m.groups_total = m.groups.size();
    for (std::size_t r = 0; r < rejected; ++r) {
        m.rejected.push_back(item(5000 + r, "bad.jpg"));
        m.rejected.back().reason = "not an image";
    }
    m.rejected_total = rejected;
    return m;
}

SiteInfo info()
{
    SiteInfo i;
    i.release_prefix = "ndrd release -c /etc/ndrd/ndrd.yaml";
    i.config_file = "/etc/ndrd/ndrd.yaml";
    i.index_dir = "/var/lib/ndrd/index";
    return i;
}

std::size_t count(const std::string& text, const std::string& what)
{
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}

} // namespace

BOOST_AUTO_TEST_SUITE(report_pages)

BOOST_AUTO_TEST_CASE(every_list_is_split_into_pages_of_bounded_size)
{
    test::TempDir dir;
    const auto m = model_with(kTilesPerPage / 2 + 1, 3, kRowsPerPage + 1); // 4 tiles a group: over two pages
    const auto pages = write_site(dir.path(), m, {}, info());
    BOOST_TEST(pages.groups == 3U);
    BOOST_TEST(pages.rejected == 2U);
    BOOST_TEST(pages.removed == 1U, "an empty list still has its page");
    std::size_t dups = 0;
    for (std::size_t p = 1; p <= pages.groups; ++p) {
        const auto text = test::read_file(dir.path() / ("groups-" + std::to_string(p) + ".html"));
        BOOST_TEST(count(text, "<figure class='tile") <= kTilesPerPage);
        dups += count(text, "<figure class='tile dup'");
    }
    BOOST_TEST(dups == (kTilesPerPage / 2 + 1) * 3);
    BOOST_TEST(!fs::exists(dir.path() / "groups-4.html"));
    BOOST_TEST(count(test::read_file(dir.path() / "rejected-2.html"), "<tr class='rejected'>") == 1U);
    for (const char* f : {"index.html", "report.css", "report.js", "placeholder.svg", "removed-1.html"}) {
        BOOST_TEST(fs::exists(dir.path() / f), f);
    }
}

BOOST_AUTO_TEST_CASE(a_report_over_a_larger_one_leaves_none_of_its_pages)
{
    test::TempDir dir;
    write_site(dir.path(), model_with(kTilesPerPage, 3, 2 * kRowsPerPage + 1), {}, info());
    BOOST_TEST_REQUIRE(fs::exists(dir.path() / "groups-4.html"));
    BOOST_TEST_REQUIRE(fs::exists(dir.path() / "rejected-3.html"));
    const auto pages = write_site(dir.path(), model_with(1, 1, 1), {}, info());
    BOOST_TEST(pages.groups == 1U);
    BOOST_TEST(!fs::exists(dir.path() / "groups-2.html"));
    BOOST_TEST(!fs::exists(dir.path() / "groups-4.html"));
    BOOST_TEST(!fs::exists(dir.path() / "rejected-2.html"));
    BOOST_TEST(fs::exists(dir.path() / "rejected-1.html"));
}

BOOST_AUTO_TEST_CASE(names_are_escaped_and_each_duplicate_has_its_release_command)
{
    test::TempDir dir;
    auto m = model_with(1, 1, 0);
    m.groups[0].duplicates[0].source = "<script>alert(1)</script>.jpg";
    std::unordered_map<std::uint64_t, Thumbnail> thumbs;
    thumbs[1] = {"thumbs/1-ab.jpg", ThumbnailResult::made};
    write_site(dir.path(), m, thumbs, info());
    const auto text = test::read_file(dir.path() / "groups-1.html");
    BOOST_TEST(text.find("<script>alert") == std::string::npos);
    BOOST_TEST(text.find("&lt;script&gt;alert(1)&lt;/script&gt;.jpg") != std::string::npos);
    BOOST_TEST(text.find("ndrd release -c /etc/ndrd/ndrd.yaml 1000</code>") != std::string::npos);
    BOOST_TEST(text.find("src='thumbs/1-ab.jpg'") != std::string::npos);
    BOOST_TEST(text.find("src='placeholder.svg'") != std::string::npos, "item 1000 has no thumbnail");
}

BOOST_AUTO_TEST_CASE(pages_refer_to_nothing_outside_the_report_directory)
{
    test::TempDir dir;
    write_site(dir.path(), model_with(2, 2, 2), {}, info());
    const std::regex reference(R"re((?:src|href)='([^']*)')re");
    for (const auto& name : test::entries_under(dir.path())) {
        if (!name.ends_with(".html")) continue;
        const auto text = test::read_file(dir.path() / name);
        for (std::sregex_iterator it(text.begin(), text.end(), reference), end; it != end; ++it) {
            const std::string target = (*it)[1];
            BOOST_TEST(target.find(':') == std::string::npos, name << " refers to " << target);
            BOOST_TEST(fs::exists(dir.path() / target), name << " refers to missing " << target);
        }
    }
}

BOOST_AUTO_TEST_CASE(the_histogram_draws_the_threshold_inside_its_range_only)
{
    SimilarityHistogram h(0.3, 0.7, 10);
    h.add(0.45, false);
    h.add(0.65, true);
    const auto inside = histogram_svg(h, 0.5, "t");
    BOOST_TEST(count(inside, "class='threshold'") == 1U);
    BOOST_TEST(inside.find("1 kept</title>") != std::string::npos);
    BOOST_TEST(inside.find("1 duplicated</title>") != std::string::npos);
    BOOST_TEST(count(histogram_svg(h, 0.9, "t"), "class='threshold'") == 0U);
}

BOOST_AUTO_TEST_SUITE_END()
