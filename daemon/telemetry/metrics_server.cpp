// The metrics HTTP endpoint (see metrics_server.hpp). Everything runs on the
// daemon's single-threaded loop, so the server's state needs no lock.
#include "daemon/telemetry/metrics_server.hpp"

#include <array>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <unordered_set>
#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/beast/http/write.hpp>

#include "daemon/telemetry/logger.hpp"

namespace ndrd::daemon {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// A connection. Named outside the anonymous namespace: MetricsServer::State,
// a member of the public class, holds pointers to it.
namespace metrics_http {
class Session;
} // namespace metrics_http
using metrics_http::Session;

namespace {

constexpr char exposition_type[] = "text/plain; version=0.0.4; charset=utf-8";
// How long a refused request's remainder is read and dropped before closing.
constexpr auto linger = std::chrono::seconds(1);
// The pause after a failed accept before the next one.
constexpr auto accept_retry = std::chrono::milliseconds(100);

std::string endpoint_text(const tcp::endpoint& ep)
{
    const auto address = ep.address();
    const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
    return host + ":" + std::to_string(ep.port());
}

// The answer to a request the parser refused.
http::status status_for(const beast::error_code& parse_error)
{
    if (parse_error == http::error::header_limit) {
        return http::status::request_header_fields_too_large;
    }
    if (parse_error == http::error::body_limit) {
        return http::status::payload_too_large;
    }
    return http::status::bad_request;
}

} // namespace

// Owned jointly by the server object and its connections: a connection's
// handlers may run after the server object is gone (they then find the
// state stopped), so none of them points at the server itself.
struct MetricsServer::State {
    State(asio::io_context& io, Render r, Limits l) : acceptor(io), retry(io), render(std::move(r)), limits(l) {}

    tcp::acceptor acceptor;
    asio::steady_timer retry;
    Render render;
    Limits limits;
    std::unordered_set<Session*> sessions; // open connections; each removes itself when destroyed
    bool stopped = false;
};

namespace {

using State = MetricsServer::State;

} // namespace

namespace metrics_http {

// One client connection: reads requests one at a time (keep-alive), answers
// each, and ends on EOF, error, timeout or stop().
class Session : public std::enable_shared_from_this<Session> {
public:
    Session(tcp::socket socket, std::shared_ptr<State> state)
        : stream_(std::move(socket)),
          // Room for one request at its limits: a client cannot make the buffer grow beyond it.
          buffer_(std::size_t{state->limits.max_header_bytes} + state->limits.max_body_bytes), state_(std::move(state))
    {
        beast::error_code ec;
        const auto peer = stream_.socket().remote_endpoint(ec);
        peer_ = ec ? "?" : endpoint_text(peer);
        state_->sessions.insert(this);
    }
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    ~Session() { state_->sessions.erase(this); }

    void start() { read(); }

    // From stop(): pending operations complete with operation_aborted and
    // release the session.
    void close()
    {
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        stream_.close();
    }

private:
    void read()
    {
        parser_.emplace();
        parser_->header_limit(state_->limits.max_header_bytes);
        parser_->body_limit(state_->limits.max_body_bytes);
        // A deadline for the whole request, idle time before it included: a
        // client trickling bytes cannot keep the connection forever.
        stream_.expires_after(state_->limits.read_timeout);
        http::async_read(stream_, buffer_, *parser_,
                         [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
    }

    void on_read(beast::error_code ec) noexcept
    {
        if (state_->stopped || ec == asio::error::operation_aborted) {
            return;
        }
        // Handlers run inside io_context::run(): an exception here would stop the daemon's loop.
        try {
            if (ec == http::error::end_of_stream) {
                shutdown();
                return;
            }
            if (ec == beast::error::timeout) {
                log_debug("metrics: ", peer_, ": no complete request in time, closing");
                return; // the stream closed itself
            }
            if (ec.category() == http::make_error_code(http::error::end_of_stream).category()) {
                // A malformed or oversized request: say so, then close.
                log_debug("metrics: ", peer_, ": bad request: ", ec.message());
                const http::status status = status_for(ec);
                reply(11, false, status, std::string(http::obsolete_reason(status)) + "\n");
                drain_after_write_ = true;
                write();
                return;
            }
            if (ec) {
                log_debug("metrics: ", peer_, ": read failed: ", ec.message());
                return;
            }
            respond(parser_.value().get());
            write();
        } catch (const std::exception& e) {
            log_warning("metrics: ", peer_, ": ", e.what());
        } catch (...) {
            log_warning("metrics: ", peer_, ": unknown error");
        }
    }

    void respond(const http::request<http::string_body>& req)
    {
        const auto target = req.target();
        std::string_view path(target.data(), target.size());
        path = path.substr(0, path.find('?'));
        const bool head = req.method() == http::verb::head;

        if (req.method() != http::verb::get && !head) {
            reply(req.version(), req.keep_alive(), http::status::method_not_allowed, "only GET and HEAD are served\n");
            response_.set(http::field::allow, "GET, HEAD");
        } else if (path == "/metrics") {
            metrics(req.version(), req.keep_alive());
        } else if (path == "/") {
            reply(req.version(), req.keep_alive(), http::status::ok, "ndrd: Prometheus metrics are at /metrics\n");
        } else {
            reply(req.version(), req.keep_alive(), http::status::not_found, "not found; metrics are at /metrics\n");
        }
        if (head) {
            response_.body().clear(); // the GET response's headers, Content-Length included
        }
    }

    void metrics(unsigned version, bool keep_alive)
    {
        std::string body;
        try {
            body = state_->render();
        } catch (const std::exception& e) {
            log_warning("metrics: rendering failed: ", e.what());
            reply(version, keep_alive, http::status::internal_server_error, "cannot render metrics\n");
            return;
        }
        reply(version, keep_alive, http::status::ok, std::move(body));
        response_.set(http::field::content_type, exposition_type);
    }

    void reply(unsigned version, bool keep_alive, http::status status, std::string body)
    {
        response_ = {};
        response_.version(version);
        response_.result(status);
        response_.keep_alive(keep_alive);
        response_.set(http::field::server, "ndrd");
        response_.set(http::field::content_type, "text/plain; charset=utf-8");
        response_.body() = std::move(body);
        response_.prepare_payload();
    }

    void write()
    {
        stream_.expires_after(state_->limits.write_timeout);
        http::async_write(stream_, response_,
                          [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
    }

    void on_write(beast::error_code ec) noexcept
    {
        if (state_->stopped || ec == asio::error::operation_aborted) {
            return;
        }
        if (ec) {
            log_debug("metrics: ", peer_, ": write failed: ", ec.message());
            return;
        }
        try {
            if (!response_.need_eof()) {
                read(); // keep-alive: the next request
                return;
            }
            shutdown();
            if (drain_after_write_) {
                // The rest of a refused request is still unread, and closing a socket
                // with unread data sends a reset that can destroy our answer on its
                // way: read and drop until the client closes, for a second at most.
                stream_.expires_after(linger);
                drain();
            }
        } catch (const std::exception& e) {
            log_warning("metrics: ", peer_, ": ", e.what());
        }
    }

    void drain()
    {
        stream_.async_read_some(asio::buffer(scratch_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec || self->state_->stopped) return;
            try {
                self->drain();
            } catch (const std::exception& e) {
                log_debug("metrics: ", self->peer_, ": ", e.what());
            }
        });
    }

    // Our side is done; the socket closes when the last handler lets go of the session.
    void shutdown()
    {
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    http::response<http::string_body> response_;
    std::shared_ptr<State> state_;
    std::string peer_;
    bool drain_after_write_ = false;
    std::array<char, 1024> scratch_{};
};

} // namespace metrics_http

namespace {

void on_accept(const std::shared_ptr<State>& state, beast::error_code ec, tcp::socket socket) noexcept;

// Waits for the next connection. noexcept: it runs from handlers, and an
// exception there would end the daemon's loop.
void accept(const std::shared_ptr<State>& state) noexcept
{
    try {
        state->acceptor.async_accept(
            [state](beast::error_code ec, tcp::socket socket) { on_accept(state, ec, std::move(socket)); });
    } catch (const std::exception& e) {
        log_warning("metrics: cannot accept connections: ", e.what());
    }
}

void on_accept(const std::shared_ptr<State>& state, beast::error_code ec, tcp::socket socket) noexcept
{
    if (state->stopped || ec == asio::error::operation_aborted) {
        return;
    }
    try {
        if (ec) {
            // Out of descriptors, say: try again a little later instead of spinning on the loop.
            log_warning("metrics: accept failed: ", ec.message());
            state->retry.expires_after(accept_retry);
            state->retry.async_wait([state](beast::error_code wec) {
                if (!wec && !state->stopped) accept(state);
            });
            return;
        }
        if (state->sessions.size() >= state->limits.max_connections) {
            // Closed unread: the connections already open are served first.
            log_debug("metrics: ", state->sessions.size(), " connections open, refusing another");
            socket.close(ec);
        } else {
            std::make_shared<Session>(std::move(socket), state)->start();
        }
    } catch (const std::exception& e) {
        log_warning("metrics: cannot serve a connection: ", e.what());
    }
    accept(state);
}

} // namespace

MetricsServer::MetricsServer(asio::io_context& io, std::string listen, Render render)
    : MetricsServer(io, std::move(listen), std::move(render), Limits{})
{
}

MetricsServer::MetricsServer(asio::io_context& io, std::string listen, Render render, Limits limits)
    : listen_(std::move(listen)), state_(std::make_shared<State>(io, std::move(render), limits))
{
}

MetricsServer::~MetricsServer()
{
    try {
        stop();
    } catch (const std::exception& e) { // stop() only closes things; a destructor must not throw
        log_debug("metrics: stopping: ", e.what());
    }
}

void MetricsServer::start()
{
    const auto fail = [&](std::string_view what, const std::string& why) {
        return std::runtime_error("metrics.listen " + listen_ + ": " + std::string(what) + ": " + why);
    };
    if (state_->acceptor.is_open() || state_->stopped) {
        throw std::logic_error("metrics.listen " + listen_ + ": the server was already started");
    }
    // host:port, the host maybe a bracketed IPv6 address.
    const auto colon = listen_.rfind(':');
    if (colon == std::string::npos || colon + 1 == listen_.size()) {
        throw fail("invalid address", "expected host:port");
    }
    std::string host = listen_.substr(0, colon);
    const std::string port = listen_.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }

    tcp::resolver resolver(state_->acceptor.get_executor());
    beast::error_code ec;
    const auto endpoints = resolver.resolve(host, port, tcp::resolver::numeric_service | tcp::resolver::passive, ec);
    if (ec) {
        throw fail("cannot resolve", ec.message());
    }
    std::string_view step = "cannot bind";
    std::string reason = "the host resolves to no address";
    for (const auto& entry : endpoints) {
        auto& acceptor = state_->acceptor;
        step = "cannot open a socket";
        acceptor.open(entry.endpoint().protocol(), ec);
        if (!ec) {
            // Restarting while old connections linger in TIME_WAIT must not fail.
            step = "cannot set SO_REUSEADDR";
            acceptor.set_option(asio::socket_base::reuse_address(true), ec);
        }
        if (!ec) {
            step = "cannot bind";
            acceptor.bind(entry.endpoint(), ec);
        }
        if (!ec) {
            step = "cannot listen";
            acceptor.listen(asio::socket_base::max_listen_connections, ec);
        }
        if (!ec) {
            log_debug("metrics: listening on ", endpoint_text(acceptor.local_endpoint()));
            accept(state_);
            return;
        }
        reason = ec.message(); // the last address's error is reported
        beast::error_code ignored;
        acceptor.close(ignored);
    }
    throw fail(step, reason);
}

void MetricsServer::stop()
{
    if (state_->stopped) {
        return;
    }
    state_->stopped = true;
    beast::error_code ec;
    state_->acceptor.close(ec);
    state_->retry.cancel();
    for (Session* session : state_->sessions) {
        session->close();
    }
}

std::uint16_t MetricsServer::local_port() const
{
    beast::error_code ec;
    const auto ep = state_->acceptor.local_endpoint(ec);
    return ec ? 0 : ep.port();
}

std::size_t MetricsServer::connections() const
{
    return state_->sessions.size();
}

} // namespace ndrd::daemon
