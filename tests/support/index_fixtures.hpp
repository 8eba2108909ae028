// Helpers for tests that use the RocksDB index: opening one in a temporary
// directory, item records as the pipeline writes them, and the key and
// feature of a reference image. Index only (library ndrd_test_index): tests of
// index/ use it without linking anything of daemon/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "index/store/hash_index.hpp"

namespace ndrd::test {

// The configuration's defaults: gradient, 8x8 blocks, 32-bit keys.
const index::IndexParams& default_params();

// Opens (or creates) the index in `dir` with default_params() and Datumaro's
// 32-bit projection, so that keys match reference/keys.csv.
index::HashIndex open_index(const std::filesystem::path& dir);

// A 768-value feature that is zero but for `value` at `hot`: distinct hot
// positions make features with similarity 0 to one another.
std::vector<float> unit_feature(std::size_t hot, float value = 1.0F);

// Record `seq` with key `key_hex`: source "src/<seq>.jpg", in the subset its
// verdict sends it to, at "<subset name>/<seq>.jpg", with unit_feature(seq)
// unless `feature` is given.
index::ItemRecord make_record(std::uint64_t seq, std::string_view key_hex, index::Verdict verdict,
                              index::RouteState state = index::RouteState::done, std::vector<float> feature = {});

// Gives `rec` the key and feature the hasher computes for reference image
// `name` under `projection`.
void hash_reference_image(index::ItemRecord& rec, const std::string& name, const index::Projection& projection);

// Records the size, device and inode of the file at `path` in `rec`, as the
// pipeline records the file it decided: recovery tells that file from
// another by them.
void take_identity(index::ItemRecord& rec, const std::filesystem::path& path);

// Every record of the index, in ingest order.
std::vector<index::ItemRecord> all_records(const index::HashIndex& idx);

} // namespace ndrd::test
