// Helpers for the end-to-end tests (see e2e_support.hpp).
#include "e2e_support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace ndrd::e2e {

using Clock = std::chrono::steady_clock;

namespace {

void write_all(int fd, const char* data, std::size_t n, const fs::path& p)
{
    while (n > 0) {
        const ssize_t w = ::write(fd, data, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            throw std::runtime_error("cannot write " + p.string() + ": " + std::strerror(errno));
        }
        data += w;
        n -= static_cast<std::size_t>(w);
    }
}

std::string quoted(const fs::path& p)
{
    return "\"" + p.string() + "\"";
}

} // namespace

Layout make_layout(const fs::path& root)
{
    return {root, root / "ingest", root / "output", root / "index", root / "ndrd.yaml"};
}

std::string config_text(const Layout& layout, const ConfigOptions& o)
{
    std::ostringstream y;
    y << "ingest_dir: " << quoted(layout.ingest) << "\n"
      << "output_dir: " << quoted(layout.output) << "\n"
      << "index_dir: " << quoted(layout.index) << "\n"
      << "workers: " << o.workers << "\n"
      << "log_level: " << o.log_level << "\n"
      << "gradient:\n"
      << "  hash_dim: " << o.hash_dim << "\n"
      << "  sim_threshold: " << o.sim_threshold << "\n";
    if (o.projection) {
        y << "  projection: " << quoted(*o.projection) << "\n";
    }
    if (o.probe_radius) {
        y << "  probe_radius: " << *o.probe_radius << "\n";
    }
    if (!o.invariance.empty()) {
        y << "  invariance: " << o.invariance << "\n";
    }
    y << "compat: " << o.compat << "\n";
    y << o.extra;
    return y.str();
}

void write_config(const Layout& layout, const ConfigOptions& options)
{
    fs::create_directories(layout.ingest);
    test::write_file(layout.config, config_text(layout, options));
}

bool file_has(const fs::path& p, const std::string& content)
{
    std::error_code ec;
    if (!fs::is_regular_file(fs::symlink_status(p, ec)) || fs::file_size(p, ec) != content.size() || ec) {
        return false;
    }
    try {
        return test::read_file(p) == content;
    } catch (const std::exception&) {
        return false;
    }
}

void write_in_chunks(const fs::path& p, const std::string& content, int parts, std::chrono::milliseconds pause)
{
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error("cannot create " + p.string() + ": " + std::strerror(errno));
    const std::size_t step = content.size() / static_cast<std::size_t>(parts) + 1;
    for (std::size_t off = 0; off < content.size(); off += step) {
        if (off > 0) std::this_thread::sleep_for(pause);
        write_all(fd, content.data() + off, std::min(step, content.size() - off), p);
    }
    ::close(fd);
}

void write_then_rename(const fs::path& staging, const fs::path& p, const std::string& content)
{
    fs::create_directories(staging.parent_path());
    test::write_file(staging, content);
    fs::rename(staging, p);
}

int free_loopback_port()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        throw std::runtime_error(std::string("socket(): ") + std::strerror(errno));
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    // NOLINTBEGIN(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    // NOLINTEND(cppcoreguidelines-pro-type-reinterpret-cast)
    ::close(fd);
    if (!ok) {
        throw std::runtime_error("cannot bind a loopback TCP socket to find a free port");
    }
    return ntohs(addr.sin_port);
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout, std::chrono::milliseconds step)
{
    const auto deadline = Clock::now() + timeout;
    while (true) {
        if (pred()) return true;
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(step);
    }
}

std::string image(const std::string& name)
{
    return test::read_file(test::reference_image(name));
}
std::string undecodable()
{
    return test::read_file(test::reference() / "images_undecodable" / "truncated.jpg");
}

std::vector<std::string> sequence()
{
    std::istringstream in(test::read_file(test::reference() / "sequence.txt"));
    std::vector<std::string> out;
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (!line.empty()) out.push_back(line);
    }
    return out;
}

std::vector<Decision> decisions(const std::string& scenario)
{
    std::vector<Decision> out;
    for (const auto& row : test::read_csv(test::reference() / "decisions.csv")) {
        if (row.at(0) != scenario) continue;
        out.push_back({std::stoi(row.at(3)), row.at(4), row.at(5), row.at(6), row.size() > 8 ? row.at(8) : ""});
    }
    std::sort(out.begin(), out.end(), [](const Decision& a, const Decision& b) { return a.position < b.position; });
    return out;
}

std::optional<Decision> decision_of(const std::string& scenario, const std::string& file)
{
    for (auto& d : decisions(scenario)) {
        if (d.file == file) return d;
    }
    return std::nullopt;
}

std::map<std::string, Keys> reference_keys()
{
    std::map<std::string, Keys> out;
    for (const auto& row : test::read_csv(test::reference() / "keys.csv")) {
        out[row.at(0)] = {row.at(1), row.at(2)};
    }
    return out;
}

std::map<std::string, std::vector<double>> reference_features()
{
    std::map<std::string, std::vector<double>> out;
    for (const auto& row : test::read_csv(test::reference() / "features.csv")) {
        std::vector<double> v;
        v.reserve(row.size() - 1);
        for (std::size_t i = 1; i < row.size(); ++i) {
            v.push_back(std::strtod(row[i].c_str(), nullptr)); // "nan" parses as NaN
        }
        out[row.at(0)] = std::move(v);
    }
    return out;
}

std::optional<Summary> parse_summary(const std::string& text)
{
    static const std::regex re(
        R"((\d+) kept, (\d+) duplicated, (\d+) rejected, (\d+) skipped in [0-9.]+ s \([0-9.]+ files/s\))");
    std::optional<Summary> found;
    for (const auto& line : lines_of(text)) {
        std::smatch m;
        if (std::regex_match(line, m, re)) {
            if (found) return std::nullopt;
            found = Summary{std::stoi(m[1]), std::stoi(m[2]), std::stoi(m[3]), std::stoi(m[4])};
        }
    }
    return found;
}

std::vector<std::string> lines_of(const std::string& text)
{
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line))
        out.push_back(line);
    return out;
}

nlohmann::json parse_json_line(std::string_view line)
{
    nlohmann::json value;
    try {
        value = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
        throw std::runtime_error("not a JSON line (" + std::string(e.what()) + "): " + std::string(line));
    }
    if (!value.is_object()) {
        throw std::runtime_error("not a JSON object: " + std::string(line));
    }
    return value;
}

std::string http_response(int port, const std::string& target)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return {};
    }
    timeval tv{};
    tv.tv_sec = 2;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return {};
    }
    const std::string request = "GET " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    std::string response;
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
        char buf[4096];
        ssize_t n = 0;
        while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) {
            response.append(buf, static_cast<std::size_t>(n));
        }
    }
    ::close(fd);
    return response;
}

} // namespace ndrd::e2e
