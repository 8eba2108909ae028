// The one logger: levelled lines on stderr. When stderr is the journal stream
// systemd set up (JOURNAL_STREAM names it), lines carry sd-daemon "<N>"
// priority prefixes so journald keeps the level.
#pragma once

#include <sstream>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace ndrd::daemon {

using config::LogLevel;

void set_log_level(LogLevel level);
[[nodiscard]] bool log_enabled(LogLevel level);
void log_line(LogLevel level, std::string_view message);

namespace detail {
template <typename... Args> void log(LogLevel level, const Args&... args)
{
    if (!log_enabled(level)) {
        return;
    }
    std::ostringstream ss;
    (ss << ... << args);
    log_line(level, ss.str());
}
} // namespace detail

template <typename... Args> void log_error(const Args&... a)
{
    detail::log(LogLevel::error, a...);
}
template <typename... Args> void log_warning(const Args&... a)
{
    detail::log(LogLevel::warning, a...);
}
template <typename... Args> void log_info(const Args&... a)
{
    detail::log(LogLevel::info, a...);
}
template <typename... Args> void log_debug(const Args&... a)
{
    detail::log(LogLevel::debug, a...);
}

} // namespace ndrd::daemon
