// One ingested file as the index remembers it: where it came from, where it
// is now, how it was decided. Also the on-disk encoding of that record.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "index/hash/invariance.hpp"
#include "index/hash/key.hpp"

namespace ndrd::index {

// What the hash decision said about the file.
enum class Verdict : std::uint8_t { kept = 0, duplicated = 1, rejected = 2 };
// Which output area holds the file now. A rebalance may move kept items out
// ("cut": verdict kept, subset duplicated) and duplicates in ("restored").
enum class Subset : std::uint8_t { working = 0, duplicated = 1, rejected = 2 };
// `planned`: the record is durable but the move may not have happened yet
// (the journal entry recovery completes). `vanished`: the source disappeared
// before it could be moved; the record stays as history, but is no reference.
// `expired`: retention deleted the file (a duplicate or rejected item); the
// record stays with its digest, its feature is dropped.
enum class RouteState : std::uint8_t { planned = 0, done = 1, vanished = 2, expired = 3 };
// An operator's word over the hash decision (ndrd release / mark-duplicate):
// it sticks through restarts, and rebalancing leaves the item where it is.
enum class Override : std::uint8_t { none = 0, released = 1, marked_duplicate = 2 };

struct ItemRecord {
    std::uint64_t seq = 0; // ingest order, from 1
    std::string source;    // path relative to ingest_dir, as it arrived
    std::string location;  // path relative to output_dir, subset directory first
    // While a rebalance move is planned: where the file is until the move is
    // done (relative to output_dir). Empty for a move out of the ingest directory.
    std::string previous_location;
    Verdict verdict = Verdict::kept;
    Subset subset = Subset::working;
    RouteState state = RouteState::planned;
    Key key;
    std::vector<float> feature; // empty for rejected items
    bool degenerate = false;
    std::optional<double> best_similarity;
    std::uint64_t matched_seq = 0; // 0 = none
    std::string reason;            // why it was rejected
    std::uint64_t size = 0;        // bytes
    std::uint64_t device = 0;      // st_dev and st_ino of the source when it was decided: recovery
    std::uint64_t inode = 0;       // tells "already moved" from "a new file under the same name"
    std::int64_t ingested_ms = 0;  // unix time the decision was made
    std::int64_t routed_ms = 0;    // unix time the move completed
    // XXH3-128 of the file's bytes (16 bytes; empty in records written before
    // digests existed): a byte-identical copy is recognised without decoding.
    std::string digest;
    // How the match was found: the flip or rotation of this image that
    // matched (none: the image as it is), or its bytes (a byte-identical copy
    // of an indexed item, decided without decoding).
    std::optional<Variant> matched_variant;
    bool exact_copy = false;
    Override operator_override = Override::none;
    // The instance whose ingest directory the file arrived in, when several
    // share one decision stream (empty on a single host): only that instance
    // holds the file and moves it.
    std::string origin;
    // Width x height of the image as stored (0: not known, in records
    // written before it was kept): keep: best compares it.
    std::uint64_t pixels = 0;
    // keep: best swapped the group's kept reference: `replaced` is the item
    // this one took the place of, `replaced_by` the item that took this
    // one's (0 = none).
    std::uint64_t replaced = 0;
    std::uint64_t replaced_by = 0;
    // Unix time retention deleted the file (state expired), 0 otherwise.
    std::int64_t expired_ms = 0;

    [[nodiscard]] std::string encode() const;
    static ItemRecord decode(std::uint64_t seq, std::string_view bytes);
};

// Wall-clock time in milliseconds since the epoch, for record timestamps.
std::int64_t unix_ms_now();

std::string_view to_string(Verdict v);
std::string_view to_string(Subset s);
std::string_view to_string(RouteState s);
std::string_view to_string(Override o);

} // namespace ndrd::index
