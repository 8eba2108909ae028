// Parsing --since (see since.hpp).
#include "daemon/report/since.hpp"

#include <charconv>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

namespace ndrd::daemon {

namespace {

std::invalid_argument bad_since(std::string_view text)
{
    return std::invalid_argument("--since '" + std::string(text) +
                                 "': give a UTC date or time (2026-12-01, 2026-12-01T08:30, 2026-12-01T08:30:00Z) "
                                 "or a duration back from now (90m, 36h, 7d, 2w)");
}

// Reads exactly `digits` digits at `pos`; false if they are not there.
bool read_number(std::string_view text, std::size_t& pos, std::size_t digits, int& out)
{
    if (pos + digits > text.size()) return false;
    const char* first = text.data() + pos;
    const auto [ptr, ec] = std::from_chars(first, first + digits, out);
    if (ec != std::errc() || ptr != first + digits) return false;
    pos += digits;
    return true;
}

bool expect(std::string_view text, std::size_t& pos, char c)
{
    if (pos >= text.size() || text[pos] != c) return false;
    ++pos;
    return true;
}

std::optional<std::int64_t> duration_ms(std::string_view text)
{
    if (text.size() < 2) return std::nullopt;
    std::int64_t n = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size() - 1, n);
    if (ec != std::errc() || ptr != text.data() + text.size() - 1 || n < 0) return std::nullopt;
    constexpr std::int64_t minute = 60'000;
    switch (text.back()) {
    case 'm': return n * minute;
    case 'h': return n * 60 * minute;
    case 'd': return n * 24 * 60 * minute;
    case 'w': return n * 7 * 24 * 60 * minute;
    default: return std::nullopt;
    }
}

} // namespace

std::int64_t parse_since(std::string_view text, std::int64_t now_ms)
{
    if (const auto back = duration_ms(text)) {
        return now_ms - *back;
    }
    std::size_t pos = 0;
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    if (!read_number(text, pos, 4, year) || !expect(text, pos, '-') || !read_number(text, pos, 2, month) ||
        !expect(text, pos, '-') || !read_number(text, pos, 2, day)) {
        throw bad_since(text);
    }
    if (pos < text.size()) {
        if (!expect(text, pos, 'T') || !read_number(text, pos, 2, hour) || !expect(text, pos, ':') ||
            !read_number(text, pos, 2, minute)) {
            throw bad_since(text);
        }
        if (pos < text.size() && text[pos] == ':') {
            ++pos;
            if (!read_number(text, pos, 2, second)) throw bad_since(text);
        }
        if (pos < text.size() && !expect(text, pos, 'Z')) throw bad_since(text);
        if (pos != text.size()) throw bad_since(text);
    }
    using namespace std::chrono;
    const year_month_day date{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                              std::chrono::day(static_cast<unsigned>(day))};
    if (!date.ok() || hour > 23 || minute > 59 || second > 59) {
        throw bad_since(text);
    }
    const auto t = sys_days(date) + hours(hour) + minutes(minute) + seconds(second);
    return duration_cast<milliseconds>(t.time_since_epoch()).count();
}

} // namespace ndrd::daemon
