// Reading untrusted files from the ingest directory: regular files only, no
// symlink followed, no FIFO blocking, the size cap checked before reading.
#define BOOST_TEST_MODULE source_file
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <future>

#include "daemon/ingest/source_file.hpp"
#include "test_support.hpp"

using namespace ndrd;
using daemon::SourceStatus;
namespace fs = std::filesystem;

namespace {

std::string status_name(SourceStatus s)
{
    switch (s) {
    case SourceStatus::ok: return "ok";
    case SourceStatus::gone: return "gone";
    case SourceStatus::not_regular: return "not_regular";
    case SourceStatus::too_large: return "too_large";
    case SourceStatus::unreadable: return "unreadable";
    }
    return "?";
}

std::string as_string(const std::vector<std::byte>& b)
{
    return {reinterpret_cast<const char*>(b.data()), b.size()}; // NOLINT
}

constexpr std::uint64_t no_cap = 1ULL << 40;

} // namespace

BOOST_AUTO_TEST_SUITE(read_source_file)

BOOST_AUTO_TEST_CASE(regular_file_is_read_fully_with_its_identity)
{
    test::TempDir dir;
    std::string content(300'000, '\0');
    for (std::size_t i = 0; i < content.size(); ++i)
        content[i] = static_cast<char>(i * 31 % 251);
    test::write_file(dir / "a.jpg", content);
    struct stat st {};
    BOOST_TEST_REQUIRE(::stat((dir / "a.jpg").c_str(), &st) == 0);

    const auto f = daemon::read_source(dir / "a.jpg", no_cap);
    BOOST_TEST(status_name(f.status) == "ok");
    BOOST_TEST(f.reason.empty());
    BOOST_TEST((as_string(f.bytes) == content));
    BOOST_TEST(f.identity.dev == st.st_dev);
    BOOST_TEST(f.identity.ino == st.st_ino);
    BOOST_TEST(f.identity.size == st.st_size);
    BOOST_TEST(f.identity.mtime_ns ==
               static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec);
    // The same identity as identity_of the path.
    const auto id = daemon::identity_of(dir / "a.jpg");
    BOOST_TEST_REQUIRE(id.has_value());
    BOOST_TEST((*id == f.identity));
}

BOOST_AUTO_TEST_CASE(empty_file_is_ok_and_empty)
{
    test::TempDir dir;
    test::write_file(dir / "empty.jpg", "");
    const auto f = daemon::read_source(dir / "empty.jpg", no_cap);
    BOOST_TEST(status_name(f.status) == "ok");
    BOOST_TEST(f.bytes.empty());
    BOOST_TEST(f.identity.ino != 0U);
}

BOOST_AUTO_TEST_CASE(symlink_is_not_regular_and_its_target_is_not_read)
{
    test::TempDir dir;
    test::write_file(dir / "target.jpg", "secret target content");
    fs::create_symlink(dir / "target.jpg", dir / "link.jpg");
    const auto f = daemon::read_source(dir / "link.jpg", no_cap);
    BOOST_TEST(status_name(f.status) == "not_regular");
    BOOST_TEST(f.reason == "symbolic link");
    BOOST_TEST(f.bytes.empty());
    BOOST_TEST(f.identity.ino == 0U); // nothing about the target leaks through
}

BOOST_AUTO_TEST_CASE(symlink_to_a_directory_or_dangling_is_not_regular)
{
    test::TempDir dir;
    fs::create_directories(dir / "d");
    fs::create_directory_symlink(dir / "d", dir / "dlink");
    fs::create_symlink(dir / "missing", dir / "dangling.jpg");
    BOOST_TEST(status_name(daemon::read_source(dir / "dlink", no_cap).status) == "not_regular");
    const auto dangling = daemon::read_source(dir / "dangling.jpg", no_cap);
    BOOST_TEST(status_name(dangling.status) == "not_regular");
    BOOST_TEST(dangling.reason == "symbolic link");
}

BOOST_AUTO_TEST_CASE(fifo_is_not_regular_and_reading_it_does_not_block)
{
    test::TempDir dir;
    const auto fifo = dir / "pipe.jpg";
    BOOST_TEST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    auto result = std::async(std::launch::async, [&] { return daemon::read_source(fifo, no_cap); });
    if (result.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
        // Release the blocked reader so that the test ends, then fail.
        const int w = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
        if (w >= 0) ::close(w);
        BOOST_FAIL("read_source blocked on a FIFO without a writer");
    }
    const auto f = result.get();
    BOOST_TEST(status_name(f.status) == "not_regular");
    BOOST_TEST(f.reason == "FIFO");
    BOOST_TEST(f.bytes.empty());
}

BOOST_AUTO_TEST_CASE(unix_socket_is_not_regular)
{
    test::TempDir dir;
    const auto path = dir / "s.jpg";
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    BOOST_TEST_REQUIRE(fd >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    BOOST_TEST_REQUIRE(path.string().size() < sizeof(addr.sun_path));
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    BOOST_TEST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0); // NOLINT
    const auto f = daemon::read_source(path, no_cap);
    ::close(fd);
    BOOST_TEST(status_name(f.status) == "not_regular");
    BOOST_TEST(f.bytes.empty());
}

BOOST_AUTO_TEST_CASE(directory_is_not_regular)
{
    test::TempDir dir;
    fs::create_directories(dir / "sub.jpg");
    const auto f = daemon::read_source(dir / "sub.jpg", no_cap);
    BOOST_TEST(status_name(f.status) == "not_regular");
    BOOST_TEST(f.reason == "directory");
}

BOOST_AUTO_TEST_CASE(missing_file_is_gone)
{
    test::TempDir dir;
    const auto f = daemon::read_source(dir / "nope.jpg", no_cap);
    BOOST_TEST(status_name(f.status) == "gone");
    BOOST_TEST(!f.reason.empty());
    const auto g = daemon::read_source(dir / "no/such/dir/nope.jpg", no_cap);
    BOOST_TEST(status_name(g.status) == "gone");
}

BOOST_AUTO_TEST_CASE(file_over_the_cap_is_too_large_and_not_read)
{
    test::TempDir dir;
    test::write_file(dir / "big.jpg", std::string(1001, 'x'));
    const auto f = daemon::read_source(dir / "big.jpg", 1000);
    BOOST_TEST(status_name(f.status) == "too_large");
    BOOST_TEST(f.bytes.empty());
    BOOST_TEST(f.identity.size == 1001); // identity known: the file is routed to rejected/
    BOOST_TEST(f.identity.ino != 0U);
    BOOST_TEST(f.reason.find("1001") != std::string::npos, f.reason);
    BOOST_TEST(f.reason.find("1000") != std::string::npos, f.reason);
}

BOOST_AUTO_TEST_CASE(file_exactly_at_the_cap_is_read)
{
    test::TempDir dir;
    test::write_file(dir / "edge.jpg", std::string(1000, 'y'));
    const auto f = daemon::read_source(dir / "edge.jpg", 1000);
    BOOST_TEST(status_name(f.status) == "ok");
    BOOST_TEST(f.bytes.size() == 1000U);
}

BOOST_AUTO_TEST_CASE(sparse_file_over_the_cap_is_refused_without_reading)
{
    // 8 GiB apparent size, no blocks: reading it would take long and allocate 8 GiB.
    test::TempDir dir;
    const auto p = dir / "huge.jpg";
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT, 0644);
    BOOST_TEST_REQUIRE(fd >= 0);
    BOOST_TEST_REQUIRE(::ftruncate(fd, 8LL << 30) == 0);
    ::close(fd);
    const auto f = daemon::read_source(p, 256ULL << 20);
    BOOST_TEST(status_name(f.status) == "too_large");
    BOOST_TEST(f.bytes.capacity() == 0U); // nothing was allocated for it, so nothing was read
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(file_identity)

BOOST_AUTO_TEST_CASE(identity_changes_when_a_file_is_replaced_by_rename)
{
    test::TempDir dir;
    test::write_file(dir / "a.jpg", "first version");
    const auto before = daemon::identity_of(dir / "a.jpg");
    BOOST_TEST_REQUIRE(before.has_value());
    // Same size, so only the inode (and mtime) can tell the difference.
    test::write_file(dir / ".a.jpg.tmp", "other version");
    fs::rename(dir / ".a.jpg.tmp", dir / "a.jpg");
    const auto after = daemon::identity_of(dir / "a.jpg");
    BOOST_TEST_REQUIRE(after.has_value());
    BOOST_TEST(!(*after == *before));
    BOOST_TEST(after->ino != before->ino);
    BOOST_TEST(after->size == before->size);
}

BOOST_AUTO_TEST_CASE(identity_is_stable_while_nothing_changes)
{
    test::TempDir dir;
    test::write_file(dir / "a.jpg", "content");
    const auto a = daemon::identity_of(dir / "a.jpg");
    const auto b = daemon::identity_of(dir / "a.jpg");
    BOOST_TEST_REQUIRE((a && b));
    BOOST_TEST((*a == *b));
}

BOOST_AUTO_TEST_CASE(identity_changes_when_the_file_grows_in_place)
{
    test::TempDir dir;
    test::write_file(dir / "a.jpg", "content");
    const auto before = daemon::identity_of(dir / "a.jpg");
    {
        std::ofstream out(dir / "a.jpg", std::ios::binary | std::ios::app);
        out << "more";
    }
    const auto after = daemon::identity_of(dir / "a.jpg");
    BOOST_TEST_REQUIRE((before && after));
    BOOST_TEST(after->ino == before->ino);
    BOOST_TEST(after->size == before->size + 4);
    BOOST_TEST(!(*after == *before));
}

BOOST_AUTO_TEST_CASE(identity_of_a_missing_path_is_nullopt_and_of_a_symlink_is_the_link)
{
    test::TempDir dir;
    BOOST_TEST(!daemon::identity_of(dir / "missing").has_value());
    test::write_file(dir / "t.jpg", "target");
    fs::create_symlink(dir / "t.jpg", dir / "l.jpg");
    const auto link = daemon::identity_of(dir / "l.jpg");
    const auto target = daemon::identity_of(dir / "t.jpg");
    BOOST_TEST_REQUIRE((link && target));
    BOOST_TEST(link->ino != target->ino);
    BOOST_TEST(daemon::identity_of(dir / "dangling").has_value() == false);
}

BOOST_AUTO_TEST_CASE(a_file_open_for_writing_is_recognised_until_closed)
{
    test::TempDir dir;
    const auto p = dir / "camera.jpg";
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    BOOST_TEST_REQUIRE(fd >= 0);
    BOOST_TEST(daemon::open_for_writing(p));
    ::close(fd);
    BOOST_TEST(!daemon::open_for_writing(p));
    BOOST_TEST(!daemon::open_for_writing(dir / "missing.jpg"));
}

BOOST_AUTO_TEST_SUITE_END()
