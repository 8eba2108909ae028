// An operator's word over the hash decision: `release` makes a duplicate a
// kept reference in the working subset, `mark-duplicate` the reverse. The
// record remembers it, so restarts, rebalances and re-imports respect it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

#include "daemon/route/relocator.hpp"
#include "index/store/hash_index.hpp"

namespace ndrd::daemon {

class Decisions;

// The target cannot be overridden (unknown, rejected, or still moving); the
// message says which item and why.
class OverrideError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// "release" or "mark-duplicate" (the command names); nullopt otherwise.
std::optional<index::Override> parse_override_action(std::string_view command);
std::string_view command_name(index::Override action);

// The item a command-line target names: an item number, or the path of a
// file in the output tree (absolute, relative to the working directory, or
// relative to output_dir). Scans the index for a path. Throws OverrideError.
std::uint64_t resolve_target(const index::HashIndex& index, const std::filesystem::path& output_dir,
                             std::string_view target);

// Records the override and moves the file into its new subset (journaled
// like every move). Returns the updated record. Throws OverrideError when
// the item cannot take it, RouteError / IndexWriteError when the move or
// write fails (the journal entry is then settled by the next recovery).
index::ItemRecord apply_override(index::HashIndex& index, Relocator& relocator, index::Override action,
                                 std::uint64_t seq);
// The same, through the decision stream the owner shares. On a shared
// stream the file moves on the host that holds it.
index::ItemRecord apply_override(Decisions& decisions, index::HashIndex& index, Relocator& relocator,
                                 index::Override action, std::uint64_t seq);

// The JSON line both the control socket and the command print.
std::string override_json(const index::ItemRecord& rec);

} // namespace ndrd::daemon
