// Reading one file from the ingest directory without trusting it: no symlink
// is followed, FIFOs and devices are never opened for blocking reads, and a
// size cap is checked before a byte is read.
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace ndrd::daemon {

// What identifies the file we read, so the committer can tell whether the
// path still holds the same file before it moves it.
struct FileIdentity {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    std::int64_t mtime_ns = 0;
    friend bool operator==(const FileIdentity&, const FileIdentity&) = default;
};

enum class SourceStatus {
    ok,
    gone,        // vanished before we could read it: nothing to do
    not_regular, // symlink, FIFO, socket, device, directory: left alone
    too_large,   // over max_file_size: rejected unread
    unreadable,  // open/read failed (permissions, I/O error): rejected
};

struct SourceFile {
    SourceStatus status = SourceStatus::ok;
    std::string reason; // for every status but ok
    FileIdentity identity;
    std::vector<std::byte> bytes;
};

SourceFile read_source(const std::filesystem::path& path, std::uint64_t max_size);

// Whether some process holds `path` open for writing, so its IN_CLOSE_WRITE
// is still to come. Tested with a read lease, which the kernel refuses
// (EAGAIN) while a writer has the file open; that needs ownership of the
// file or CAP_LEASE, otherwise the answer is `unknown`.
enum class WriterState { none, open, unknown };
WriterState writer_state(const std::filesystem::path& path);
inline bool open_for_writing(const std::filesystem::path& path)
{
    return writer_state(path) == WriterState::open;
}

// lstat identity of a path; nullopt when nothing is there.
std::optional<FileIdentity> identity_of(const std::filesystem::path& path);

} // namespace ndrd::daemon
