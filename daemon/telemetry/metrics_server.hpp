// The Prometheus scrape endpoint: a small HTTP/1.1 server (Boost.Beast) on
// the daemon's event loop that answers GET /metrics with the rendered text.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

namespace ndrd::daemon {

class MetricsServer {
public:
    // Returns the exposition text; runs on the loop at every scrape.
    using Render = std::function<std::string()>;

    // The limits a client cannot push past: it cannot hold a connection, a
    // descriptor or the loop for long, nor make the server buffer much.
    struct Limits {
        std::chrono::milliseconds read_timeout{std::chrono::seconds(10)}; // a whole request, idle time included
        std::chrono::milliseconds write_timeout{std::chrono::seconds(10)};
        std::size_t max_connections = 16; // further connections are closed at once
        std::uint32_t max_header_bytes = 8U * 1024;
        std::uint64_t max_body_bytes = std::uint64_t{4} * 1024; // scrapes have no body
    };

    // `listen` is host:port as in metrics.listen: "127.0.0.1:9477",
    // "[::1]:9477", "localhost:9477"; port 0 picks a free port (tests).
    // Nothing happens until start().
    MetricsServer(boost::asio::io_context& io, std::string listen, Render render);
    MetricsServer(boost::asio::io_context& io, std::string listen, Render render, Limits limits);
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;
    ~MetricsServer();

    // Resolves and binds (the first resolved address that binds), then
    // accepts on the loop. Throws std::runtime_error naming the address and
    // the reason, such as "metrics.listen 127.0.0.1:9477: cannot bind:
    // Address already in use". Call once.
    void start();
    // Closes the listening socket and every open connection. Idempotent. Like
    // everything here but the constructor, call it on the loop's thread (or
    // while the loop is not running).
    void stop();

    // The bound port (useful after binding port 0); 0 before start().
    [[nodiscard]] std::uint16_t local_port() const;
    [[nodiscard]] const std::string& listen() const { return listen_; }
    // Connections open now.
    [[nodiscard]] std::size_t connections() const;

    struct State; // shared with the connections, which may outlive the server object

private:
    std::string listen_;
    std::shared_ptr<State> state_;
};

} // namespace ndrd::daemon
