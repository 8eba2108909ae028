// The invariant between the index and the disk: every record that is done
// names an existing file under output_dir, no two records name the same file,
// every file in the subset directories is named by exactly one record, and
// no move is left half-done. `ndrd verify` reports each discrepancy.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"
#include "index/store/hash_index.hpp"

namespace ndrd::daemon {

struct Discrepancy {
    std::string kind; // missing_file, untracked_file, shared_location, pending_move, wrong_area
    std::string path; // relative to output_dir
    std::string detail;
};

struct VerifyReport {
    std::uint64_t records = 0;
    std::uint64_t files = 0;
    std::vector<Discrepancy> problems;
    [[nodiscard]] bool clean() const { return problems.empty(); }
};

VerifyReport verify(const index::HashIndex& index, const config::Config& cfg);

// Fixes what needs no guessing: finishes pending moves, marks records whose
// file is gone as vanished. Untracked files are reported, never touched.
// Returns the report after repair.
VerifyReport repair(index::HashIndex& index, const config::Config& cfg);

} // namespace ndrd::daemon
