// Headless Chromium for the end-to-end tests: opens a page (e.g. a report
// from file://), reads its DOM, lists its requests and takes a screenshot.
//
// It talks the DevTools protocol over --remote-debugging-pipe (fd 3: commands
// to chromium, fd 4: replies and events, each JSON text ended by a NUL byte),
// so it needs no port, no websocket and no npm, only Debian's chromium.
//
//   BOOST_AUTO_TEST_CASE(report_renders, *boost::unit_test::precondition(e2e::chromium_available))
//   {
//       test::TempDir dir;
//       e2e::Browser browser(*e2e::find_chromium(), dir / "profile");
//       const auto load = browser.open(e2e::file_url(dir / "report.html"));
//       BOOST_TEST(browser.evaluate("document.querySelectorAll('tr').length").get<int>() == 3);
//       browser.screenshot(dir / "report.png");
//   }
#pragma once

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ndrd::e2e {

// Debian's chromium: $NDRD_CHROMIUM if set, else /usr/bin/chromium; nullopt
// if that is not an executable file.
std::optional<std::filesystem::path> find_chromium();

// Boost.Test precondition: the test is skipped, with the reason, when
// find_chromium() finds nothing.
boost::test_tools::assertion_result chromium_available(boost::unit_test::test_unit_id /*unused*/);

// The file:// URL of an absolute path, percent-encoded where needed.
std::string file_url(const std::filesystem::path& absolute);

// One headless chromium process with one page. Every call waits with a
// deadline and throws std::runtime_error (naming the command that timed out,
// or with chromium's stderr tail if it died). The destructor closes the
// browser (Browser.close, SIGKILL after a short grace) and reaps it.
class Browser {
public:
    // Starts chromium with its profile (and its log, chromium.log) in
    // `profile_dir`, created if missing; waits until the page is ready.
    Browser(const std::filesystem::path& chromium, const std::filesystem::path& profile_dir,
            std::chrono::milliseconds startup_timeout = std::chrono::seconds(30));
    Browser(const Browser&) = delete;
    Browser& operator=(const Browser&) = delete;
    Browser(Browser&&) noexcept; // a moved-from Browser can only be destroyed
    Browser& operator=(Browser&&) noexcept;
    ~Browser();

    // What a page did while open() waited for it.
    struct Load {
        std::vector<std::string> requested_urls; // in the order they started, the page's own first
        std::vector<std::string> failed_urls;    // refused, blocked, not found, cancelled...
        std::vector<std::string> errors;         // uncaught exceptions, console.error and console.assert
    };
    // Navigates the page to `url` and waits for its load event, then until no
    // request is pending (and none started for 100 ms). Throws if the
    // navigation itself fails (e.g. net::ERR_FILE_NOT_FOUND) or at the
    // timeout, naming what it still waits for. The requests are all those of
    // the page (itself included), its frames and its workers.
    Load open(const std::string& url, std::chrono::milliseconds timeout = std::chrono::seconds(30));

    // The value of a JavaScript expression (promises are awaited), as JSON;
    // null for undefined. Throws with the exception text if it throws.
    nlohmann::json evaluate(const std::string& js, std::chrono::milliseconds timeout = std::chrono::seconds(30));

    // Writes a PNG of the whole page laid out `width` CSS pixels wide (the
    // viewport stays width x height afterwards).
    void screenshot(const std::filesystem::path& png, int width = 1280, int height = 900);

    // Chromium's stdout and stderr so far (for failure messages).
    [[nodiscard]] std::string log_text() const;

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace ndrd::e2e
