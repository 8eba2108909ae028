// Moving files without losing or overwriting any (see router.hpp).
#include "daemon/route/router.hpp"

#include <cstdio> // renameat2 (glibc with _GNU_SOURCE)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "daemon/ingest/unique_fd.hpp"

namespace ndrd::daemon {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& what, const fs::path& p, int err)
{
    throw RouteError(what + " " + p.string() + ": " + std::strerror(err));
}

bool occupied(const fs::path& p)
{
    struct stat st {};
    return ::lstat(p.c_str(), &st) == 0;
}

void make_parents(const fs::path& p)
{
    std::error_code ec;
    fs::create_directories(p.parent_path(), ec);
    if (ec) {
        throw RouteError("cannot create directory " + p.parent_path().string() + ": " + ec.message());
    }
}

} // namespace

void sync_directory(const fs::path& dir)
{
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) {
        fail("cannot open directory", dir, errno);
    }
    if (::fsync(fd.get()) != 0) {
        fail("cannot fsync directory", dir, errno);
    }
}

Router::Router(fs::path ingest_dir, fs::path output_dir)
    : ingest_dir_(std::move(ingest_dir)), output_dir_(std::move(output_dir))
{
}

std::string Router::plan(std::string_view area, std::string_view source,
                         const std::unordered_set<std::string>* reserved) const
{
    const auto taken = [&](const fs::path& rel) {
        return occupied(output_dir_ / rel) || (reserved != nullptr && reserved->contains(rel.string()));
    };
    const fs::path rel = fs::path(area) / fs::path(source);
    if (!taken(rel)) {
        return rel.string();
    }
    const fs::path parent = rel.parent_path();
    std::string stem = rel.stem().string();
    std::string ext = rel.extension().string();
    for (unsigned n = 1;; ++n) {
        // Keep the new name within NAME_MAX (255 bytes): shorten the stem, and
        // then the extension, for names that were already at the limit.
        const std::string suffix = "~" + std::to_string(n);
        if (stem.size() + suffix.size() + ext.size() > 255) {
            if (ext.size() + suffix.size() >= 255) ext.clear();
            stem.resize(255 - suffix.size() - ext.size());
        }
        std::string file = stem;
        file += suffix;
        file += ext;
        const fs::path candidate = parent / file;
        if (!taken(candidate)) {
            return candidate.string();
        }
    }
}

void DirectorySyncs::sync_all()
{
    for (const auto& dir : dirs_) {
        sync_directory(dir);
    }
    dirs_.clear();
}

MoveResult Router::move(std::string_view source, std::string_view location, DirectorySyncs* deferred) const
{
    return move_path(ingest_dir_ / source, output_dir_ / location, deferred);
}

MoveResult Router::move_within_output(std::string_view from_location, std::string_view location,
                                      DirectorySyncs* deferred) const
{
    return move_path(output_dir_ / from_location, output_dir_ / location, deferred);
}

MoveResult Router::move_path(const fs::path& from, const fs::path& to, DirectorySyncs* deferred)
{
    make_parents(to);
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) != 0) {
        const int err = errno;
        if (err == ENOENT && !occupied(from)) return MoveResult::source_missing;
        if (err == EEXIST) return MoveResult::destination_taken;
        if (err != EXDEV) fail("cannot move " + from.string() + " to", to, err);
        const MoveResult r = copy_across(from, to);
        if (r != MoveResult::moved) return r;
    }
    if (deferred != nullptr) {
        deferred->add(to.parent_path());
        deferred->add(from.parent_path());
    } else {
        sync_directory(to.parent_path());
        sync_directory(from.parent_path());
    }
    return MoveResult::moved;
}

MoveResult Router::copy_across(const fs::path& from, const fs::path& to)
{
    UniqueFd in(::open(from.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!in.valid()) {
        if (errno == ENOENT) return MoveResult::source_missing;
        fail("cannot open", from, errno);
    }
    // Write under a hidden name, make it durable, then claim the final name
    // with link(), which fails rather than replaces.
    const fs::path tmp = to.parent_path() / (".ndrd-partial-" + to.filename().string());
    ::unlink(tmp.c_str()); // a leftover from a crash is ours and incomplete
    UniqueFd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!out.valid()) fail("cannot create", tmp, errno);
    std::array<char, 1 << 16> buf{};
    while (true) {
        const ssize_t n = ::read(in.get(), buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            ::unlink(tmp.c_str());
            fail("cannot read", from, err);
        }
        if (n == 0) break;
        for (ssize_t off = 0; off < n;) {
            const ssize_t w = ::write(out.get(), buf.data() + off, static_cast<std::size_t>(n - off));
            if (w < 0) {
                if (errno == EINTR) continue;
                const int err = errno;
                ::unlink(tmp.c_str());
                fail("cannot write", tmp, err);
            }
            off += w;
        }
    }
    if (::fsync(out.get()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        fail("cannot fsync", tmp, err);
    }
    if (::link(tmp.c_str(), to.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        if (err == EEXIST) return MoveResult::destination_taken;
        fail("cannot link", to, err);
    }
    ::unlink(tmp.c_str());
    sync_directory(to.parent_path());
    // Only now, with the copy durable under its final name, may the source go.
    if (::unlink(from.c_str()) != 0 && errno != ENOENT) fail("cannot remove", from, errno);
    return MoveResult::moved;
}

} // namespace ndrd::daemon
