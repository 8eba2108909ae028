// The worker stage: one ingest file -> read -> decode -> feature -> key.
// Runs on the worker pool; touches nothing but the file it reads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "daemon/source_file.hpp"
#include "index/feature.hpp"
#include "index/key.hpp"
#include "index/projection.hpp"

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
    FileIdentity identity;
    index::Feature feature;
    index::Key key;
};

HashResult hash_source(const std::filesystem::path& ingest_dir, const std::string& source,
                       const index::Projection& projection, index::Grid grid, std::uint64_t max_size,
                       std::uint64_t max_pixels = 64'000'000, bool reduced_decode = false);

} // namespace ndrd::daemon
