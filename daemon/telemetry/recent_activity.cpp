// Rolling window of routed files (see recent_activity.hpp).
#include "daemon/telemetry/recent_activity.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace ndrd::daemon {

RecentActivity::RecentActivity(std::chrono::seconds window, std::size_t max_samples)
    : window_(window), max_samples_(max_samples)
{
}

void RecentActivity::expire(Clock::time_point now)
{
    while (!samples_.empty() && now - samples_.front().when > window_) {
        samples_.pop_front();
    }
}

void RecentActivity::record(Clock::time_point when, std::chrono::duration<double> latency)
{
    expire(when);
    // In a burst faster than max_samples per window the oldest samples go
    // first: the rate then reads low, the percentiles stay right.
    if (samples_.size() >= max_samples_) {
        samples_.pop_front();
    }
    samples_.push_back({when, latency.count()});
}

RecentActivity::Summary RecentActivity::summary(Clock::time_point now, Clock::time_point since) const
{
    Summary s;
    std::vector<double> latencies;
    for (const auto& sample : samples_) {
        if (now - sample.when <= window_) {
            latencies.push_back(sample.latency);
        }
    }
    s.samples = latencies.size();
    const double span =
        std::min(std::chrono::duration<double>(window_).count(), std::chrono::duration<double>(now - since).count());
    s.files_per_second = span > 0 ? static_cast<double>(latencies.size()) / span : 0.0;
    if (latencies.empty()) {
        return s;
    }
    std::sort(latencies.begin(), latencies.end());
    // Nearest rank: the smallest sample with at least q of them at or below it.
    const auto rank = [&](double q) {
        const auto n = static_cast<double>(latencies.size());
        const auto k = static_cast<std::size_t>(std::max(1.0, std::ceil(q * n)));
        return latencies[k - 1];
    };
    s.p50_seconds = rank(0.50);
    s.p99_seconds = rank(0.99);
    return s;
}

} // namespace ndrd::daemon
