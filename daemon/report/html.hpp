// Small pieces of HTML text for the report pages: escaping, numbers and
// times as the pages print them, and writing a file (a page, a thumbnail) so
// no reader sees half.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace ndrd::daemon::html {

// Text for an element's content or a quoted attribute: & < > " ' escaped.
std::string escape(std::string_view text);

// "2026-12-06 19:55:01 UTC" from unix milliseconds; "" for 0 (not recorded).
std::string utc_time(std::int64_t ms);

// A similarity with four decimals ("0.9731"), as every page shows it.
std::string similarity(double value);

// Writes `text` to `path` under a temporary name unique to its writer
// (process and thread), then renames it over the old file: no reader, and no
// other writer, sees half of it. Throws std::runtime_error naming the file.
void write_file(const std::filesystem::path& path, std::string_view text);

} // namespace ndrd::daemon::html
