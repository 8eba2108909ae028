// The daemon's control socket: a Unix domain stream socket (mode 0600) on the
// Boost.Asio loop speaking line-based JSON. One request per line,
// {"command": "..."}; one JSON object per line back, always with "ok".
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include "daemon/telemetry/json.hpp"

namespace ndrd::daemon {

class ControlServer {
public:
    // Answers one request: `command` is its "command" field, `request` the
    // whole object. Returns the answer line (JSON, no newline); a RequestError
    // it throws is answered as an error. Runs on the loop.
    using Handler = std::function<std::string(std::string_view command, const Json& request)>;
    // A command answered later, when work done off the loop ends: the
    // handler returns true when it takes the command, and then calls `reply`
    // once, on the loop, with the answer line. It is asked first.
    using Reply = std::function<void(std::string answer)>;
    using DeferredHandler = std::function<bool(std::string_view command, const Json& request, Reply reply)>;

    // Binds now; throws std::runtime_error naming the path when another
    // daemon is listening there or the socket cannot be created.
    ControlServer(boost::asio::io_context& io, std::filesystem::path path, Handler handler);
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;
    ~ControlServer();

    void set_deferred_handler(DeferredHandler handler) { deferred_ = std::move(handler); }

    void stop();
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }

private:
    void accept();

    std::filesystem::path path_;
    boost::asio::local::stream_protocol::acceptor acceptor_;
    Handler handler_;
    DeferredHandler deferred_;
};

// {"ok": false, "error": message}: how every request that fails is answered.
Json error_reply(std::string_view message);

// Client side: sends one request and returns the daemon's answer, or nullopt
// when no daemon listens at `path` (no socket, or a stale one). Throws
// std::runtime_error naming the socket when the answer is missing or not JSON.
std::optional<Json> control_call(const std::filesystem::path& path, const Json& request);

} // namespace ndrd::daemon
