// sd_notify wrapper (see notifier.hpp).
#include "daemon/telemetry/notifier.hpp"

#include <ctime>
#include <string>

#include <systemd/sd-daemon.h>

#include "daemon/telemetry/logger.hpp"

namespace ndrd::daemon {

namespace {

std::uint64_t monotonic_usec()
{
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000U + static_cast<std::uint64_t>(ts.tv_nsec) / 1000U;
}

} // namespace

Notifier::Notifier()
{
    std::uint64_t usec = 0;
    // unset_environment = 0: a child (none today) would not inherit it
    // anyway, and tests read the same variables.
    if (::sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        watchdog_period_ = std::chrono::microseconds(usec / 2);
    }
}

void Notifier::send(std::string_view state)
{
    const std::string text(state);
    const int r = ::sd_notify(0, text.c_str());
    if (r < 0) {
        // Not fatal: systemd will act on the missing message (timeout,
        // watchdog), and the log says why.
        log_warning("sd_notify(", text.substr(0, text.find('\n')), ") failed: error ", -r);
    }
}

void Notifier::ready()
{
    send("READY=1");
}

void Notifier::reloading()
{
    // MONOTONIC_USEC lets Type=notify-reload units (systemd 253+) match the
    // reload to its request; older systemd ignores it.
    send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_usec()));
}

void Notifier::stopping()
{
    send("STOPPING=1");
}

void Notifier::status(std::string_view line)
{
    send("STATUS=" + std::string(line));
}

void Notifier::watchdog()
{
    send("WATCHDOG=1");
}

void Notifier::extend_timeout(std::chrono::microseconds more)
{
    send("EXTEND_TIMEOUT_USEC=" + std::to_string(more.count()));
}

} // namespace ndrd::daemon
