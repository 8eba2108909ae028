// The entries of the ordered decision stream: everything that changes what
// later decisions see, in the order every replica applies it. Host facts
// (inode, free name, time) are not part of an entry.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "index/hash/decision.hpp"
#include "index/hash/key.hpp"
#include "index/hash/record.hpp"
#include "index/hash/sampling.hpp"

namespace ndrd::index {

// The configuration's compat key, recorded with the rules it implies.
enum class Compat : std::uint8_t { off = 0, datumaro = 1 };
// Which image of a near-duplicate group is its kept reference: the first to
// arrive (Datumaro), or the best copy (better_copy()).
enum class Keep : std::uint8_t { first = 0, best = 1 };

// The matching rules in force from an entry on.
struct Rules {
    MatchRule match;         // sim_threshold, probe radius, flip/rotation variants
    bool exact_copy = false; // a byte-identical copy is its original's duplicate
    Compat compat = Compat::off;
    Keep keep = Keep::first;
    friend bool operator==(const Rules&, const Rules&) = default;
};

// A file read, decoded and hashed: the feature as the index stores it.
struct HashedItem {
    std::string digest; // XXH3-128 of the bytes
    Key key;
    std::vector<float> feature;
    bool degenerate = false;
    std::uint64_t size = 0;
    std::string source;       // opaque handle of the producer (the path relative to its ingest directory)
    std::string origin;       // the instance that produced it (empty on a single host)
    std::uint64_t pixels = 0; // width x height as stored (keep: best compares it)
};

// A file that could not be hashed, with the reason.
struct RejectedItem {
    std::string digest; // empty when the file could not be read
    std::uint64_t size = 0;
    std::string source;
    std::string reason;
    std::string origin; // as for HashedItem
};

struct RulesChange {
    Rules rules;
};

// An operator's word over the hash decision for one item.
struct OperatorOverride {
    std::uint64_t item = 0;
    Override action = Override::none;
};

// Bring the working subset to num_cut with NDR's policies, at this position.
struct RebalanceRequest {
    std::optional<std::uint64_t> num_cut;
    OverSample over = OverSample::random;
    UnderSample under = UnderSample::uniform;
    std::uint64_t seed = 0;
    friend bool operator==(const RebalanceRequest&, const RebalanceRequest&) = default;
};

// An item's file was gone before it could be moved (a host fact, made an
// entry where several hosts share the stream): from here on it is no
// reference, on every replica alike.
struct VanishedItem {
    std::uint64_t item = 0;
};

// Retention deletes these items' files (duplicates and rejected files older
// than their area's age): from here on their records are expired, their
// features dropped, on every replica alike. `at_ms` is the deleting host's
// clock, carried here because the core has none.
struct ExpireItems {
    std::vector<std::uint64_t> items;
    std::int64_t at_ms = 0;
    friend bool operator==(const ExpireItems&, const ExpireItems&) = default;
};

using EntryBody =
    std::variant<HashedItem, RejectedItem, RulesChange, OperatorOverride, RebalanceRequest, VanishedItem, ExpireItems>;

struct Entry {
    std::uint64_t seq = 0; // position in the stream, from 1
    EntryBody body;
};

// Whether the entry makes a new item (hashed or rejected).
[[nodiscard]] bool makes_item(const EntryBody& body);
[[nodiscard]] std::string_view kind_name(const EntryBody& body);

// The encoding of the entries that make no item (rules, override,
// rebalance, vanished, expire): item entries are kept as their records. Throws
// std::runtime_error on bytes that are not such an entry.
[[nodiscard]] std::string encode_control(const EntryBody& body);
[[nodiscard]] EntryBody decode_control(std::string_view bytes);

// The encoding of any entry, as hosts exchange it on a shared stream: the
// control kinds as above, the item kinds with everything the core decides
// from (the float32 feature bit for bit). Throws CorruptRecord on bytes that
// are not a whole entry of a known kind.
[[nodiscard]] std::string encode_entry(const EntryBody& body);
[[nodiscard]] EntryBody decode_entry(std::string_view bytes);

} // namespace ndrd::index
