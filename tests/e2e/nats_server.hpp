// A real nats-server with JetStream for the tests: loopback only, a free port,
// a store directory of its own, killed and reaped when the object goes; or a
// cluster of three such servers sharing their streams by Raft. A test that
// needs one declares the nats_server_installed precondition, so it is
// reported as skipped where the server is not installed.
#pragma once

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

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
    [[nodiscard]] bool running() const;
    // The stderr (the log) of its latest start.
    [[nodiscard]] std::filesystem::path log_file() const;

private:
    friend class NatsCluster;
    // A member of a cluster: its options are in `config`, port included.
    NatsServer(std::filesystem::path dir, std::filesystem::path config, int port);
    void start();

    std::filesystem::path dir_;
    std::filesystem::path config_; // empty: a standalone server on the command line
    int port_ = 0;
    int starts_ = 0;
    std::unique_ptr<Process> process_;
};

// A JetStream cluster of nats-servers on loopback, one Raft meta group: each
// server has its own client, route and monitoring ports and store directory
// under `dir`, a name of its own ("n0", "n1", ...) and routes to all the
// others. Servers are numbered from 0; the monitoring port (/jsz) tells where
// a stream's leader is.
class NatsCluster {
public:
    // Starts `size` servers and waits until each is ready and all agree on a
    // JetStream meta leader; throws std::runtime_error naming their logs if
    // that takes more than 20 s.
    explicit NatsCluster(std::filesystem::path dir, std::size_t size = 3);
    NatsCluster(const NatsCluster&) = delete;
    NatsCluster& operator=(const NatsCluster&) = delete;
    ~NatsCluster();

    [[nodiscard]] std::size_t size() const { return members_.size(); }
    [[nodiscard]] std::string url(std::size_t i) const;
    [[nodiscard]] std::vector<std::string> urls() const; // every server's, in order
    [[nodiscard]] const std::string& name(std::size_t i) const;
    [[nodiscard]] bool running(std::size_t i) const;

    // SIGKILL one server (a crash), and start it again on its ports and
    // store; restart() returns once it is back in the meta group.
    void kill(std::size_t i);
    void restart(std::size_t i);
    // An outage of the whole cluster (every server SIGKILLed), and the end of
    // one: start_all() returns once a meta leader is elected again.
    void stop_all();
    void start_all();

    // The running server that leads `stream` (by its own account), or
    // nothing while none does, as during an election.
    [[nodiscard]] std::optional<std::size_t> stream_leader(const std::string& stream) const;
    // The running servers that hold a replica of `stream`, leader included.
    [[nodiscard]] std::vector<std::size_t> stream_replicas(const std::string& stream) const;
    // Polls stream_leader() until there is one; throws at the deadline.
    std::size_t wait_for_stream_leader(const std::string& stream,
                                       std::chrono::milliseconds timeout = std::chrono::seconds(20)) const;

private:
    struct Member {
        std::string name;
        int http_port = 0;
        std::unique_ptr<NatsServer> server;
    };
    void wait_for_meta_leader(std::chrono::milliseconds timeout) const;
    [[nodiscard]] std::string logs() const;

    std::filesystem::path dir_;
    std::vector<Member> members_;
};

} // namespace ndrd::e2e
