// `ndrd report` end to end: the site of a run over the sample images agrees
// with `ndrd export`, opens in headless Chromium with every thumbnail loaded
// and no network request, reuses its thumbnails, survives vanished and
// damaged files, and refuses bad arguments with the usage exit code.
#define BOOST_TEST_MODULE e2e_report
#include <boost/test/unit_test.hpp>

#include <set>

#include "chromium.hpp"
#include "e2e_support.hpp"

using namespace ndrd;
using namespace ndrd::e2e;

namespace {

RunResult ndrd_at(const Layout& l, std::vector<std::string> args)
{
    args.insert(args.begin() + 1, {"--config", l.config.string()});
    return run_ndrd(args);
}

// Every sample image and the undecodable one, decided by `ndrd once`.
Layout decided_layout(const fs::path& root)
{
    const Layout l = make_layout(root);
    write_config(l, {});
    for (const auto& name : test::reference_image_names()) {
        test::write_file(l.ingest / name, image(name));
    }
    test::write_file(l.ingest / "truncated.jpg", undecodable());
    const auto once = ndrd_at(l, {"once"});
    BOOST_TEST_REQUIRE(once.code() == 0, once.err);
    return l;
}

nlohmann::json run_report(const Layout& l, const fs::path& out, std::vector<std::string> more = {})
{
    std::vector<std::string> args = {"report", "--out", out.string()};
    args.insert(args.end(), more.begin(), more.end());
    const auto r = ndrd_at(l, args);
    BOOST_TEST_REQUIRE(r.code() == 0, r.err);
    return parse_json_line(lines_of(r.out).at(0));
}

// What the report must show, from the export: the hash decision's
// duplicates grouped by the kept item they matched, and the rejections.
struct Expected {
    std::set<std::string> groups;
    std::size_t duplicates = 0;
    std::size_t rejected = 0;
};

Expected expected_from_export(const Layout& l)
{
    const auto r = ndrd_at(l, {"export", "--format", "jsonl"});
    BOOST_TEST_REQUIRE(r.code() == 0, r.err);
    Expected e;
    for (const auto& line : lines_of(r.out)) {
        const auto row = parse_json_line(line);
        if (row["decision"] == "duplicated" && !row["matched_item"].is_null() &&
            row["override"].get<std::string>().empty()) {
            e.groups.insert(std::to_string(row["matched_item"].get<std::uint64_t>()));
            ++e.duplicates;
        }
        if (row["decision"] == "rejected") ++e.rejected;
    }
    return e;
}

// Opens `page`, checks that it made no request outside the report and
// raised no script error, and that every image on it loaded.
void open_offline(Browser& browser, const fs::path& page)
{
    const auto load = browser.open(file_url(fs::absolute(page)));
    for (const auto& url : load.requested_urls) {
        BOOST_TEST((url.starts_with("file://") || url.starts_with("data:")), page.filename() << " requested " << url);
    }
    BOOST_TEST(load.failed_urls.empty(), page.filename() << ": " << load.failed_urls.size() << " failed, first "
                                                         << (load.failed_urls.empty() ? "" : load.failed_urls[0]));
    BOOST_TEST(load.errors.empty(), page.filename() << ": " << (load.errors.empty() ? "" : load.errors[0]));
    const auto broken =
        browser.evaluate("[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)");
    BOOST_TEST(broken.empty(), page.filename() << ": images that did not load: " << broken.dump());
}

fs::path artifacts()
{
    const fs::path dir = NDRD_TEST_ARTIFACTS;
    fs::create_directories(dir);
    return dir;
}

} // namespace

BOOST_AUTO_TEST_SUITE(report)

BOOST_AUTO_TEST_CASE(the_site_agrees_with_export_and_opens_offline_in_chromium,
                     *boost::unit_test::precondition(chromium_available))
{
    test::TempDir dir;
    const Layout l = decided_layout(dir / "d");
    const Expected e = expected_from_export(l);
    BOOST_TEST_REQUIRE(e.groups.size() > 3U);
    const fs::path site = dir / "site";
    const auto summary = run_report(l, site);
    BOOST_TEST(summary["groups"] == e.groups.size());
    BOOST_TEST(summary["duplicates"] == e.duplicates);
    BOOST_TEST(summary["rejected"] == e.rejected);

    Browser browser(*find_chromium(), dir / "profile");
    open_offline(browser, site / "index.html");
    BOOST_TEST(browser.evaluate("document.querySelectorAll('svg.hist line.threshold').length") == 2);
    browser.screenshot(artifacts() / "report-overview.png", 1280, 1400);

    std::set<std::string> groups;
    std::size_t duplicates = 0;
    for (std::size_t p = 1; p <= summary["pages"]["groups"].get<std::size_t>(); ++p) {
        const fs::path page = site / ("groups-" + std::to_string(p) + ".html");
        open_offline(browser, page);
        for (const auto& ref :
             browser.evaluate("[...document.querySelectorAll('section.group')].map(g => g.dataset.ref)")) {
            groups.insert(ref.get<std::string>());
        }
        duplicates += browser.evaluate("document.querySelectorAll('figure.dup').length").get<std::size_t>();
        if (p == 1) browser.screenshot(artifacts() / "report-groups.png", 1280, 1400);
    }
    BOOST_TEST(groups == e.groups);
    BOOST_TEST(duplicates == e.duplicates);

    open_offline(browser, site / "rejected-1.html");
    BOOST_TEST(browser.evaluate("document.querySelectorAll('tr.rejected').length") == e.rejected);
    open_offline(browser, site / "removed-1.html");

    // The filters hide what they name, and nothing else.
    open_offline(browser, site / "groups-1.html");
    const auto visible = [&] {
        return browser
            .evaluate("[...document.querySelectorAll('figure.dup')].filter(t => "
                      "!t.classList.contains('hidden')).length")
            .get<std::size_t>();
    };
    const std::size_t all = visible();
    const auto exact =
        browser.evaluate("document.querySelectorAll('figure.dup[data-kind=exact]').length").get<std::size_t>();
    browser.evaluate("(() => { const b = document.querySelector('input[data-kind=exact]'); b.checked = false;"
                     " b.dispatchEvent(new Event('change')); return true; })()");
    BOOST_TEST(visible() == all - exact);
}

BOOST_AUTO_TEST_CASE(a_second_report_reuses_every_thumbnail_and_makes_only_new_ones)
{
    test::TempDir dir;
    const Layout l = decided_layout(dir / "d");
    const auto first = run_report(l, dir / "site");
    const auto made = first["thumbnails"]["made"].get<std::size_t>();
    BOOST_TEST(made > 10U);
    BOOST_TEST(first["thumbnails"]["cached"] == 0);
    const auto second = run_report(l, dir / "site");
    BOOST_TEST(second["thumbnails"]["made"] == 0);
    BOOST_TEST(second["thumbnails"]["cached"] == made);

    test::write_file(l.ingest / "z_rocket_again.jpg", image("rocket.jpg")); // one new item, an exact copy
    BOOST_TEST_REQUIRE(ndrd_at(l, {"once"}).code() == 0);
    const auto third = run_report(l, dir / "site");
    BOOST_TEST(third["thumbnails"]["made"] == 1);
    BOOST_TEST(third["thumbnails"]["cached"] == made);
}

BOOST_AUTO_TEST_CASE(vanished_and_damaged_files_get_the_placeholder_and_the_report_succeeds)
{
    test::TempDir dir;
    const Layout l = decided_layout(dir / "d");
    const auto duplicates = test::entries_under(l.output / "duplicated");
    BOOST_TEST_REQUIRE(duplicates.size() >= 2U);
    fs::remove(l.output / "duplicated" / duplicates[0]);
    test::write_file(l.output / "duplicated" / duplicates[1], "no longer an image");
    const auto summary = run_report(l, dir / "site");
    BOOST_TEST(summary["thumbnails"]["placeholders"] == 2);
    const auto page = test::read_file(dir / "site" / "groups-1.html");
    BOOST_TEST(page.find("src='placeholder.svg'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(since_and_limit_narrow_the_report_and_bad_arguments_are_usage_errors)
{
    test::TempDir dir;
    const Layout l = decided_layout(dir / "d");
    const auto later = run_report(l, dir / "later", {"--since", "2100-01-01"});
    BOOST_TEST(later["items"] == 0);
    BOOST_TEST(later["groups"] == 0);
    const auto recent = run_report(l, dir / "recent", {"--since", "1h"});
    BOOST_TEST(recent["items"] == test::reference_image_names().size() + 1);
    const auto one = run_report(l, dir / "one", {"--limit", "1"});
    BOOST_TEST(one["groups"] == 1);

    const auto bad_since = ndrd_at(l, {"report", "--out", (dir / "x").string(), "--since", "yesterday"});
    BOOST_TEST(bad_since.code() == 64);
    BOOST_TEST(bad_since.err.find("--since 'yesterday'") != std::string::npos, bad_since.err);
    const auto no_out = ndrd_at(l, {"report"});
    BOOST_TEST(no_out.code() == 64);
    BOOST_TEST(no_out.err.find("--out DIR is required") != std::string::npos, no_out.err);

    const Layout empty = make_layout(dir / "empty");
    write_config(empty, {});
    const auto no_index = ndrd_at(empty, {"report", "--out", (dir / "y").string()});
    BOOST_TEST(no_index.code() == 1);
    BOOST_TEST(no_index.err.find("no index at") != std::string::npos, no_index.err);
    BOOST_TEST(!fs::exists(dir / "y"), "nothing is written without an index");
}

BOOST_AUTO_TEST_SUITE_END()
