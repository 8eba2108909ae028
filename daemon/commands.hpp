// The one-shot commands that inspect rather than ingest: `hash` and `status`.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace ndrd::daemon {

// One JSON object per file on stdout; returns 1 if any file failed.
int hash_command(const config::Config& cfg, bool use_index, const std::vector<std::string>& files,
                 bool with_feature);

// Human-readable status of the index on stdout.
int status_command(const config::Config& cfg);

// JSON string literal for `s` (quotes included).
std::string json_string(std::string_view s);

}  // namespace ndrd::daemon
