// The control socket over a real Unix domain socket: a request line gets the
// handler's answer, errors (a malformed line, a request without a command, a
// command the handler refuses) are answered and leave the server serving, and
// the socket file is owner-only and not stolen from a live daemon.
#define BOOST_TEST_MODULE control_server
#include <boost/test/unit_test.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include "daemon/control/control_server.hpp"
#include "daemon/telemetry/json.hpp"
#include "test_support.hpp"

using namespace ndrd;
using daemon::control_call;
using daemon::ControlServer;
using daemon::Json;
namespace fs = std::filesystem;
namespace asio = boost::asio;
using asio::local::stream_protocol;

namespace {

// A server on <tmp>/control.sock whose loop runs on its own thread. Its
// handler answers "echo" with the command and the request's "item", and
// refuses every other command with a RequestError, as the daemon does a
// command it does not know.
class Served {
public:
    Served()
        : server_(io_, tmp_ / "control.sock",
                  [this](std::string_view command, const Json& request) { return handle(command, request); })
    {
        loop_ = std::thread([this] { io_.run(); });
    }
    Served(const Served&) = delete;
    Served& operator=(const Served&) = delete;
    ~Served()
    {
        asio::post(io_, [this] { server_.stop(); });
        guard_.reset();
        loop_.join();
    }

    [[nodiscard]] const fs::path& path() const { return server_.path(); }
    [[nodiscard]] fs::path scratch(const std::string& name) const { return tmp_ / name; }
    // The commands the handler was called with, in order.
    std::vector<std::string> commands()
    {
        const std::scoped_lock lock(mutex_);
        return commands_;
    }

    Json call(const Json& request)
    {
        auto answer = control_call(path(), request);
        BOOST_TEST_REQUIRE(answer.has_value(), "nobody answered " << request.dump());
        return std::move(*answer);
    }

private:
    std::string handle(std::string_view command, const Json& request)
    {
        {
            const std::scoped_lock lock(mutex_);
            commands_.emplace_back(command);
        }
        if (command != "echo") throw daemon::RequestError("unknown command '" + std::string(command) + "'");
        const Json answer{
            {"ok", true}, {"command", command}, {"item", daemon::field_or<std::string>(request, "item", "")}};
        return daemon::json_text(answer);
    }

    test::TempDir tmp_;
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> guard_ = asio::make_work_guard(io_);
    ControlServer server_;
    std::thread loop_;
    std::mutex mutex_;
    std::vector<std::string> commands_;
};

// Sends `lines` over one connection and reads as many answer lines.
std::vector<std::string> converse(const fs::path& path, const std::vector<std::string>& lines)
{
    asio::io_context io;
    stream_protocol::socket socket(io);
    socket.connect(stream_protocol::endpoint(path.string()));
    std::vector<std::string> answers;
    asio::streambuf buf;
    for (const auto& line : lines) {
        asio::write(socket, asio::buffer(line + "\n"));
        const std::size_t n = asio::read_until(socket, buf, '\n');
        answers.emplace_back(asio::buffers_begin(buf.data()),
                             asio::buffers_begin(buf.data()) + static_cast<std::ptrdiff_t>(n) - 1);
        buf.consume(n);
    }
    return answers;
}

// A socket file nobody listens on, as a killed daemon leaves it.
void leave_stale_socket(const fs::path& path)
{
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    BOOST_TEST_REQUIRE(fd >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    BOOST_TEST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0); // NOLINT
    ::close(fd);
}

} // namespace

BOOST_AUTO_TEST_SUITE(control_server)

BOOST_AUTO_TEST_CASE(a_request_line_gets_the_handlers_answer)
{
    Served s;

    const Json answer = s.call({{"command", "echo"}, {"item", "42"}});

    BOOST_TEST(answer.at("ok").get<bool>());
    BOOST_TEST(answer.at("command").get<std::string>() == "echo");
    BOOST_TEST(answer.at("item").get<std::string>() == "42");
    BOOST_TEST(s.commands() == std::vector<std::string>{"echo"}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(requests_on_one_connection_are_answered_in_order)
{
    Served s;

    const auto answers =
        converse(s.path(), {R"({"command": "echo", "item": "1"})", R"({"command": "echo", "item": "2"})"});

    BOOST_TEST_REQUIRE(answers.size() == 2U);
    BOOST_TEST(daemon::parse_json(answers[0]).at("item").get<std::string>() == "1");
    BOOST_TEST(daemon::parse_json(answers[1]).at("item").get<std::string>() == "2");
}

BOOST_AUTO_TEST_CASE(an_unknown_command_is_answered_with_the_handlers_error)
{
    Served s;

    const Json answer = s.call({{"command", "frobnicate"}});

    BOOST_TEST(!answer.at("ok").get<bool>());
    BOOST_TEST(answer.at("error").get<std::string>().find("frobnicate") != std::string::npos, answer.dump());
    BOOST_TEST(s.call({{"command", "echo"}}).at("ok").get<bool>()); // still serving
}

BOOST_AUTO_TEST_CASE(a_malformed_request_is_answered_with_an_error_without_reaching_the_handler)
{
    Served s;

    const std::vector<std::string> requests{"this is not JSON", R"({"command": )", R"(["command", "echo"])",
                                            R"({"item": "1"})", R"({"command": 7})"};
    const auto answers = converse(s.path(), requests);
    BOOST_TEST_REQUIRE(answers.size() == requests.size());
    for (std::size_t i = 0; i < answers.size(); ++i) {
        const Json answer = daemon::parse_json(answers[i]);
        BOOST_TEST(!answer.at("ok").get<bool>(), requests[i]);
        BOOST_TEST(!answer.at("error").get<std::string>().empty(), requests[i]);
    }
    BOOST_TEST(s.commands().empty());
    BOOST_TEST(s.call({{"command", "echo"}}).at("ok").get<bool>()); // still serving
}

BOOST_AUTO_TEST_CASE(the_socket_is_owner_only)
{
    Served s;
    struct stat st {};
    BOOST_TEST_REQUIRE(::lstat(s.path().c_str(), &st) == 0);
    BOOST_TEST(S_ISSOCK(st.st_mode));
    BOOST_TEST((st.st_mode & 0777U) == 0600U);
}

BOOST_AUTO_TEST_CASE(a_second_server_is_refused_while_the_first_listens)
{
    Served s;
    asio::io_context io;
    BOOST_CHECK_THROW((void)ControlServer(io, s.path(), [](std::string_view, const Json&) { return std::string(); }),
                      std::runtime_error);
    BOOST_TEST(s.call({{"command", "echo"}}).at("ok").get<bool>()); // the first keeps its socket
}

BOOST_AUTO_TEST_CASE(a_stale_socket_is_replaced_and_a_file_in_its_place_is_refused)
{
    test::TempDir tmp;
    asio::io_context io;
    const auto handler = [](std::string_view, const Json&) {
        return std::string(R"({"ok": true})");
    };

    leave_stale_socket(tmp / "stale.sock");
    BOOST_TEST(!control_call(tmp / "stale.sock", Json{{"command", "echo"}}).has_value()); // nobody listens
    BOOST_CHECK_NO_THROW((void)ControlServer(io, tmp / "stale.sock", handler));

    test::write_file(tmp / "file.sock", "not a socket");
    BOOST_CHECK_THROW((void)ControlServer(io, tmp / "file.sock", handler), std::runtime_error);
    BOOST_TEST(test::read_file(tmp / "file.sock") == "not a socket");
}

BOOST_AUTO_TEST_CASE(calling_where_no_daemon_listens_answers_nothing)
{
    test::TempDir tmp;
    BOOST_TEST(!control_call(tmp / "none.sock", Json{{"command", "ping"}}).has_value());
}

BOOST_AUTO_TEST_CASE(stopping_removes_the_socket_file)
{
    test::TempDir tmp;
    asio::io_context io;
    ControlServer server(io, tmp / "control.sock", [](std::string_view, const Json&) { return std::string(); });
    BOOST_TEST(fs::exists(fs::symlink_status(tmp / "control.sock")));
    server.stop();
    BOOST_TEST(!fs::exists(fs::symlink_status(tmp / "control.sock")));
}

BOOST_AUTO_TEST_CASE(a_deferred_command_is_answered_when_its_work_ends)
{
    test::TempDir tmp;
    asio::io_context io;
    auto guard = asio::make_work_guard(io);
    ControlServer server(io, tmp / "control.sock", [](std::string_view command, const Json&) {
        return daemon::json_text(Json{{"ok", true}, {"now", command}});
    });
    asio::steady_timer later(io);
    server.set_deferred_handler([&](std::string_view command, const Json&, ControlServer::Reply reply) {
        if (command != "slow") return false;
        // The work ends later, on the loop; meanwhile the loop goes on.
        later.expires_after(std::chrono::milliseconds(50));
        later.async_wait([reply = std::move(reply)](const boost::system::error_code&) {
            reply(daemon::json_text(Json{{"ok", true}, {"later", "slow"}}));
        });
        return true;
    });
    std::thread loop([&] { io.run(); });
    const auto answers = converse(server.path(), {R"({"command": "slow"})", R"({"command": "fast"})"});
    BOOST_TEST_REQUIRE(answers.size() == 2U);
    BOOST_TEST(daemon::parse_json(answers[0]).at("later").get<std::string>() == "slow");
    BOOST_TEST(daemon::parse_json(answers[1]).at("now").get<std::string>() == "fast");
    asio::post(io, [&] { server.stop(); });
    guard.reset();
    loop.join();
}

BOOST_AUTO_TEST_SUITE_END()
