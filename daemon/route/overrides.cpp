// Operator overrides (see overrides.hpp).
#include "daemon/route/overrides.hpp"

#include <charconv>
#include <optional>

#include "daemon/route/decisions.hpp"
#include "daemon/telemetry/json.hpp"
#include "daemon/telemetry/logger.hpp"

namespace ndrd::daemon {

namespace fs = std::filesystem;
using index::ItemRecord;
using index::Override;
using index::RouteState;
using index::Verdict;

std::optional<Override> parse_override_action(std::string_view command)
{
    if (command == "release") return Override::released;
    if (command == "mark-duplicate") return Override::marked_duplicate;
    return std::nullopt;
}

std::string_view command_name(Override action)
{
    return action == Override::released ? "release" : "mark-duplicate";
}

std::uint64_t resolve_target(const index::HashIndex& index, const fs::path& output_dir, std::string_view target)
{
    std::uint64_t seq = 0;
    const auto* end = target.data() + target.size();
    // from_chars takes a [first, last) range: no terminator is read.
    // NOLINTNEXTLINE(bugprone-suspicious-stringview-data-usage)
    if (const auto [ptr, ec] = std::from_chars(target.data(), end, seq); ec == std::errc() && ptr == end) {
        if (seq == 0 || !index.get(seq)) {
            throw OverrideError("no item " + std::string(target) + " in the index");
        }
        return seq;
    }
    // A path: the location the index records is relative to output_dir.
    std::error_code ec;
    const fs::path root = fs::weakly_canonical(output_dir, ec);
    const fs::path as_given(target);
    std::string location = as_given.lexically_normal().string();
    const fs::path absolute = fs::weakly_canonical(fs::absolute(as_given), ec);
    if (!ec) {
        const fs::path rel = absolute.lexically_relative(root);
        if (!rel.empty() && *rel.begin() != "..") location = rel.string();
    }
    std::uint64_t found = 0;
    index.for_each([&](const ItemRecord& r) {
        if (r.location == location) found = r.seq;
        return found == 0;
    });
    if (found == 0) {
        throw OverrideError("no item of the index is at " + std::string(target) + " (looked for " +
                            (output_dir / location).string() + "); give the item number from 'ndrd export'");
    }
    return found;
}

ItemRecord apply_override(index::HashIndex& index, Relocator& relocator, Override action, std::uint64_t seq)
{
    Decisions decisions(index, relocator);
    return apply_override(decisions, index, relocator, action, seq);
}

ItemRecord apply_override(Decisions& decisions, index::HashIndex& index, Relocator& relocator, Override action,
                          std::uint64_t seq)
{
    auto found = index.get(seq);
    if (!found) throw OverrideError("no item " + std::to_string(seq) + " in the index");
    ItemRecord rec = std::move(*found);
    const std::string what = "item " + std::to_string(seq) + " (" + rec.source + ")";
    if (rec.verdict == Verdict::rejected) {
        throw OverrideError(what + " was rejected (" + rec.reason + "): it has no feature to keep or compare");
    }
    if (rec.state == RouteState::expired) {
        throw OverrideError(what + " was deleted by retention");
    }
    if (rec.state != RouteState::done) {
        throw OverrideError(what + " is " + std::string(index::to_string(rec.state)) +
                            ", not settled in the output tree; try again once its move is done");
    }
    // The override is an entry of the decision stream: the core changes the
    // decision, the decider journals the move (synced) before the file moves.
    Applied applied = decisions.submit(index::OperatorOverride{seq, action});
    if (applied.outcome.refused) {
        throw OverrideError(*applied.outcome.refused);
    }
    if (applied.records.empty()) { // applied before, as a repeat: it is what the index says now
        return index.get(seq).value_or(rec);
    }
    rec = std::move(applied.records.front());
    if (rec.origin != decisions.instance()) {
        log_info(command_name(action), ": ", what, " is instance ", rec.origin, "'s file; it moves there");
        return rec;
    }
    if (rec.state != RouteState::planned) { // already where it belongs: only the decision changes
        log_info(command_name(action), ": ", what, " stays at ", rec.location);
        return rec;
    }
    if (relocator.execute(rec) == RelocateOutcome::vanished) {
        throw OverrideError(what + " was no longer at " + rec.previous_location + "; recorded as vanished");
    }
    log_info(command_name(action), ": ", what, " moved to ", rec.location);
    return rec;
}

std::string override_json(const ItemRecord& rec)
{
    Json o;
    o["ok"] = true;
    o["item"] = rec.seq;
    o["source"] = rec.source;
    o["location"] = rec.location;
    o["decision"] = index::to_string(rec.verdict);
    o["override"] = index::to_string(rec.operator_override);
    return json_text(o);
}

} // namespace ndrd::daemon
