// `ndrd check` (see check.hpp).
#include "daemon/check.hpp"

#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/effective.hpp"
#include "config/locations.hpp"
#include "daemon/control/control_server.hpp"
#include "daemon/ingest/unique_fd.hpp"
#include "daemon/route/configured.hpp"
#include "daemon/service.hpp"
#include "index/store/hash_index.hpp"

namespace ndrd::daemon {

namespace fs = std::filesystem;

namespace {

class Findings {
public:
    void ok(const std::string& s) const { std::cout << "ok: " << s << "\n"; }
    void note(const std::string& s) const { std::cout << "note: " << s << "\n"; }
    void problem(const std::string& s)
    {
        std::cout << "problem: " << s << "\n";
        ++problems_;
    }
    [[nodiscard]] int problems() const { return problems_; }

private:
    int problems_ = 0;
};

// Whom the permissions are checked for: the packaged units' user for their
// configurations, the caller for any other.
struct ServiceUser {
    std::string name;
    uid_t uid = 0;
    std::vector<gid_t> groups; // primary first
};

ServiceUser caller()
{
    ServiceUser u;
    u.uid = ::geteuid();
    const passwd* pw = ::getpwuid(u.uid); // NOLINT(concurrency-mt-unsafe): one thread here
    u.name = pw != nullptr ? pw->pw_name : "uid " + std::to_string(u.uid);
    u.groups.push_back(::getegid());
    const int n = ::getgroups(0, nullptr);
    if (n > 0) {
        std::vector<gid_t> more(static_cast<std::size_t>(n));
        if (::getgroups(n, more.data()) == n) u.groups.insert(u.groups.end(), more.begin(), more.end());
    }
    return u;
}

ServiceUser service_user(const fs::path& config_file, Findings& out)
{
    if (!config::packaged_unit(config_file)) return caller();
    const passwd* pw = ::getpwnam("ndrd"); // NOLINT(concurrency-mt-unsafe): one thread here
    if (pw == nullptr) {
        out.note("user ndrd, which the packaged units run as, does not exist (the package creates it); "
                 "permissions are checked for the caller instead");
        return caller();
    }
    ServiceUser u{pw->pw_name, pw->pw_uid, {pw->pw_gid}};
    int n = 64;
    std::vector<gid_t> groups(static_cast<std::size_t>(n));
    if (::getgrouplist(pw->pw_name, pw->pw_gid, groups.data(), &n) == -1) {
        groups.resize(static_cast<std::size_t>(n));
        (void)::getgrouplist(pw->pw_name, pw->pw_gid, groups.data(), &n);
    }
    groups.resize(static_cast<std::size_t>(std::max(n, 0)));
    u.groups.insert(u.groups.end(), groups.begin(), groups.end());
    return u;
}

// Whether `user` has every permission in `want` (a mask of 4 read, 2 write,
// 1 search) on `p` by its mode bits (ACLs are not read). Root has all.
bool permitted(const ServiceUser& user, const fs::path& p, unsigned want)
{
    if (user.uid == 0) return true;
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) return false;
    unsigned granted = st.st_mode & 07U;
    if (st.st_uid == user.uid) {
        granted = (st.st_mode >> 6U) & 07U;
    } else if (std::ranges::find(user.groups, st.st_gid) != user.groups.end()) {
        granted = (st.st_mode >> 3U) & 07U;
    }
    return (granted & want) == want;
}

// The first ancestor of `p` (or `p` itself) that `user` cannot search, if any.
std::optional<fs::path> unsearchable_ancestor(const ServiceUser& user, const fs::path& p)
{
    fs::path walked;
    for (const auto& part : p.parent_path()) {
        walked /= part;
        if (!permitted(user, walked, 1)) return walked;
    }
    return std::nullopt;
}

// `state` is the packaged unit's state directory, if any: systemd creates
// it, owned by the service user, when the unit starts.
void check_directory(std::string_view key, const fs::path& dir, const ServiceUser& user,
                     const std::optional<fs::path>& state, Findings& out)
{
    const std::string name = std::string(key) + " " + dir.string();
    fs::path existing = dir;
    std::error_code ec;
    while (!fs::exists(existing, ec) && existing.has_relative_path()) {
        existing = existing.parent_path();
    }
    if (state && config::is_within(*state, dir) && !fs::exists(*state, ec)) {
        out.ok(name + " does not exist yet; systemd creates " + state->string() + " for " + user.name +
               " when the unit starts, and the daemon creates the rest");
        return;
    }
    if (auto blocked = unsearchable_ancestor(user, existing / "x")) {
        out.problem(name + ": " + user.name + " cannot enter " + blocked->string());
        return;
    }
    if (existing == dir) {
        if (permitted(user, dir, 7)) {
            out.ok(name + " is readable and writable by " + user.name);
        } else {
            out.problem(name + " is not readable, writable and searchable by " + user.name +
                        " (chown or chmod it, or add " + user.name + " to its group)");
        }
    } else if (permitted(user, existing, 3)) {
        out.ok(name + " does not exist yet; the daemon creates it (in " + existing.string() + ")");
    } else {
        out.problem(name + " does not exist, and " + user.name + " may not create it in " + existing.string());
    }
}

void check_index(const config::Config& cfg, Findings& out)
{
    if (!index::HashIndex::exists(cfg.index_dir)) {
        out.note("no index in " + cfg.index_dir.string() + " yet: the daemon creates it at its first start");
        return;
    }
    try {
        const auto idx = index::HashIndex::open_read_only(cfg.index_dir);
        if (auto why = index_disagreement(cfg, idx); !why.empty()) {
            out.problem(why);
            return;
        }
        out.ok("index " + cfg.index_dir.string() + " (" + std::to_string(idx.next_seq() - 1) + " items, " +
               index::describe(idx.params()) + ") agrees with the configuration");
    } catch (const std::exception& e) { // IndexError, ConfigError from a projection file: both findings
        out.problem("cannot read index " + cfg.index_dir.string() + ": " + e.what());
    }
}

// `systemctl show` of `unit`'s sandbox settings, as "Key=value" lines;
// nullopt when systemd cannot be asked (not installed, not running).
// Started without a shell, so the unit name is one argument whatever it holds.
std::optional<std::string> unit_properties(const std::string& unit)
{
    std::array<int, 2> fds{};
    if (::pipe2(fds.data(), O_CLOEXEC) != 0) return std::nullopt;
    const UniqueFd read_end(fds[0]);
    UniqueFd write_end(fds[1]);
    std::array<std::string, 6> args{
        "systemctl", "show", "--property=ReadWritePaths", "--property=ProtectHome", "--property=PrivateTmp", unit};
    std::array<char*, args.size() + 1> argv{};
    std::ranges::transform(args, argv.begin(), [](std::string& a) { return a.data(); });
    posix_spawn_file_actions_t actions{};
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDOUT_FILENO);
    ::posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    pid_t pid = 0;
    const int spawned = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    ::posix_spawn_file_actions_destroy(&actions);
    write_end.reset(); // the child holds the only write end now: EOF when it exits
    if (spawned != 0) return std::nullopt;
    std::string text;
    std::array<char, 4096> buf{};
    for (ssize_t n = 0; (n = ::read(read_end.get(), buf.data(), buf.size())) != 0;) {
        if (n < 0 && errno != EINTR) break;
        if (n > 0) text.append(buf.data(), static_cast<std::size_t>(n));
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
    return text;
}

std::string property(const std::string& text, std::string_view key)
{
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with(std::string(key) + "=")) return line.substr(key.size() + 1);
    }
    return {};
}

// Under a packaged unit, the sandbox (ProtectSystem=strict, ProtectHome=yes,
// PrivateTmp=yes) leaves only the state and runtime directories writable;
// everything else must be granted by ReadWritePaths=.
void check_unit_grants(const fs::path& config_file, const config::Config& cfg, Findings& out)
{
    const auto unit = config::packaged_unit(config_file);
    const auto state_dir = config::packaged_state_dir(config_file);
    if (!unit || !state_dir) return;
    const fs::path& state = *state_dir;
    const fs::path runtime = fs::path("/run") / state.filename();
    const auto props = unit_properties(*unit);
    if (!props) {
        out.note("systemd could not be asked about " + *unit + ": its ReadWritePaths= were not checked");
        return;
    }
    std::vector<fs::path> granted{state, runtime};
    std::istringstream paths(property(*props, "ReadWritePaths"));
    for (std::string p; paths >> p;) {
        granted.emplace_back(p.substr(p.find_first_not_of("-+")));
    }
    const int problems_before = out.problems();
    const bool home_hidden = property(*props, "ProtectHome") == "yes";
    const bool private_tmp = property(*props, "PrivateTmp") == "yes";
    for (const auto& [key, path] : {std::pair<std::string_view, fs::path>{"ingest_dir", cfg.ingest_dir},
                                    {"output_dir", cfg.output_dir},
                                    {"index_dir", cfg.index_dir},
                                    {"control_socket", cfg.control_socket_path().parent_path()}}) {
        const std::string name = std::string(key) + " " + path.string();
        if (private_tmp && (config::is_within("/tmp", path) || config::is_within("/var/tmp", path))) {
            out.problem(name + " is under a temporary directory, which " + *unit +
                        " replaces with its own (PrivateTmp=yes)");
        } else if (home_hidden && (config::is_within("/home", path) || config::is_within("/root", path) ||
                                   config::is_within("/run/user", path))) {
            out.problem(name + " is under a home directory, which " + *unit +
                        " hides (ProtectHome=yes): set ProtectHome=read-only and ReadWritePaths=" + path.string() +
                        " in a drop-in (systemctl edit " + *unit + ")");
        } else if (std::ranges::none_of(granted,
                                        [&target = path](const fs::path& g) { return config::is_within(g, target); })) {
            out.problem(name + " is outside " + state.string() + " and not granted to " + *unit +
                        ": add ReadWritePaths=" + path.string() + " in a drop-in (systemctl edit " + *unit + ")");
        }
    }
    if (out.problems() == problems_before) {
        out.ok("every path is inside " + state.string() + " or granted to " + *unit + " (ReadWritePaths=)");
    }
}

// Another process (another instance copied from this file, say) on the
// metrics port makes the daemon serve no metrics. Tried only when this
// configuration's own daemon is not running, since it holds the port.
void check_metrics_port(const config::Config& cfg, Findings& out)
{
    if (!cfg.metrics.listen || control_call(cfg.control_socket_path(), Json{{"command", "ping"}})) return;
    const std::string& listen = *cfg.metrics.listen;
    const auto colon = listen.rfind(':');
    std::string host = listen.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* found = nullptr;
    if (::getaddrinfo(host.c_str(), listen.substr(colon + 1).c_str(), &hints, &found) != 0 || found == nullptr) {
        out.problem("metrics.listen " + listen + ": the host does not resolve");
        return;
    }
    const std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, &::freeaddrinfo);
    const UniqueFd fd(::socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, found->ai_protocol));
    const int one = 1;
    (void)::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one); // as the endpoint binds
    if (fd.get() < 0 || ::bind(fd.get(), found->ai_addr, found->ai_addrlen) != 0) {
        out.problem("metrics.listen " + listen + ": cannot bind (" + std::strerror(errno) +
                    "); another process, such as another instance, may hold the port");
        return;
    }
    out.ok("metrics.listen " + listen + " is free");
}

// Instances kept their state inside ndrd.service's before 0.2.0.
void check_old_layout(const fs::path& config_file, const config::Config& cfg, Findings& out)
{
    try {
        refuse_old_instance_layout(config_file, cfg);
    } catch (const config::ConfigError& e) {
        out.problem(e.what());
    }
}

} // namespace

int check_command(const fs::path& config_file, bool print)
{
    const config::Config cfg = config::load_config(config_file);
    Findings out;
    out.ok("configuration " + config_file.string() + " is valid; relative paths resolve against " +
           cfg.base_dir.string());
    try {
        config::check_directory_layout(cfg);
        const ServiceUser user = service_user(config_file, out);
        const auto state = config::packaged_state_dir(config_file);
        check_directory("ingest_dir", cfg.ingest_dir, user, state, out);
        check_directory("output_dir", cfg.output_dir, user, state, out);
        check_directory("index_dir", cfg.index_dir, user, state, out);
    } catch (const config::ConfigError& e) {
        out.problem(e.what());
    }
    check_index(cfg, out);
    check_metrics_port(cfg, out);
    check_old_layout(config_file, cfg, out);
    check_unit_grants(config_file, cfg, out);
    if (cfg.cluster) {
        out.note("cluster servers are not contacted by a check; the daemon connects at start");
    }
    if (print) {
        std::cout << "\n# effective configuration of " << config_file.string() << "\n" << config::to_yaml(cfg);
    }
    std::cout.flush();
    return out.problems() > 0 ? 1 : 0;
}

} // namespace ndrd::daemon
