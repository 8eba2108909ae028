// --since: UTC dates and times, durations back from now, and a clear error
// for anything else.
#define BOOST_TEST_MODULE since
#include <boost/test/unit_test.hpp>

#include <stdexcept>

#include "daemon/report/since.hpp"

using ndrd::daemon::parse_since;

namespace {
constexpr std::int64_t second = 1000;
constexpr std::int64_t minute = 60 * second;
constexpr std::int64_t hour = 60 * minute;
constexpr std::int64_t day = 24 * hour;
constexpr std::int64_t december_first_2026 = 1'796'083'200'000;
} // namespace

BOOST_AUTO_TEST_SUITE(since)

BOOST_AUTO_TEST_CASE(utc_dates_and_times_are_unix_milliseconds)
{
    BOOST_TEST(parse_since("1970-01-02", 0) == day);
    BOOST_TEST(parse_since("2026-12-01", 0) == december_first_2026);
    BOOST_TEST(parse_since("2026-12-01T08:30", 0) == december_first_2026 + 8 * hour + 30 * minute);
    BOOST_TEST(parse_since("2026-12-01T08:30:15Z", 0) == december_first_2026 + 8 * hour + 30 * minute + 15 * second);
}

BOOST_AUTO_TEST_CASE(durations_count_back_from_now)
{
    const std::int64_t now = 10'000'000'000;
    BOOST_TEST(parse_since("90m", now) == now - 90 * minute);
    BOOST_TEST(parse_since("36h", now) == now - 36 * hour);
    BOOST_TEST(parse_since("7d", now) == now - 7 * day);
    BOOST_TEST(parse_since("2w", now) == now - 14 * day);
}

BOOST_AUTO_TEST_CASE(anything_else_is_refused_with_the_accepted_forms)
{
    for (const char* bad : {"", "yesterday", "2026-13-01", "2026-02-30", "2026-12-01T25:00", "2026-12-01 08:30", "12x",
                            "-5d", "2026-12-01T08:30Zjunk"}) {
        try {
            (void)parse_since(bad, 0);
            BOOST_ERROR("accepted '" << bad << "'");
        } catch (const std::invalid_argument& e) {
            BOOST_TEST(std::string(e.what()).find("36h") != std::string::npos, e.what());
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
