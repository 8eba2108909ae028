// The metrics endpoint over real TCP: what a scrape gets, what other paths
// and methods get, keep-alive, the limits a hostile client meets, binding
// errors, and stop().
#define BOOST_TEST_MODULE metrics_server
#include <boost/test/unit_test.hpp>

#include <array>
#include <chrono>
#include <future>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "daemon/telemetry/metrics.hpp"
#include "daemon/telemetry/metrics_server.hpp"

using namespace ndrd::daemon;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

// Whether ::1 can be bound here: containers without IPv6 on lo cannot.
boost::test_tools::assertion_result ipv6_loopback(boost::unit_test::test_unit_id /*unused*/)
{
    asio::io_context io;
    asio::ip::tcp::acceptor probe(io);
    boost::system::error_code ec;
    probe.open(asio::ip::tcp::v6(), ec);
    if (!ec) {
        probe.bind({asio::ip::address_v6::loopback(), 0}, ec);
    }
    boost::test_tools::assertion_result r(!ec);
    r.message() << "cannot bind [::1]: " << ec.message();
    return r;
}

using Response = http::response<http::string_body>;

// A plain TCP client with its own io_context; every operation is bounded by
// a deadline, so a server that does not answer fails the test instead of
// hanging it. Failures throw (and so fail the test unless it expects them).
class Client {
public:
    explicit Client(std::uint16_t port) : socket_(io_)
    {
        const auto ec = connect(port);
        if (ec) {
            throw std::runtime_error("connect: " + ec.message());
        }
    }

    // For connections expected to fail.
    static beast::error_code try_connect(std::uint16_t port)
    {
        Client c;
        return c.connect(port);
    }

    void send(const std::string& raw)
    {
        if (const auto ec = write(raw)) {
            throw std::runtime_error("write: " + ec.message());
        }
    }

    beast::error_code write(const std::string& raw)
    {
        return wait([&](auto handler) { asio::async_write(socket_, asio::buffer(raw), handler); });
    }

    Response request(http::verb method, const std::string& target, bool keep_alive = true)
    {
        http::request<http::string_body> req{method, target, 11};
        req.set(http::field::host, "127.0.0.1");
        req.keep_alive(keep_alive);
        if (method == http::verb::post) {
            req.body() = "x=1";
        }
        req.prepare_payload();
        if (const auto ec = wait([&](auto handler) { http::async_write(socket_, req, handler); })) {
            throw std::runtime_error("write: " + ec.message());
        }
        return read_response(method == http::verb::head);
    }

    Response read_response(bool head = false)
    {
        http::response_parser<http::string_body> parser;
        parser.skip(head); // a HEAD response announces a body it does not carry
        if (const auto ec = wait([&](auto handler) { http::async_read(socket_, buffer_, parser, handler); })) {
            throw std::runtime_error("read: " + ec.message());
        }
        return parser.release();
    }

    // Reads until the server closes the connection; returns how it ended.
    beast::error_code read_until_closed()
    {
        std::array<char, 256> chunk{};
        beast::error_code ec;
        while (!ec) {
            ec = wait([&](auto handler) { socket_.async_read_some(asio::buffer(chunk), handler); });
        }
        return ec;
    }

private:
    Client() : socket_(io_) {}

    beast::error_code connect(std::uint16_t port)
    {
        return wait([&](auto handler) { socket_.async_connect({asio::ip::make_address("127.0.0.1"), port}, handler); });
    }

    template <typename Start> beast::error_code wait(Start start)
    {
        std::optional<beast::error_code> result;
        start([&](beast::error_code ec, auto&&...) { result = ec; });
        io_.restart();
        io_.run_for(5s);
        if (!result) {
            socket_.close();
            io_.restart();
            io_.run();
            throw std::runtime_error("no answer within 5 s");
        }
        return *result;
    }

    asio::io_context io_;
    tcp::socket socket_;
    beast::flat_buffer buffer_;
};

// A registry served on 127.0.0.1:<free port> by a loop in its own thread, as
// the daemon runs it.
struct Served {
    explicit Served(MetricsServer::Limits limits = {}, MetricsServer::Render render = {})
        : server(
              io, "127.0.0.1:0", render ? std::move(render) : [this] { return registry.render(); }, limits)
    {
        server.start(); // before the loop runs: the server is not thread-safe
        port = server.local_port();
        loop = std::thread([this] { io.run(); });
    }
    Served(const Served&) = delete;
    Served& operator=(const Served&) = delete;
    ~Served()
    {
        on_loop([this] { server.stop(); });
        work.reset();
        loop.join();
    }

    // Runs f on the loop's thread and waits for it.
    template <typename F> void on_loop(F f)
    {
        std::promise<void> done;
        asio::post(io, [&] {
            f();
            done.set_value();
        });
        done.get_future().get();
    }

    MetricsRegistry registry;
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
    MetricsServer server;
    std::uint16_t port = 0;
    std::thread loop;
};

} // namespace

BOOST_AUTO_TEST_SUITE(metrics_server)

BOOST_AUTO_TEST_CASE(get_metrics_answers_200_with_the_exposition_content_type_and_the_rendered_text)
{
    Served s;
    s.registry.counter_family("ndrd_files_routed_total", "Files routed.", {"decision"}).with({"kept"}).inc(2);
    BOOST_TEST(s.port != 0);
    Client c(s.port);
    const Response res = c.request(http::verb::get, "/metrics");
    BOOST_TEST(res.result_int() == 200U);
    BOOST_TEST(std::string(res[http::field::content_type]) == "text/plain; version=0.0.4; charset=utf-8");
    BOOST_TEST(res.body() == s.registry.render());
    BOOST_TEST(res.body().find("ndrd_files_routed_total{decision=\"kept\"} 2\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(each_scrape_renders_anew_on_one_kept_alive_connection)
{
    Served s;
    auto& scrapes = s.registry.counter("ndrd_test_total", "t");
    Client c(s.port);
    for (int i = 1; i <= 3; ++i) {
        scrapes.inc();
        const Response res = c.request(http::verb::get, "/metrics?ignored=query");
        BOOST_TEST(res.result_int() == 200U);
        BOOST_TEST(res.keep_alive());
        BOOST_TEST(res.body().find("ndrd_test_total " + std::to_string(i) + "\n") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(head_metrics_has_the_get_headers_and_no_body)
{
    Served s;
    s.registry.counter("ndrd_test_total", "t");
    Client c(s.port);
    const Response res = c.request(http::verb::head, "/metrics");
    BOOST_TEST(res.result_int() == 200U);
    BOOST_TEST(std::string(res[http::field::content_length]) == std::to_string(s.registry.render().size()));
    BOOST_TEST(res.body().empty());
    // The connection is still in step: the next request gets its own answer.
    BOOST_TEST(c.request(http::verb::get, "/nope").result_int() == 404U);
}

BOOST_AUTO_TEST_CASE(the_root_points_to_metrics_and_other_paths_are_404)
{
    Served s;
    Client c(s.port);
    const Response root = c.request(http::verb::get, "/");
    BOOST_TEST(root.result_int() == 200U);
    BOOST_TEST(root.body().find("/metrics") != std::string::npos);
    BOOST_TEST(c.request(http::verb::get, "/metrics/extra").result_int() == 404U);
    BOOST_TEST(c.request(http::verb::get, "/favicon.ico").result_int() == 404U);
}

BOOST_AUTO_TEST_CASE(post_is_405_with_an_allow_header)
{
    Served s;
    Client c(s.port);
    const Response res = c.request(http::verb::post, "/metrics");
    BOOST_TEST(res.result_int() == 405U);
    BOOST_TEST(std::string(res[http::field::allow]) == "GET, HEAD");
    BOOST_TEST(c.request(http::verb::delete_, "/").result_int() == 405U);
}

BOOST_AUTO_TEST_CASE(connection_close_is_honoured)
{
    Served s;
    Client c(s.port);
    const Response res = c.request(http::verb::get, "/metrics", false);
    BOOST_TEST(res.result_int() == 200U);
    BOOST_TEST(!res.keep_alive());
    BOOST_TEST(c.read_until_closed() == asio::error::eof);
}

BOOST_AUTO_TEST_CASE(a_render_that_throws_gets_500_and_the_server_keeps_serving)
{
    int calls = 0;
    Served s({}, [&calls]() -> std::string {
        if (++calls == 1) throw std::runtime_error("index closed");
        return "ok 1\n";
    });
    Client c(s.port);
    BOOST_TEST(c.request(http::verb::get, "/metrics").result_int() == 500U);
    const Response res = c.request(http::verb::get, "/metrics");
    BOOST_TEST(res.result_int() == 200U);
    BOOST_TEST(res.body() == "ok 1\n");
}

BOOST_AUTO_TEST_CASE(an_oversized_request_header_gets_431_and_the_connection_closes)
{
    MetricsServer::Limits limits;
    limits.max_header_bytes = 1024;
    Served s(limits);
    Client c(s.port);
    // Far beyond the limit: refused as soon as the limit is passed, not buffered.
    c.send("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Junk: " + std::string(std::size_t{256} * 1024, 'a') + "\r\n\r\n");
    BOOST_TEST(c.read_response().result_int() == 431U);
    BOOST_TEST(c.read_until_closed() == asio::error::eof);
}

BOOST_AUTO_TEST_CASE(a_request_body_over_the_limit_gets_413)
{
    MetricsServer::Limits limits;
    limits.max_body_bytes = 16;
    Served s(limits);
    Client c(s.port);
    c.send("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + std::string(64, 'a'));
    BOOST_TEST(c.read_response().result_int() == 413U);
}

BOOST_AUTO_TEST_CASE(garbage_gets_400_and_the_connection_closes)
{
    Served s;
    Client c(s.port);
    c.send("this is not HTTP\r\n\r\n");
    BOOST_TEST(c.read_response().result_int() == 400U);
    BOOST_TEST(c.read_until_closed() == asio::error::eof);
}

BOOST_AUTO_TEST_CASE(a_client_that_sends_nothing_is_dropped_after_the_read_timeout)
{
    MetricsServer::Limits limits;
    limits.read_timeout = 200ms;
    Served s(limits);
    Client c(s.port);
    // eof or reset: either way the server let go (the client gives up, and
    // throws, after 5 s of silence).
    BOOST_CHECK_NO_THROW(static_cast<void>(c.read_until_closed()));
}

BOOST_AUTO_TEST_CASE(a_client_trickling_a_request_is_dropped_at_the_deadline_not_kept_alive_by_each_byte)
{
    MetricsServer::Limits limits;
    limits.read_timeout = 300ms;
    Served s(limits);
    Client c(s.port);
    const auto start = std::chrono::steady_clock::now();
    BOOST_TEST(!c.write("GET /metrics HTTP/1.1\r\n"));
    // A header line every 100 ms: never idle for 300 ms, never complete.
    beast::error_code ec;
    while (!ec && std::chrono::steady_clock::now() - start < 5s) {
        std::this_thread::sleep_for(100ms);
        ec = c.write("X-Slow: 1\r\n");
    }
    BOOST_TEST(ec); // the server closed the connection while bytes kept coming
}

BOOST_AUTO_TEST_CASE(connections_beyond_the_cap_are_closed_at_once_and_served_again_when_one_frees)
{
    MetricsServer::Limits limits;
    limits.max_connections = 1;
    Served s(limits);
    std::optional<Client> first(std::in_place, s.port);
    BOOST_TEST(first->request(http::verb::get, "/metrics").result_int() == 200U); // surely accepted by now
    Client second(s.port);                                                        // the kernel accepts it...
    BOOST_TEST(second.read_until_closed() == asio::error::eof);                   // ...and ndrd closes it unread
    first.reset();
    // The server notices the first one has gone when its read ends; retry until then.
    bool served = false;
    for (int i = 0; i < 50 && !served; ++i) {
        try {
            Client third(s.port);
            served = third.request(http::verb::get, "/metrics").result_int() == 200U;
        } catch (const std::exception&) {
            std::this_thread::sleep_for(20ms);
        }
    }
    BOOST_TEST(served);
}

BOOST_AUTO_TEST_CASE(stop_refuses_new_connections_and_closes_open_ones)
{
    Served s;
    Client open(s.port);
    BOOST_TEST(open.request(http::verb::get, "/metrics").result_int() == 200U);
    s.on_loop([&] { s.server.stop(); });
    BOOST_TEST(Client::try_connect(s.port) == asio::error::connection_refused);
    BOOST_TEST(open.read_until_closed() != beast::error_code{});
    std::size_t open_after = 1;
    s.on_loop([&] { open_after = s.server.connections(); });
    BOOST_TEST(open_after == 0U);
}

BOOST_AUTO_TEST_CASE(binding_an_address_in_use_throws_naming_the_address_and_the_reason)
{
    Served s;
    asio::io_context io;
    const std::string listen = "127.0.0.1:" + std::to_string(s.port);
    MetricsServer second(io, listen, [] { return std::string(); });
    try {
        second.start();
        BOOST_FAIL("start() should have thrown");
    } catch (const std::runtime_error& e) {
        BOOST_TEST(std::string(e.what()) == "metrics.listen " + listen + ": cannot bind: Address already in use");
    }
}

BOOST_AUTO_TEST_CASE(a_malformed_address_throws_naming_it)
{
    asio::io_context io;
    MetricsServer server(io, "127.0.0.1", [] { return std::string(); });
    BOOST_CHECK_EXCEPTION(server.start(), std::runtime_error, [](const std::runtime_error& e) {
        return std::string(e.what()).starts_with("metrics.listen 127.0.0.1: ");
    });
}

BOOST_AUTO_TEST_CASE(a_bracketed_ipv6_address_binds, *boost::unit_test::precondition(ipv6_loopback))
{
    asio::io_context io;
    MetricsServer server(io, "[::1]:0", [] { return std::string(); });
    server.start();
    BOOST_TEST(server.local_port() != 0);
}

BOOST_AUTO_TEST_SUITE_END()
