// A nats-server for the tests (see nats_server.hpp).
#include "nats_server.hpp"

#include "e2e_support.hpp"

#include <unistd.h>

#include <cstdlib>
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

void NatsServer::start()
{
    const fs::path binary = nats_server_binary();
    if (binary.empty()) {
        throw std::runtime_error("nats-server is not installed");
    }
    ++starts_;
    const std::string log = "nats-" + std::to_string(starts_);
    process_ = std::make_unique<Process>(std::vector<std::string>{binary.string(), "-js", "-a", "127.0.0.1", "-p",
                                                                  std::to_string(port_), "-sd",
                                                                  (dir_ / "store").string(), "-n", "ndrd-test"},
                                         dir_ / (log + ".out"), dir_ / (log + ".err"));
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

} // namespace ndrd::e2e
