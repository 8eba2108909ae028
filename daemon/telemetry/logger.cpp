// The logger (see logger.hpp).
#include "daemon/telemetry/logger.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <string_view>
#include <system_error>

namespace ndrd::daemon {

namespace {

std::atomic<LogLevel> current_level{LogLevel::info};
std::mutex output_mutex;

// As systemd.exec(5) says to: JOURNAL_STREAM holds "device:inode" of the
// stream systemd connected; only when stderr is still that stream does it
// go to the journal (not when a service runs `ndrd ... 2>file`, or a child
// inherits the variable with stderr redirected).
bool stderr_is_journal()
{
    const char* env = std::getenv("JOURNAL_STREAM"); // NOLINT(concurrency-mt-unsafe): read once, at first log
    if (env == nullptr) return false;
    const char* const end = env + std::strlen(env);
    const char* const colon = std::find(env, end, ':');
    std::uint64_t dev = 0;
    std::uint64_t ino = 0;
    const auto [dev_end, dev_error] = std::from_chars(env, colon, dev);
    if (colon == end || dev_error != std::errc{} || dev_end != colon) return false;
    const auto [ino_end, ino_error] = std::from_chars(colon + 1, end, ino);
    if (ino_error != std::errc{} || ino_end != end) return false;
    struct stat st {};
    if (::fstat(STDERR_FILENO, &st) != 0) return false;
    return static_cast<std::uint64_t>(st.st_dev) == dev && static_cast<std::uint64_t>(st.st_ino) == ino;
}

bool under_journald()
{
    static const bool journald = stderr_is_journal();
    return journald;
}

int syslog_priority(LogLevel level)
{
    switch (level) {
    case LogLevel::error: return 3;
    case LogLevel::warning: return 4;
    case LogLevel::info: return 6;
    case LogLevel::debug: return 7;
    }
    return 6;
}

std::string_view level_name(LogLevel level)
{
    switch (level) {
    case LogLevel::error: return "error";
    case LogLevel::warning: return "warning";
    case LogLevel::info: return "info";
    case LogLevel::debug: return "debug";
    }
    return "info";
}

} // namespace

void set_log_level(LogLevel level)
{
    current_level = level;
}

bool log_enabled(LogLevel level)
{
    return static_cast<int>(level) <= static_cast<int>(current_level.load());
}

namespace {

// One event, one line: a file name holding a newline must not forge a
// second log line, nor a control character reach the terminal.
std::string one_line(std::string_view message)
{
    std::string out;
    out.reserve(message.size());
    for (const char ch : message) {
        const auto u = static_cast<unsigned char>(ch);
        if (ch == '\n') {
            out += "\\n";
        } else if (u < 0x20 || u == 0x7F) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(u));
            out += buf;
        } else {
            out += ch;
        }
    }
    return out;
}

} // namespace

void log_line(LogLevel level, std::string_view message)
{
    const std::string text = one_line(message);
    std::string line;
    if (under_journald()) {
        // journald adds its own timestamps.
        line = "<" + std::to_string(syslog_priority(level)) + ">" + text + "\n";
    } else {
        const auto now = std::chrono::system_clock::now();
        const std::time_t t = std::chrono::system_clock::to_time_t(now);
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
        std::tm tm{};
        gmtime_r(&t, &tm);
        char stamp[48];
        std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                      tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
        line = std::string(stamp) + " " + std::string(level_name(level)) + " " + text + "\n";
    }
    const std::scoped_lock lock(output_mutex);
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
}

} // namespace ndrd::daemon
