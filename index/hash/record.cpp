// Item records and their encoding (see record.hpp).
#include "index/hash/record.hpp"

#include <chrono>
#include <cmath>
#include <iterator>
#include <limits>

#include "index/hash/codec.hpp"

namespace ndrd::index {

namespace {
// Version 2 appends the origin (always), pixels, the swap's two items and
// the expiry time; records without any of those are still written as 1.
constexpr std::uint8_t format_version = 1;
constexpr std::uint8_t format_version_2 = 2;
} // namespace

std::string ItemRecord::encode() const
{
    const bool v2 = pixels != 0 || replaced != 0 || replaced_by != 0 || expired_ms != 0;
    Writer w;
    w.u8(v2 ? format_version_2 : format_version);
    w.bytes(source);
    w.bytes(location);
    w.bytes(previous_location);
    w.u8(static_cast<std::uint8_t>(verdict));
    w.u8(static_cast<std::uint8_t>(subset));
    w.u8(static_cast<std::uint8_t>(state));
    w.bytes(key.bytes);
    w.floats(feature);
    w.u8(degenerate ? 1 : 0);
    w.f64(best_similarity.value_or(std::numeric_limits<double>::quiet_NaN()));
    w.u8(best_similarity ? 1 : 0);
    w.varint(matched_seq);
    w.bytes(reason);
    w.varint(size);
    w.varint(device);
    w.varint(inode);
    w.varint(static_cast<std::uint64_t>(ingested_ms));
    w.varint(static_cast<std::uint64_t>(routed_ms));
    w.bytes(digest); // appended: older records simply end before it
    // Appended after the digest, the same way.
    w.u8(matched_variant ? static_cast<std::uint8_t>(static_cast<unsigned>(*matched_variant) + 1) : 0);
    w.u8(exact_copy ? 1 : 0);
    w.u8(static_cast<std::uint8_t>(operator_override));
    if (v2) {
        w.bytes(origin);
        w.varint(pixels);
        w.varint(replaced);
        w.varint(replaced_by);
        w.varint(static_cast<std::uint64_t>(expired_ms));
    } else if (!origin.empty()) {
        w.bytes(origin); // appended: a single host's records stay as they were
    }
    return w.take();
}

ItemRecord ItemRecord::decode(std::uint64_t seq, std::string_view bytes)
{
    Reader r(bytes);
    const auto version = r.u8();
    if (version != format_version && version != format_version_2) {
        throw CorruptRecord("item " + std::to_string(seq) + " has unknown format version " + std::to_string(version));
    }
    ItemRecord rec;
    rec.seq = seq;
    rec.source = r.bytes();
    rec.location = r.bytes();
    rec.previous_location = r.bytes();
    const auto verdict = r.u8();
    const auto subset = r.u8();
    const auto state = r.u8();
    if (verdict > 2 || subset > 2 || state > 3) {
        throw CorruptRecord("item " + std::to_string(seq) + " has an invalid enum value");
    }
    rec.verdict = static_cast<Verdict>(verdict);
    rec.subset = static_cast<Subset>(subset);
    rec.state = static_cast<RouteState>(state);
    rec.key.bytes = r.bytes();
    rec.feature = r.floats();
    rec.degenerate = r.u8() != 0;
    const double best = r.f64();
    if (r.u8() != 0) {
        rec.best_similarity = best;
    }
    rec.matched_seq = r.varint();
    rec.reason = r.bytes();
    rec.size = r.varint();
    rec.device = r.varint();
    rec.inode = r.varint();
    rec.ingested_ms = static_cast<std::int64_t>(r.varint());
    rec.routed_ms = static_cast<std::int64_t>(r.varint());
    if (!r.done()) {
        rec.digest = r.bytes();
    }
    if (!r.done()) {
        const auto variant = r.u8();
        const auto copy = r.u8();
        const auto over = r.u8();
        if (variant > std::size(all_variants) || copy > 1 || over > 2) {
            throw CorruptRecord("item " + std::to_string(seq) + " has an invalid match or override value");
        }
        if (variant > 0)
            rec.matched_variant =
                all_variants[variant - 1U]; // NOLINT(cppcoreguidelines-pro-bounds-constant-array-index)
        rec.exact_copy = copy != 0;
        rec.operator_override = static_cast<Override>(over);
    }
    if (version == format_version_2) {
        rec.origin = r.bytes();
        rec.pixels = r.varint();
        rec.replaced = r.varint();
        rec.replaced_by = r.varint();
        rec.expired_ms = static_cast<std::int64_t>(r.varint());
    } else if (!r.done()) {
        rec.origin = r.bytes();
        if (rec.origin.empty()) { // never written so: the encoder leaves an empty origin out
            throw CorruptRecord("item " + std::to_string(seq) + " has trailing bytes");
        }
    }
    if (!r.done()) {
        throw CorruptRecord("item " + std::to_string(seq) + " has trailing bytes");
    }
    return rec;
}

std::int64_t unix_ms_now()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string_view to_string(Verdict v)
{
    switch (v) {
    case Verdict::kept: return "kept";
    case Verdict::duplicated: return "duplicated";
    case Verdict::rejected: return "rejected";
    }
    return "?";
}

std::string_view to_string(Subset s)
{
    switch (s) {
    case Subset::working: return "working";
    case Subset::duplicated: return "duplicated";
    case Subset::rejected: return "rejected";
    }
    return "?";
}

std::string_view to_string(Override o)
{
    switch (o) {
    case Override::none: return "none";
    case Override::released: return "released";
    case Override::marked_duplicate: return "marked_duplicate";
    }
    return "?";
}

std::string_view to_string(RouteState s)
{
    switch (s) {
    case RouteState::planned: return "planned";
    case RouteState::done: return "done";
    case RouteState::vanished: return "vanished";
    case RouteState::expired: return "expired";
    }
    return "?";
}

} // namespace ndrd::index
