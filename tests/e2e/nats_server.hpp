// A real nats-server with JetStream for the tests: loopback only, a free port,
// a store directory of its own, killed and reaped when the object goes. A
// test that needs one declares the nats_server_installed precondition, so it
// is reported as skipped where the server is not installed.
#pragma once

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <memory>
#include <string>

#include "process.hpp"

namespace ndrd::e2e {

// The nats-server executable (Debian's package puts it in /usr/sbin), or an
// empty path.
std::filesystem::path nats_server_binary();

inline boost::test_tools::assertion_result nats_server_installed(boost::unit_test::test_unit_id /*unused*/)
{
    boost::test_tools::assertion_result r(!nats_server_binary().empty());
    if (!r) {
        r.message() << "nats-server is not installed (Debian package nats-server)";
    }
    return r;
}

class NatsServer {
public:
    // Starts `nats-server -js` on 127.0.0.1 with its store under `dir`; throws
    // std::runtime_error naming its log if it is not ready within 10 s.
    explicit NatsServer(std::filesystem::path dir);

    [[nodiscard]] std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
    [[nodiscard]] int port() const { return port_; }

    // SIGKILL, as a crash or a power cut would stop it.
    void kill();
    // Starts it again on the same port and store.
    void restart();

private:
    void start();

    std::filesystem::path dir_;
    int port_ = 0;
    int starts_ = 0;
    std::unique_ptr<Process> process_;
};

} // namespace ndrd::e2e
