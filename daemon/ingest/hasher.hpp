// The worker stage: one ingest file -> read -> decode -> feature -> key.
// Runs on the worker pool. It reads the file, and the index (read-only) to
// find an earlier byte-identical copy whose stored feature saves a decode;
// it writes nothing. The decision is the stream's, on the event loop.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "daemon/ingest/source_file.hpp"
#include "index/hash/feature.hpp"
#include "index/hash/key.hpp"
#include "index/hash/projection.hpp"
#include "index/image/decode.hpp"
#include "index/store/hash_index.hpp"

namespace ndrd::daemon {

struct HashResult {
    enum class Kind {
        hashed,   // feature and key are set
        rejected, // not an image we can hash: goes to rejected/ with `reason`
        skipped,  // gone or not a regular file: nothing to route
    };
    Kind kind = Kind::skipped;
    std::string source; // relative to ingest_dir
    std::string reason;
    std::string_view reason_kind; // short fixed class of a rejection: "too_large", "truncated", ...
    double hash_seconds = 0;      // read + decode + feature + key, on the worker
    std::string digest;           // XXH3-128 of the bytes read (16 bytes), when read
    std::uint64_t copy_of = 0;    // byte-identical to this indexed item: feature taken from it, not decoded
    FileIdentity identity;
    index::Feature feature;
    index::Key key;
    std::uint64_t pixels = 0; // width x height as stored (from the header; a copy's from its original)
};

// XXH3-128 of `bytes`, canonical (big-endian) 16 bytes.
std::string content_digest(std::span<const std::byte> bytes);

// When `r.digest` names an indexed item that has a feature, takes that item's
// feature and key into `r`, sets `r.copy_of` and returns the item's record
// (the original, which the exact-copy rule reads); nullopt otherwise.
std::optional<index::ItemRecord> take_indexed_copy(const index::HashIndex& index, index::Grid grid, HashResult& r);

// How a worker decodes: the pixel limit, JPEG at reduced scale
// (decode_scale: auto), and the EXIF orientation (fixed in the index).
struct DecodeRules {
    std::uint64_t max_pixels = 64'000'000;
    bool reduced = false;
    index::ExifOrientation orientation = index::ExifOrientation::ignore;
};

// With `index`, a file byte-identical to an indexed item that has a feature
// takes that item's feature and key instead of being decoded: the decision
// rule then treats it exactly as a full hash would, at a fraction of the cost.
HashResult hash_source(const std::filesystem::path& ingest_dir, const std::string& source,
                       const index::Projection& projection, index::Grid grid, std::uint64_t max_size,
                       const DecodeRules& decode = {}, const index::HashIndex* index = nullptr);

} // namespace ndrd::daemon
