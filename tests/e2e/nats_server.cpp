// A nats-server for the tests (see nats_server.hpp).
#include "nats_server.hpp"

#include "e2e_support.hpp"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string_view>

namespace ndrd::e2e {

namespace fs = std::filesystem;

fs::path nats_server_binary()
{
    std::string dirs = "/usr/sbin:/usr/bin";
    if (const char* path = std::getenv("PATH"); path != nullptr) {
        dirs = std::string(path) + ":" + dirs;
    }
    std::string_view rest = dirs;
    while (!rest.empty()) {
        const auto colon = rest.find(':');
        const fs::path candidate = fs::path(rest.substr(0, colon)) / "nats-server";
        if (::access(candidate.c_str(), X_OK) == 0) {
            return candidate;
        }
        rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    }
    return {};
}

NatsServer::NatsServer(fs::path dir) : dir_(std::move(dir)), port_(free_loopback_port())
{
    fs::create_directories(dir_);
    start();
}

NatsServer::NatsServer(fs::path dir, fs::path config, int port)
    : dir_(std::move(dir)), config_(std::move(config)), port_(port)
{
    fs::create_directories(dir_);
    start();
}

void NatsServer::start()
{
    const fs::path binary = nats_server_binary();
    if (binary.empty()) {
        throw std::runtime_error("nats-server is not installed");
    }
    ++starts_;
    const std::string log = "nats-" + std::to_string(starts_);
    std::vector<std::string> argv{binary.string()};
    if (config_.empty()) {
        argv.insert(argv.end(), {"-js", "-a", "127.0.0.1", "-p", std::to_string(port_), "-sd",
                                 (dir_ / "store").string(), "-n", "ndrd-test"});
    } else {
        argv.insert(argv.end(), {"-c", config_.string()});
    }
    process_ = std::make_unique<Process>(argv, dir_ / (log + ".out"), dir_ / (log + ".err"));
    if (!process_->wait_for_stderr("Server is ready", std::chrono::seconds(10))) {
        throw std::runtime_error("nats-server did not start; its log: " + (dir_ / (log + ".err")).string() + ":\n" +
                                 process_->stderr_text());
    }
}

void NatsServer::kill()
{
    if (process_) {
        process_->kill();
    }
}

void NatsServer::restart()
{
    kill();
    start();
}

bool NatsServer::running() const
{
    return process_ && process_->running();
}

fs::path NatsServer::log_file() const
{
    return process_ ? process_->stderr_file() : fs::path();
}

// ------------------------------------------------------------ NatsCluster

namespace {

// The body of a 200 answer to GET `target` on 127.0.0.1:`port`, or nothing
// if the server cannot be reached or answers otherwise.
std::optional<std::string> http_get(int port, const std::string& target)
{
    const std::string response = http_response(port, target);
    const auto body = response.find("\r\n\r\n");
    if (!response.starts_with("HTTP/1.") || response.find(" 200 ") > response.find("\r\n") ||
        body == std::string::npos) {
        return std::nullopt;
    }
    return response.substr(body + 4);
}

// A server's /jsz (with stream details), or null if it does not answer.
nlohmann::json jsz(int http_port)
{
    const auto body = http_get(http_port, "/jsz?streams=true");
    if (!body) {
        return nullptr;
    }
    return nlohmann::json::parse(*body, nullptr, /*allow_exceptions=*/false);
}

// The cluster block of `stream` in a /jsz answer, or null if that server
// holds no replica of it.
nlohmann::json stream_cluster(const nlohmann::json& jsz, const std::string& stream)
{
    if (!jsz.is_object() || !jsz.contains("account_details")) {
        return nullptr;
    }
    for (const auto& account : jsz["account_details"]) {
        for (const auto& s : account.value("stream_detail", nlohmann::json::array())) {
            if (s.value("name", "") == stream) {
                return s.value("cluster", nlohmann::json::object());
            }
        }
    }
    return nullptr;
}

// `n` distinct free loopback ports.
std::vector<int> free_loopback_ports(std::size_t n)
{
    std::set<int> ports;
    while (ports.size() < n) {
        ports.insert(free_loopback_port());
    }
    return {ports.begin(), ports.end()};
}

} // namespace

NatsCluster::NatsCluster(fs::path dir, std::size_t size) : dir_(std::move(dir))
{
    if (nats_server_binary().empty()) {
        throw std::runtime_error("nats-server is not installed");
    }
    // Every port is chosen before any server starts: each one's routes name
    // all the others'.
    const std::vector<int> ports = free_loopback_ports(3 * size);
    std::string routes;
    for (std::size_t i = 0; i < size; ++i) {
        routes += "    nats-route://127.0.0.1:" + std::to_string(ports[(3 * i) + 1]) + "\n";
    }
    members_.resize(size);
    std::vector<fs::path> configs(size);
    for (std::size_t i = 0; i < size; ++i) {
        Member& m = members_[i];
        m.name = "n" + std::to_string(i);
        m.http_port = ports[(3 * i) + 2];
        const fs::path server_dir = dir_ / m.name;
        fs::create_directories(server_dir);
        configs[i] = server_dir / "nats-server.conf";
        std::ofstream(configs[i]) << "server_name: " << m.name << "\n"
                                  << "listen: 127.0.0.1:" << ports[3 * i] << "\n"
                                  << "http: 127.0.0.1:" << m.http_port << "\n"
                                  << "jetstream {\n    store_dir: \"" << (server_dir / "store").string() << "\"\n}\n"
                                  << "cluster {\n    name: ndrd-test\n"
                                  << "    listen: 127.0.0.1:" << ports[(3 * i) + 1] << "\n"
                                  << "    routes: [\n"
                                  << routes << "    ]\n}\n";
    }
    for (std::size_t i = 0; i < size; ++i) {
        // The member constructor is private (a friend's), out of make_unique's reach.
        // NOLINTNEXTLINE(cppcoreguidelines-owning-memory)
        members_[i].server.reset(new NatsServer(dir_ / members_[i].name, configs[i], ports[3 * i]));
    }
    wait_for_meta_leader(std::chrono::seconds(20));
}

NatsCluster::~NatsCluster() = default;

std::string NatsCluster::url(std::size_t i) const
{
    return members_.at(i).server->url();
}

std::vector<std::string> NatsCluster::urls() const
{
    std::vector<std::string> out;
    for (const auto& m : members_) {
        out.push_back(m.server->url());
    }
    return out;
}

const std::string& NatsCluster::name(std::size_t i) const
{
    return members_.at(i).name;
}

bool NatsCluster::running(std::size_t i) const
{
    return members_.at(i).server->running();
}

void NatsCluster::kill(std::size_t i)
{
    members_.at(i).server->kill();
}

void NatsCluster::restart(std::size_t i)
{
    members_.at(i).server->restart();
    wait_for_meta_leader(std::chrono::seconds(20));
}

void NatsCluster::stop_all()
{
    for (auto& m : members_) {
        m.server->kill();
    }
}

void NatsCluster::start_all()
{
    for (auto& m : members_) {
        m.server->restart();
    }
    wait_for_meta_leader(std::chrono::seconds(20));
}

std::string NatsCluster::logs() const
{
    std::string out;
    for (const auto& m : members_) {
        out += (out.empty() ? "" : ", ") + m.server->log_file().string();
    }
    return out;
}

void NatsCluster::wait_for_meta_leader(std::chrono::milliseconds timeout) const
{
    // Every running server must name the same leader, itself running: a
    // server that has just started knows none yet, one that was cut off may
    // still name the old one.
    std::string state;
    const bool agreed = eventually(
        [&] {
            std::optional<std::string> leader;
            state.clear();
            for (const auto& m : members_) {
                if (!m.server->running()) {
                    continue;
                }
                const nlohmann::json j = jsz(m.http_port);
                const std::string said =
                    j.is_object() && j.contains("meta_cluster") ? j["meta_cluster"].value("leader", "") : std::string();
                state += " " + m.name + ":" + (j.is_null() ? "no answer" : said.empty() ? "none" : said);
                if (said.empty() || (leader && *leader != said)) {
                    return false;
                }
                leader = said;
            }
            return leader && std::any_of(members_.begin(), members_.end(),
                                         [&](const Member& m) { return m.name == *leader && m.server->running(); });
        },
        timeout, std::chrono::milliseconds(100));
    if (!agreed) {
        throw std::runtime_error("the nats-server cluster elected no JetStream meta leader in " +
                                 std::to_string(timeout.count()) + " ms (meta leader by server:" + state +
                                 "); their logs: " + logs());
    }
}

std::optional<std::size_t> NatsCluster::stream_leader(const std::string& stream) const
{
    for (std::size_t i = 0; i < members_.size(); ++i) {
        if (!members_[i].server->running()) {
            continue;
        }
        const nlohmann::json cluster = stream_cluster(jsz(members_[i].http_port), stream);
        if (cluster.is_object() && cluster.value("leader", "") == members_[i].name) {
            return i;
        }
    }
    return std::nullopt;
}

std::vector<std::size_t> NatsCluster::stream_replicas(const std::string& stream) const
{
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < members_.size(); ++i) {
        if (members_[i].server->running() && !stream_cluster(jsz(members_[i].http_port), stream).is_null()) {
            out.push_back(i);
        }
    }
    return out;
}

std::size_t NatsCluster::wait_for_stream_leader(const std::string& stream, std::chrono::milliseconds timeout) const
{
    std::optional<std::size_t> leader;
    if (!eventually([&] { return (leader = stream_leader(stream)).has_value(); }, timeout,
                    std::chrono::milliseconds(100))) {
        throw std::runtime_error("no nats-server leads stream " + stream + " after " + std::to_string(timeout.count()) +
                                 " ms; their logs: " + logs());
    }
    return *leader;
}

} // namespace ndrd::e2e
