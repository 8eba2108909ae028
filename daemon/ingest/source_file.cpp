// Careful reads from the ingest directory (see source_file.hpp).
#include "daemon/ingest/source_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "daemon/ingest/unique_fd.hpp"

namespace ndrd::daemon {

namespace {

FileIdentity identity_from(const struct stat& st)
{
    return {st.st_dev, st.st_ino, st.st_size,
            static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

std::string kind_of(mode_t mode)
{
    if (S_ISLNK(mode)) return "symbolic link";
    if (S_ISFIFO(mode)) return "FIFO";
    if (S_ISSOCK(mode)) return "socket";
    if (S_ISCHR(mode) || S_ISBLK(mode)) return "device node";
    if (S_ISDIR(mode)) return "directory";
    return "not a regular file";
}

SourceFile failed(SourceStatus status, std::string reason)
{
    SourceFile f;
    f.status = status;
    f.reason = std::move(reason);
    return f;
}

} // namespace

WriterState writer_state(const std::filesystem::path& path)
{
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
    if (!fd.valid()) {
        return WriterState::unknown;
    }
    if (::fcntl(fd.get(), F_SETLEASE, F_RDLCK) == 0) {
        ::fcntl(fd.get(), F_SETLEASE, F_UNLCK);
        return WriterState::none;
    }
    return errno == EAGAIN ? WriterState::open : WriterState::unknown;
}

std::optional<FileIdentity> identity_of(const std::filesystem::path& path)
{
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        return std::nullopt;
    }
    return identity_from(st);
}

SourceFile read_source(const std::filesystem::path& path, std::uint64_t max_size)
{
    // O_NONBLOCK: opening a FIFO for reading must not wait for a writer.
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
    if (!fd.valid()) {
        const int err = errno;
        if (err == ENOENT) return failed(SourceStatus::gone, "no longer exists");
        if (err == ELOOP) return failed(SourceStatus::not_regular, "symbolic link");
        if (err == ENXIO) return failed(SourceStatus::not_regular, "socket or device node");
        return failed(SourceStatus::unreadable, std::string("cannot open: ") + std::strerror(err));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        return failed(SourceStatus::unreadable, std::string("cannot stat: ") + std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        return failed(SourceStatus::not_regular, kind_of(st.st_mode));
    }
    SourceFile f;
    f.identity = identity_from(st);
    if (std::cmp_greater(st.st_size, max_size)) {
        f.status = SourceStatus::too_large;
        f.reason = "file is " + std::to_string(st.st_size) + " bytes, over max_file_size " + std::to_string(max_size);
        return f;
    }
    f.bytes.resize(static_cast<std::size_t>(st.st_size));
    std::size_t done = 0;
    while (done < f.bytes.size()) {
        const ssize_t n = ::read(fd.get(), f.bytes.data() + done, f.bytes.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            return failed(SourceStatus::unreadable, std::string("read error: ") + std::strerror(errno));
        }
        if (n == 0) {
            break; // shrank while we read; the identity check before the move catches it
        }
        done += static_cast<std::size_t>(n);
    }
    f.bytes.resize(done);
    return f;
}

} // namespace ndrd::daemon
