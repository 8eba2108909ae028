// The headless-chromium harness (chromium.hpp) on small local pages: that it
// sees every request a page makes (so "no network request" checks are not
// vacuous), the page's script errors, its DOM, and its pixels.
#define BOOST_TEST_MODULE e2e_browser
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <thread>

#include "chromium.hpp"
#include "test_support.hpp"

using namespace ndrd;
using namespace ndrd::e2e;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

long long ms_since(Clock::time_point start)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

// One browser for the whole suite (starting chromium takes most of a
// second): it also shows that one Browser opens page after page.
Browser& shared_browser()
{
    static const test::TempDir profile;
    static Browser browser = [] {
        const auto t0 = Clock::now();
        Browser b(*find_chromium(), profile / "profile");
        BOOST_TEST_MESSAGE("chromium started in " << ms_since(t0) << " ms");
        return b;
    }();
    return browser;
}

// Each test's pages, in a temporary directory of its own.
struct PagesInTempDir {
    Browser::Load open(const fs::path& page)
    {
        const auto t0 = Clock::now();
        auto load = browser.open(file_url(page));
        BOOST_TEST_MESSAGE("opened " << page.filename() << " in " << ms_since(t0) << " ms");
        for (const auto& url : load.requested_urls)
            BOOST_TEST_MESSAGE("  requested " << url.substr(0, 120));
        return load;
    }

    test::TempDir dir;
    Browser& browser = shared_browser();
};

// The processes whose command line holds `needle` (chromium and its helpers
// all carry --user-data-dir).
std::size_t processes_with(const std::string& needle)
{
    std::size_t n = 0;
    for (const auto& entry : fs::directory_iterator("/proc")) {
        std::ifstream in(entry.path() / "cmdline", std::ios::binary);
        const std::string cmdline{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
        if (cmdline.find(needle) != std::string::npos) ++n;
    }
    return n;
}

const char* const all_images_loaded = "[...document.images].every(i => i.complete && i.naturalWidth > 0)";

std::uint32_t big_endian_u32(const std::string& bytes, std::size_t at)
{
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i)
        v = (v << 8U) | static_cast<unsigned char>(bytes.at(at + i));
    return v;
}

} // namespace

BOOST_AUTO_TEST_SUITE(headless_chromium)

BOOST_FIXTURE_TEST_CASE(a_local_page_makes_only_file_requests_and_its_dom_is_read_back, PagesInTempDir,
                        *boost::unit_test::precondition(chromium_available))
{
    test::copy_reference_image("synth_const_color.png", dir / "site" / "img" / "color.png");
    test::write_file(dir / "site" / "rows.js", "for (const name of ['a', 'b', 'c']) {\n"
                                               "  const li = document.createElement('li');\n"
                                               "  li.textContent = name;\n"
                                               "  document.getElementById('rows').append(li);\n"
                                               "}\n");
    test::write_file(dir / "site" / "page.html",
                     "<!doctype html><html><head><meta charset=\"utf-8\"><title>local</title></head><body>\n"
                     "<img src=\"img/color.png\" alt=\"color\"><ul id=\"rows\"></ul>\n"
                     "<script src=\"rows.js\"></script></body></html>\n");

    const auto load = open(dir / "site" / "page.html");

    BOOST_TEST(load.requested_urls.size() == 3U); // the page, its image, its script
    for (const auto& url : load.requested_urls)
        BOOST_TEST(url.starts_with("file://"), url);
    BOOST_TEST(std::count(load.requested_urls.begin(), load.requested_urls.end(),
                          file_url(dir / "site" / "img" / "color.png")) == 1);
    BOOST_TEST(load.failed_urls.empty());
    BOOST_TEST(load.errors.empty());
    BOOST_TEST(browser.evaluate(all_images_loaded) == true);
    BOOST_TEST(browser.evaluate("document.images[0].naturalWidth") == 70);
    BOOST_TEST(browser.evaluate("document.querySelectorAll('#rows li').length") == 3);
    BOOST_TEST(browser.evaluate("[...document.querySelectorAll('#rows li')].map(li => li.textContent)") ==
               nlohmann::json({"a", "b", "c"}));
    // Promises are awaited; undefined is null.
    BOOST_TEST(browser.evaluate("new Promise(resolve => setTimeout(() => resolve(7), 20))") == 7);
    BOOST_TEST(browser.evaluate("undefined").is_null());
}

BOOST_FIXTURE_TEST_CASE(requests_to_the_network_are_reported_as_requested_and_failed, PagesInTempDir,
                        *boost::unit_test::precondition(chromium_available))
{
    // Port 9 (discard): nothing listens there, and Chromium refuses it anyway.
    const std::string remote = "http://127.0.0.1:9/x.png";
    const std::string from_worker = "http://127.0.0.1:9/from-worker.json";
    // A worker runs in a target of its own: its requests must be seen too.
    const std::string worker =
        "new Worker(URL.createObjectURL(new Blob([\"fetch('" + from_worker + "').catch(() => {})\"])));";
    test::write_file(dir / "remote.html", "<!doctype html><html><body><img src=\"" + remote + "\">\n<script>" + worker +
                                              "</script></body></html>\n");

    const auto load = open(dir / "remote.html");

    BOOST_TEST(std::count(load.requested_urls.begin(), load.requested_urls.end(), remote) == 1);
    BOOST_TEST(std::count(load.failed_urls.begin(), load.failed_urls.end(), remote) == 1);
    BOOST_TEST(std::count(load.requested_urls.begin(), load.requested_urls.end(), from_worker) == 1);
    BOOST_TEST(browser.evaluate(all_images_loaded) == false);
}

BOOST_FIXTURE_TEST_CASE(script_errors_are_reported, PagesInTempDir, *boost::unit_test::precondition(chromium_available))
{
    test::write_file(dir / "error.html", "<!doctype html><html><body><script>\n"
                                         "console.error('logged', 42);\n"
                                         "throw new Error('boom from the page');\n"
                                         "</script></body></html>\n");

    const auto load = open(dir / "error.html");

    BOOST_TEST_REQUIRE(load.errors.size() == 2U);
    BOOST_TEST(load.errors[0] == "console.error: logged 42");
    BOOST_TEST(load.errors[1].find("Error: boom from the page") != std::string::npos, load.errors[1]);

    // evaluate() rethrows with the exception's text.
    try {
        browser.evaluate("(() => { throw new TypeError('not a report'); })()");
        BOOST_ERROR("evaluate did not throw");
    } catch (const std::runtime_error& e) {
        BOOST_TEST(std::string(e.what()).find("TypeError: not a report") != std::string::npos, e.what());
    }
    // A page that cannot be opened is an error, not an empty load.
    BOOST_CHECK_THROW(browser.open(file_url(dir / "missing.html")), std::runtime_error);
}

BOOST_FIXTURE_TEST_CASE(screenshot_writes_a_png_of_the_whole_page, PagesInTempDir,
                        *boost::unit_test::precondition(chromium_available))
{
    // Taller than the 900-pixel viewport: the screenshot must still hold all of it.
    test::write_file(dir / "tall.html",
                     "<!doctype html><html><head><style>body { margin: 0 }</style></head><body>\n"
                     "<div style=\"height: 1500px; background: linear-gradient(red, blue)\">report</div>\n"
                     "</body></html>\n");
    open(dir / "tall.html");

    const auto t0 = Clock::now();
    browser.screenshot(dir / "shot.png");
    BOOST_TEST_MESSAGE("screenshot in " << ms_since(t0) << " ms");

    const auto png = test::read_file(dir / "shot.png");
    BOOST_TEST_REQUIRE(png.size() > 1000U);
    BOOST_TEST(png.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
    BOOST_TEST(png.substr(12, 4) == "IHDR");
    BOOST_TEST(big_endian_u32(png, 16) == 1280U); // width
    BOOST_TEST(big_endian_u32(png, 20) == 1500U); // height: the whole page
}

BOOST_AUTO_TEST_CASE(the_destructor_leaves_no_chromium_process, *boost::unit_test::precondition(chromium_available))
{
    const test::TempDir dir;
    const std::string profile_flag = "--user-data-dir=" + (dir / "profile").string();
    {
        const Browser browser(*find_chromium(), dir / "profile");
        BOOST_TEST(processes_with(profile_flag) >= 2U); // the browser and its helpers (zygote, renderer...)
    }
    // SIGKILLed helpers may take a moment to vanish from /proc.
    const auto deadline = Clock::now() + std::chrono::seconds(2);
    while (processes_with(profile_flag) > 0 && Clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    BOOST_TEST(processes_with(profile_flag) == 0U);
}

BOOST_AUTO_TEST_SUITE_END()
