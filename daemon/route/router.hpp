// Moves files from the ingest directory into the output tree. Never
// overwrites: destinations are claimed with RENAME_NOREPLACE / link(), and a
// taken name gets a deterministic "~N" suffix. Moves are made durable by
// fsyncing both directories.
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>

namespace ndrd::daemon {

enum class MoveResult {
    moved,
    source_missing,    // nothing at the source path
    destination_taken, // something appeared at the destination; plan again
};

class RouteError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Directories whose fsync a batch of moves shares (group commit): each is
// synced once, after the batch's renames and before any of them is recorded
// done.
class DirectorySyncs {
public:
    void add(const std::filesystem::path& dir) { dirs_.insert(dir); }
    // Throws RouteError naming the directory whose fsync failed.
    void sync_all();
    [[nodiscard]] std::size_t size() const { return dirs_.size(); }

private:
    std::set<std::filesystem::path> dirs_;
};

class Router {
public:
    Router(std::filesystem::path ingest_dir, std::filesystem::path output_dir);

    // A location (relative to output_dir) under `area` for `source` that no
    // file occupies now: area/source, else area/stem~1.ext, area/stem~2.ext...
    // `reserved` holds locations already promised to other moves of a batch.
    [[nodiscard]] std::string plan(std::string_view area, std::string_view source,
                                   const std::unordered_set<std::string>* reserved = nullptr) const;

    // Moves ingest_dir/source to output_dir/location: rename where possible,
    // copy + fsync + link + unlink across file systems. Throws RouteError on
    // I/O failures (disk full, permissions) with the paths in the message.
    // The move is durable on return, unless `deferred` is given: then the
    // two directories are added to it instead of being synced now.
    MoveResult move(std::string_view source, std::string_view location, DirectorySyncs* deferred = nullptr) const;
    // The same for a file already in the output tree (a rebalance move).
    MoveResult move_within_output(std::string_view from_location, std::string_view location,
                                  DirectorySyncs* deferred = nullptr) const;

    [[nodiscard]] std::filesystem::path source_path(std::string_view source) const { return ingest_dir_ / source; }
    [[nodiscard]] std::filesystem::path output_path(std::string_view location) const { return output_dir_ / location; }

private:
    static MoveResult move_path(const std::filesystem::path& from, const std::filesystem::path& to,
                                DirectorySyncs* deferred);
    static MoveResult copy_across(const std::filesystem::path& from, const std::filesystem::path& to);

    std::filesystem::path ingest_dir_;
    std::filesystem::path output_dir_;
};

// fsync a directory so that a rename or unlink inside it survives power loss.
void sync_directory(const std::filesystem::path& dir);

} // namespace ndrd::daemon
