// Index export (see exporter.hpp).
#include "daemon/control/exporter.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "daemon/telemetry/json.hpp"

namespace ndrd::daemon {

namespace {

// Columns are only ever appended, so that scripts reading them by position
// keep working: `instance` is the host whose ingest directory the file came
// to (empty on a single host); `pixels` the image's stored width x height
// (empty when not known); `replaced_item` the kept image a better copy
// replaced (keep: best), `replaced_by_item` the better copy that replaced
// this one; `expired_ms` when retention deleted the file.
constexpr std::array<std::string_view, 20> kColumns = {
    "item",      "source",       "location",        "subset",        "decision",         "state",      "key",
    "reason",    "matched_item", "best_similarity", "match",         "override",         "size_bytes", "ingested_ms",
    "routed_ms", "instance",     "pixels",          "replaced_item", "replaced_by_item", "expired_ms"};

// A count or item number, empty for 0 (none or not known).
std::string number_or_empty(std::uint64_t v)
{
    return v != 0 ? std::to_string(v) : std::string();
}

Json number_or_null(std::uint64_t v)
{
    return v != 0 ? Json(v) : Json(nullptr);
}

// How a duplicate was matched: a flip or rotation's name, "exact_copy", or
// empty (the image as it is, or no match).
std::string match_text(const index::ItemRecord& r)
{
    if (r.exact_copy) return "exact_copy";
    if (r.matched_variant) return std::string(index::name(*r.matched_variant));
    return {};
}

std::string override_text(const index::ItemRecord& r)
{
    return r.operator_override == index::Override::none ? std::string()
                                                        : std::string(index::to_string(r.operator_override));
}

// RFC 4180: quote a field holding a comma, quote, CR or LF; double quotes.
std::string csv_field(std::string_view s)
{
    if (s.find_first_of(",\"\r\n") == std::string_view::npos) {
        return std::string(s);
    }
    std::string out = "\"";
    for (const char c : s) {
        out += c;
        if (c == '"') out += '"';
    }
    return out + "\"";
}

std::string similarity_text(const std::optional<double>& v)
{
    if (!v) return {};
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", *v);
    return buf;
}

// One item as a JSON line: the CSV's columns, with null where CSV leaves a
// field empty for want of a value (no key, no match, no similarity).
Json jsonl_row(const index::ItemRecord& r, const std::string& key)
{
    Json o;
    o["item"] = r.seq;
    o["source"] = r.source;
    o["location"] = r.location;
    o["subset"] = index::to_string(r.subset);
    o["decision"] = index::to_string(r.verdict);
    o["state"] = index::to_string(r.state);
    o["key"] = r.verdict != index::Verdict::rejected ? Json(key) : Json(nullptr);
    o["reason"] = r.reason;
    o["matched_item"] = r.matched_seq ? Json(r.matched_seq) : Json(nullptr);
    o["best_similarity"] = r.best_similarity ? Json(*r.best_similarity) : Json(nullptr);
    o["match"] = match_text(r);
    o["override"] = override_text(r);
    o["size_bytes"] = r.size;
    o["ingested_ms"] = r.ingested_ms;
    o["routed_ms"] = r.routed_ms;
    o["instance"] = r.origin;
    o["pixels"] = number_or_null(r.pixels);
    o["replaced_item"] = number_or_null(r.replaced);
    o["replaced_by_item"] = number_or_null(r.replaced_by);
    o["expired_ms"] = r.expired_ms != 0 ? Json(r.expired_ms) : Json(nullptr);
    return o;
}

} // namespace

ExportFormat parse_export_format(std::string_view name)
{
    if (name == "csv") return ExportFormat::csv;
    if (name == "jsonl") return ExportFormat::jsonl;
    throw std::invalid_argument("--format must be csv or jsonl, not '" + std::string(name) + "'");
}

std::uint64_t export_items(const index::HashIndex& index, ExportFormat format, std::ostream& out)
{
    std::uint64_t n = 0;
    if (format == ExportFormat::csv) {
        for (std::size_t i = 0; i < kColumns.size(); ++i) {
            out << (i ? "," : "") << kColumns[i];
        }
        out << "\r\n";
    }
    index.for_each([&](const index::ItemRecord& r) {
        const bool hashed = r.verdict != index::Verdict::rejected;
        const std::string key = hashed ? r.key.hex() : std::string();
        const std::string matched = r.matched_seq ? std::to_string(r.matched_seq) : std::string();
        if (format == ExportFormat::csv) {
            out << r.seq << ',' << csv_field(r.source) << ',' << csv_field(r.location) << ','
                << index::to_string(r.subset) << ',' << index::to_string(r.verdict) << ',' << index::to_string(r.state)
                << ',' << key << ',' << csv_field(r.reason) << ',' << matched << ','
                << similarity_text(r.best_similarity) << ',' << match_text(r) << ',' << override_text(r) << ','
                << r.size << ',' << r.ingested_ms << ',' << r.routed_ms << ',' << csv_field(r.origin) << ','
                << number_or_empty(r.pixels) << ',' << number_or_empty(r.replaced) << ','
                << number_or_empty(r.replaced_by) << ','
                << number_or_empty(static_cast<std::uint64_t>(std::max<std::int64_t>(r.expired_ms, 0))) << "\r\n";
        } else {
            out << json_text(jsonl_row(r, key)) << '\n';
        }
        ++n;
        return true;
    });
    return n;
}

} // namespace ndrd::daemon
