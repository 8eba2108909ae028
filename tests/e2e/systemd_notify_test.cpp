// The daemon speaks sd_notify to a real datagram socket named by
// NOTIFY_SOCKET, as systemd provides it to a Type=notify unit: READY=1 once
// the index is open and the watch is in place, STATUS= lines with the counts,
// WATCHDOG=1 keep-alives at half of WATCHDOG_USEC, RELOADING=1 then READY=1
// around a SIGHUP, and STOPPING=1 on SIGTERM -- in that order.
#define BOOST_TEST_MODULE e2e_systemd_notify
#include <boost/test/unit_test.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>

#include "live.hpp"

using namespace ndrd;
using namespace ndrd::e2e;

namespace {

// A bound AF_UNIX datagram socket; NOTIFY_SOCKET/WATCHDOG_USEC point the
// daemons started while it lives at it.
class NotifySocket {
public:
    explicit NotifySocket(const fs::path& path, const char* watchdog_usec) : path_(path)
    {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        BOOST_REQUIRE(fd_ >= 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        BOOST_REQUIRE(path.native().size() < sizeof addr.sun_path);
        std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
        BOOST_REQUIRE(::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0); // NOLINT
        ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
        ::setenv("WATCHDOG_USEC", watchdog_usec, 1);
    }
    NotifySocket(const NotifySocket&) = delete;
    NotifySocket& operator=(const NotifySocket&) = delete;
    ~NotifySocket()
    {
        ::unsetenv("NOTIFY_SOCKET");
        ::unsetenv("WATCHDOG_USEC");
        ::close(fd_);
    }

    // Every datagram received so far, appended to messages().
    const std::vector<std::string>& drain()
    {
        std::array<char, 4096> buf{};
        while (true) {
            const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
            if (n <= 0) break;
            messages_.emplace_back(buf.data(), static_cast<std::size_t>(n));
        }
        return messages_;
    }

private:
    fs::path path_;
    int fd_ = -1;
    std::vector<std::string> messages_;
};

std::ptrdiff_t first(const std::vector<std::string>& m, const std::string& prefix, std::size_t from = 0)
{
    for (std::size_t i = from; i < m.size(); ++i) {
        if (m[i].starts_with(prefix)) return static_cast<std::ptrdiff_t>(i);
    }
    return -1;
}

std::string dump(const std::vector<std::string>& m)
{
    std::string s;
    for (const auto& x : m)
        s += "  [" + x + "]\n";
    return s;
}

} // namespace

BOOST_AUTO_TEST_SUITE(systemd_notify)

BOOST_AUTO_TEST_CASE(ready_status_watchdog_reload_and_stopping_arrive_in_order)
{
    Live live;
    NotifySocket sock(live.dir().path() / "notify.sock", "400000"); // keep-alive every 200 ms
    live.start();
    const std::string bytes = image("astronaut.png");
    test::write_file(live.ingest("astronaut.png"), bytes);
    live.expect("train/astronaut.png", bytes, live.ingest("astronaut.png"));
    // A status line carrying the routed file, and a few keep-alives.
    BOOST_TEST(eventually([&] {
                   const auto& m = sock.drain();
                   std::size_t dogs = 0;
                   bool counted = false;
                   for (const auto& x : m) {
                       dogs += x == "WATCHDOG=1" ? 1 : 0;
                       counted = counted || x.find("STATUS=1 kept") == 0;
                   }
                   return dogs >= 3 && counted;
               }),
               dump(sock.drain()));

    live.signal(SIGHUP);
    BOOST_TEST(eventually([&] { return first(sock.drain(), "RELOADING=1") >= 0; }));
    live.stop();
    const auto& m = sock.drain();

    const auto ready = first(m, "READY=1");
    const auto status = first(m, "STATUS=");
    const auto dog = first(m, "WATCHDOG=1");
    const auto reloading = first(m, "RELOADING=1");
    const auto ready_again = reloading >= 0 ? first(m, "READY=1", static_cast<std::size_t>(reloading)) : -1;
    const auto stopping = first(m, "STOPPING=1");
    BOOST_TEST_MESSAGE("notifications:\n" << dump(m));
    BOOST_TEST(ready == 0, dump(m)); // nothing before READY
    BOOST_TEST(status > ready);
    BOOST_TEST(dog > ready);
    BOOST_TEST(reloading > dog);
    BOOST_TEST(m[static_cast<std::size_t>(reloading)].find("MONOTONIC_USEC=") != std::string::npos);
    BOOST_TEST(ready_again > reloading);
    BOOST_TEST(stopping > ready_again);
    BOOST_TEST(first(m, "STATUS=", static_cast<std::size_t>(stopping)) == -1); // quiet once stopping
    live.check_inventory();
}

BOOST_AUTO_TEST_CASE(without_notify_socket_the_daemon_runs_the_same)
{
    ::unsetenv("NOTIFY_SOCKET");
    Live live;
    live.start();
    const std::string bytes = image("camera.png");
    test::write_file(live.ingest("camera.png"), bytes);
    live.expect("train/camera.png", bytes, live.ingest("camera.png"));
    live.stop_and_check();
}

BOOST_AUTO_TEST_SUITE_END()
