// What the daemon did in the last minute, for status: files routed per
// second and the event-to-routed latency percentiles. Bounded in memory.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>

namespace ndrd::daemon {

class RecentActivity {
public:
    using Clock = std::chrono::steady_clock;

    explicit RecentActivity(std::chrono::seconds window = std::chrono::seconds(60), std::size_t max_samples = 100'000);

    // A file routed at `when`, `latency` after its event arrived.
    void record(Clock::time_point when, std::chrono::duration<double> latency);

    struct Summary {
        double files_per_second = 0; // over the window, or since `since` if that is shorter
        std::optional<double> p50_seconds;
        std::optional<double> p99_seconds;
        std::size_t samples = 0;
    };
    [[nodiscard]] Summary summary(Clock::time_point now, Clock::time_point since) const;

private:
    struct Sample {
        Clock::time_point when;
        double latency;
    };
    void expire(Clock::time_point now);

    std::chrono::seconds window_;
    std::size_t max_samples_;
    std::deque<Sample> samples_;
};

} // namespace ndrd::daemon
