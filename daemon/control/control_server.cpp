// The control socket, server and client (see control_server.hpp).
#include "daemon/control/control_server.hpp"

#include <sys/stat.h>

#include <memory>
#include <optional>

#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include "daemon/telemetry/logger.hpp"

namespace ndrd::daemon {

namespace fs = std::filesystem;
using boost::asio::local::stream_protocol;

namespace {

constexpr std::size_t max_request = std::size_t{64} * 1024;

class Session : public std::enable_shared_from_this<Session> {
public:
    Session(stream_protocol::socket socket, const ControlServer::Handler& handler,
            const ControlServer::DeferredHandler& deferred)
        : socket_(std::move(socket)), buffer_(max_request), handler_(handler), deferred_(deferred)
    {
    }

    void read()
    {
        boost::asio::async_read_until(
            socket_, buffer_, '\n',
            [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) { self->on_line(ec, n); });
    }

private:
    void on_line(const boost::system::error_code& ec, std::size_t n)
    {
        if (ec) {
            return; // closed by the client, or a line over max_request
        }
        std::string line(boost::asio::buffers_begin(buffer_.data()),
                         boost::asio::buffers_begin(buffer_.data()) + static_cast<std::ptrdiff_t>(n));
        buffer_.consume(n);
        if (!deferred(line)) {
            send(respond(line));
        }
    }

    void send(std::string answer)
    {
        response_ = std::move(answer) + "\n";
        boost::asio::async_write(socket_, boost::asio::buffer(response_),
                                 [self = shared_from_this()](const boost::system::error_code& wec, std::size_t) {
                                     if (!wec) self->read();
                                 });
    }

    // Whether the deferred handler took the request: it answers later.
    // Anything it cannot read is left to respond(), which says why.
    bool deferred(const std::string& line)
    {
        if (!deferred_) {
            return false;
        }
        try {
            const Json request = parse_json(line);
            const auto command = request.is_object() ? request.find("command") : request.end();
            if (command == request.end() || !command->is_string()) {
                return false;
            }
            return deferred_(command->get<std::string>(), request,
                             [self = shared_from_this()](std::string answer) { self->send(std::move(answer)); });
        } catch (const RequestError&) {
            return false;
        }
    }

    std::string respond(const std::string& line)
    {
        try {
            const Json request = parse_json(line);
            if (!request.is_object()) {
                throw RequestError(R"(bad request: a request is one JSON object per line, like {"command": "ping"})");
            }
            return handler_(field<std::string>(request, "command"), request);
        } catch (const RequestError& e) {
            return json_text(error_reply(e.what()));
        } catch (const std::exception& e) {
            // A command that failed must not end the daemon: the operator
            // gets the reason, and the log keeps it.
            log_error("control socket: ", e.what());
            return json_text(error_reply(e.what()));
        }
    }

    stream_protocol::socket socket_;
    boost::asio::streambuf buffer_;
    const ControlServer::Handler& handler_;
    const ControlServer::DeferredHandler& deferred_;
    std::string response_;
};

} // namespace

ControlServer::ControlServer(boost::asio::io_context& io, fs::path path, Handler handler)
    : path_(std::move(path)), acceptor_(io), handler_(std::move(handler))
{
    struct stat st {};
    if (::lstat(path_.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            throw std::runtime_error("control_socket " + path_.string() + " exists and is not a socket");
        }
        if (control_call(path_, Json{{"command", "ping"}})) {
            throw std::runtime_error("another ndrd is already listening on " + path_.string());
        }
        fs::remove(path_); // stale, left by a process that was killed
    }
    acceptor_.open(stream_protocol());
    // Create the socket file owner-only from the start: no window with a wider mode.
    const mode_t old_mask = ::umask(0177);
    boost::system::error_code ec;
    acceptor_.bind(stream_protocol::endpoint(path_.string()), ec);
    ::umask(old_mask);
    if (ec) {
        throw std::runtime_error("cannot create control socket " + path_.string() + ": " + ec.message());
    }
    acceptor_.listen();
    accept();
}

ControlServer::~ControlServer()
{
    stop();
}

void ControlServer::stop()
{
    if (acceptor_.is_open()) {
        boost::system::error_code ec;
        acceptor_.close(ec);
        std::error_code fs_ec;
        fs::remove(path_, fs_ec);
    }
}

void ControlServer::accept()
{
    acceptor_.async_accept([this](const boost::system::error_code& ec, stream_protocol::socket socket) {
        if (ec == boost::asio::error::operation_aborted) {
            return;
        }
        if (!ec) {
            std::make_shared<Session>(std::move(socket), handler_, deferred_)->read();
        } else {
            log_warning("control socket: accept failed: ", ec.message());
        }
        accept();
    });
}

Json error_reply(std::string_view message)
{
    Json o;
    o["ok"] = false;
    o["error"] = message;
    return o;
}

std::optional<Json> control_call(const fs::path& path, const Json& request)
{
    boost::asio::io_context io;
    stream_protocol::socket socket(io);
    boost::system::error_code ec;
    socket.connect(stream_protocol::endpoint(path.string()), ec);
    if (ec == boost::asio::error::connection_refused || ec == boost::asio::error::not_found ||
        ec == boost::system::errc::no_such_file_or_directory) {
        return std::nullopt;
    }
    if (ec) {
        throw std::runtime_error("cannot connect to control socket " + path.string() + ": " + ec.message());
    }
    boost::asio::write(socket, boost::asio::buffer(json_text(request) + "\n"));
    boost::asio::streambuf buf;
    const std::size_t n = boost::asio::read_until(socket, buf, '\n', ec);
    if (ec) {
        throw std::runtime_error("no answer on control socket " + path.string() + ": " + ec.message());
    }
    const std::string line(boost::asio::buffers_begin(buf.data()),
                           boost::asio::buffers_begin(buf.data()) + static_cast<std::ptrdiff_t>(n));
    try {
        return parse_json(line);
    } catch (const RequestError& e) {
        throw std::runtime_error("the answer on control socket " + path.string() + " is not JSON (" + e.what() +
                                 "): " + line);
    }
}

} // namespace ndrd::daemon
