// `ndrd export`: every item of the index as a table for dataset tooling
// (CSV with a header row, or one JSON object per line), read from a
// consistent read-only snapshot, so a daemon may keep running meanwhile.
#pragma once

#include <ostream>
#include <string_view>

#include "index/store/hash_index.hpp"

namespace ndrd::daemon {

enum class ExportFormat { csv, jsonl };

// Throws std::invalid_argument for anything but "csv" or "jsonl".
ExportFormat parse_export_format(std::string_view name);

// Writes every record in ingest order; returns how many.
std::uint64_t export_items(const index::HashIndex& index, ExportFormat format, std::ostream& out);

} // namespace ndrd::daemon
