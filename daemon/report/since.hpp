// The --since argument of `ndrd report`: a moment, absolute (UTC) or a
// duration back from now.
#pragma once

#include <cstdint>
#include <string_view>

namespace ndrd::daemon {

// "2026-12-01", "2026-12-01T08:30", "2026-12-01T08:30:00Z" (UTC), or a
// duration before `now_ms`: "90m", "36h", "7d", "2w". Returns unix
// milliseconds. Throws std::invalid_argument naming the accepted forms.
std::int64_t parse_since(std::string_view text, std::int64_t now_ms);

} // namespace ndrd::daemon
