// The daemon's control socket: a Unix domain stream socket (mode 0600) on the
// Boost.Asio loop speaking line-based JSON. One request per line,
// {"command": "..."}; one JSON object per line back, always with "ok".
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/property_tree/ptree.hpp>

namespace ndrd::daemon {

class ControlServer {
public:
    // Returns the JSON response line (without the newline). Runs on the loop.
    using Handler = std::function<std::string(const std::string& command, const boost::property_tree::ptree& request)>;

    // Binds now; throws std::runtime_error naming the path when another
    // daemon is listening there or the socket cannot be created.
    ControlServer(boost::asio::io_context& io, std::filesystem::path path, Handler handler);
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;
    ~ControlServer();

    void stop();
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }

private:
    void accept();

    std::filesystem::path path_;
    boost::asio::local::stream_protocol::acceptor acceptor_;
    Handler handler_;
};

// Client side: sends one request line and returns the response line, or
// nullopt when no daemon listens at `path` (no socket, or a stale one).
std::optional<std::string> control_call(const std::filesystem::path& path, const std::string& request);

} // namespace ndrd::daemon
