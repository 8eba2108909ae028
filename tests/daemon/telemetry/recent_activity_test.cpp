// The status figures for the last minute: files/s over the window (or since
// start when shorter), nearest-rank latency percentiles, old samples expire.
#define BOOST_TEST_MODULE recent_activity
#include <boost/test/unit_test.hpp>

#include "daemon/telemetry/recent_activity.hpp"

using ndrd::daemon::RecentActivity;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(recent_activity)

BOOST_AUTO_TEST_CASE(nothing_routed_gives_zero_rate_and_no_percentiles)
{
    const RecentActivity a;
    const auto t0 = RecentActivity::Clock::now();
    const auto s = a.summary(t0 + 10s, t0);
    BOOST_TEST(s.files_per_second == 0.0);
    BOOST_TEST(!s.p50_seconds.has_value());
    BOOST_TEST(!s.p99_seconds.has_value());
}

BOOST_AUTO_TEST_CASE(percentiles_are_nearest_rank_over_the_window)
{
    RecentActivity a;
    const auto t0 = RecentActivity::Clock::now();
    // 100 files with latencies 1..100 ms, one per 100 ms.
    for (int i = 1; i <= 100; ++i) {
        a.record(t0 + i * 100ms, std::chrono::milliseconds(i));
    }
    const auto s = a.summary(t0 + 10s, t0);
    BOOST_TEST(s.samples == 100U);
    BOOST_TEST(*s.p50_seconds == 0.050, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(*s.p99_seconds == 0.099, boost::test_tools::tolerance(1e-12));
    // 100 files in the 10 s since start.
    BOOST_TEST(s.files_per_second == 10.0, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(samples_older_than_the_window_expire)
{
    RecentActivity a(60s);
    const auto t0 = RecentActivity::Clock::now();
    for (int i = 0; i < 30; ++i) {
        a.record(t0 + std::chrono::seconds(i), 5s); // slow ones, early
    }
    for (int i = 0; i < 60; ++i) {
        a.record(t0 + 100s + std::chrono::seconds(i), 10ms);
    }
    const auto s = a.summary(t0 + 160s, t0);
    BOOST_TEST(s.samples == 60U);
    BOOST_TEST(*s.p99_seconds == 0.010, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(s.files_per_second == 1.0, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(memory_is_bounded_by_max_samples)
{
    RecentActivity a(60s, 10);
    const auto t0 = RecentActivity::Clock::now();
    for (int i = 0; i < 1000; ++i) {
        a.record(t0 + std::chrono::milliseconds(i), std::chrono::milliseconds(i));
    }
    const auto s = a.summary(t0 + 1s, t0);
    BOOST_TEST(s.samples == 10U);
    BOOST_TEST(*s.p50_seconds == 0.994, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_SUITE_END()
