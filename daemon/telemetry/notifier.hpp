// Tells systemd what the daemon is doing (sd_notify): ready, reloading,
// stopping, a one-line status, and watchdog keep-alives. Without
// NOTIFY_SOCKET (not under a Type=notify unit) every call does nothing.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace ndrd::daemon {

class Notifier {
public:
    Notifier();

    void ready();
    void reloading();
    void stopping();
    void status(std::string_view line);
    void watchdog();
    // Asks for `more` time before READY=1 (or STOPPING) is due, so a start
    // that waits on purpose is not killed by TimeoutStartSec.
    void extend_timeout(std::chrono::microseconds more);

    // How often to call watchdog(): half of the unit's WatchdogSec, or
    // nullopt when systemd expects no keep-alives.
    [[nodiscard]] std::optional<std::chrono::microseconds> watchdog_period() const { return watchdog_period_; }

private:
    void send(std::string_view state);
    std::optional<std::chrono::microseconds> watchdog_period_;
};

} // namespace ndrd::daemon
