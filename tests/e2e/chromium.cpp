// Headless Chromium over the DevTools pipe (see chromium.hpp).
#include "chromium.hpp"
#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <utility>

#include <boost/beast/core/detail/base64.hpp>

namespace ndrd::e2e {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// How long open() waits, once the page is loaded and idle, for a request
// started late (by a timer or the load handler) before it calls the page done.
constexpr milliseconds quiet_period{100};
// How long the destructor lets chromium close itself before it kills it.
constexpr milliseconds close_grace{2000};

// Target.setAutoAttach's parameters: frames and workers are attached (flat:
// on this pipe, with their own sessionId) paused, until adopt() runs them.
const json auto_attach{{"autoAttach", true}, {"waitForDebuggerOnStart", true}, {"flatten", true}};

// A file descriptor, closed on destruction.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Fd& operator=(Fd&& other) noexcept
    {
        if (this != &other) {
            reset();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    ~Fd() { reset(); }
    [[nodiscard]] int get() const { return fd_; }
    void reset()
    {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_ = -1;
};

[[noreturn]] void throw_errno(const std::string& what)
{
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

struct Pipe {
    Fd read;
    Fd write;
};

Pipe make_pipe()
{
    std::array<int, 2> fds{};
    if (::pipe2(fds.data(), O_CLOEXEC) != 0) throw_errno("pipe2");
    return {Fd(fds[0]), Fd(fds[1])};
}

// The chromium process and its process group (zygote, renderers, GPU
// process): on destruction the whole group gets SIGKILL, then the leader is
// reaped. Exit is observed with WNOWAIT, so the leader stays a zombie until
// then and its pid, the group id, cannot be reused by another process.
class Child {
public:
    explicit Child(pid_t pid) : pid_(pid) {}
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    ~Child() { kill_all(); }

    // "exit status N" / "killed by signal N (...)" once the leader exited.
    std::optional<std::string> exited()
    {
        if (!status_ && pid_ > 0) {
            siginfo_t info{};
            if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
                info.si_pid == pid_) {
                status_ = info.si_code == CLD_EXITED ? "exit status " + std::to_string(info.si_status)
                                                     : "killed by signal " + std::to_string(info.si_status) + " (" +
                                                           ::strsignal(info.si_status) + ")";
            }
        }
        return status_;
    }

    bool wait(milliseconds timeout)
    {
        const auto deadline = Clock::now() + timeout;
        while (!exited()) {
            if (Clock::now() >= deadline) return false;
            std::this_thread::sleep_for(milliseconds(10));
        }
        return true;
    }

    void kill_all()
    {
        if (pid_ <= 0) return;
        ::kill(-pid_, SIGKILL);
        ::kill(pid_, SIGKILL); // in case setpgid failed
        while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
    }

private:
    pid_t pid_;
    std::optional<std::string> status_;
};

// Blocks SIGPIPE in this thread while it writes to chromium, so that a
// browser that died makes write() fail with EPIPE instead of killing the
// test; a SIGPIPE raised meanwhile is consumed before the mask is restored.
class SigpipeBlocked {
public:
    SigpipeBlocked()
    {
        sigemptyset(&pipe_);
        sigaddset(&pipe_, SIGPIPE);
        sigset_t pending;
        sigpending(&pending);
        was_pending_ = sigismember(&pending, SIGPIPE) == 1;
        ::pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    }
    SigpipeBlocked(const SigpipeBlocked&) = delete;
    SigpipeBlocked& operator=(const SigpipeBlocked&) = delete;
    ~SigpipeBlocked()
    {
        if (!was_pending_) {
            const timespec zero{};
            while (::sigtimedwait(&pipe_, nullptr, &zero) == SIGPIPE) {
            }
        }
        ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
    }

private:
    sigset_t pipe_{};
    sigset_t old_{};
    bool was_pending_ = false;
};

std::vector<std::string> chromium_argv(const fs::path& chromium, const fs::path& profile_dir)
{
    std::vector<std::string> argv{chromium.string(),
                                  "--headless",
                                  "--disable-gpu",
                                  "--no-first-run",
                                  "--no-default-browser-check",
                                  "--disable-background-networking",
                                  "--disable-component-update",
                                  "--disable-sync",
                                  "--disable-extensions",
                                  "--disable-dev-shm-usage",
                                  "--mute-audio",
                                  "--hide-scrollbars",
                                  "--user-data-dir=" + profile_dir.string(),
                                  "--remote-debugging-pipe"};
    // Chromium refuses to start as root with its sandbox (CI runs as root).
    if (::geteuid() == 0) argv.emplace_back("--no-sandbox");
    argv.emplace_back("about:blank");
    return argv;
}

// The test's environment with HOME and the XDG directories moved into the
// profile: chromium also writes caches, crash reports and dconf settings
// there, which must neither pile up in the CI user's home nor need it writable.
std::vector<std::string> chromium_environment(const fs::path& profile_dir)
{
    std::vector<std::string> env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        const std::string_view var(*e);
        const auto name = var.substr(0, var.find('='));
        if (name != "HOME" && name != "XDG_CONFIG_HOME" && name != "XDG_CACHE_HOME" && name != "XDG_DATA_HOME") {
            env.emplace_back(var);
        }
    }
    env.push_back("HOME=" + profile_dir.string());
    env.push_back("XDG_CONFIG_HOME=" + (profile_dir / ".config").string());
    env.push_back("XDG_CACHE_HOME=" + (profile_dir / ".cache").string());
    env.push_back("XDG_DATA_HOME=" + (profile_dir / ".local" / "share").string());
    return env;
}

std::vector<char*> c_strings(const std::vector<std::string>& strings)
{
    std::vector<char*> out;
    for (const auto& s : strings)
        out.push_back(const_cast<char*>(s.c_str())); // NOLINT: execve takes char* const[]
    out.push_back(nullptr);
    return out;
}

// Starts chromium in its own process group with `commands` as its fd 3,
// `replies` as its fd 4, and stdout and stderr appended to `log`.
pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& environment, const Fd& commands,
            const Fd& replies, const fs::path& log)
{
    // Everything the child needs is prepared before fork: after it, only
    // async-signal-safe calls are allowed.
    const auto args = c_strings(argv);
    const auto env = c_strings(environment);
    const Fd log_fd(::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644));
    if (log_fd.get() < 0) throw_errno("cannot create " + log.string());
    const Fd null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (null_fd.get() < 0) throw_errno("cannot open /dev/null");
    const pid_t parent = ::getpid();

    const pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork");
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127); // the parent died before prctl
        ::setpgid(0, 0);
        // The pipe ends are moved above fd 10 first: either may be fd 3 or 4
        // already, and dup2 onto itself would keep O_CLOEXEC.
        const int in = ::fcntl(commands.get(), F_DUPFD_CLOEXEC, 10);
        const int out = ::fcntl(replies.get(), F_DUPFD_CLOEXEC, 10);
        if (in < 0 || out < 0 || ::dup2(null_fd.get(), STDIN_FILENO) < 0 || ::dup2(log_fd.get(), STDOUT_FILENO) < 0 ||
            ::dup2(log_fd.get(), STDERR_FILENO) < 0 || ::dup2(in, 3) < 0 || ::dup2(out, 4) < 0) {
            ::_exit(126);
        }
        exec_with_default_signals(args.data(), env.data());
    }
    ::setpgid(pid, pid); // also here, so that the group exists before kill_all whatever runs first
    return pid;
}

std::string tail(const std::string& text, std::size_t max_chars)
{
    if (text.size() <= max_chars) return text;
    auto start = text.find('\n', text.size() - max_chars);
    start = start == std::string::npos ? text.size() - max_chars : start + 1;
    return "[...]\n" + text.substr(start);
}

// Chromium logs a dozen D-Bus errors in any container without a system bus:
// they would crowd the lines that explain a failure out of its tail.
std::string without_dbus_noise(const std::string& log)
{
    std::string kept;
    std::size_t start = 0;
    while (start < log.size()) {
        auto end = log.find('\n', start);
        end = end == std::string::npos ? log.size() : end + 1;
        const std::string_view line(log.data() + start, end - start);
        if (line.find(":ERROR:dbus/") == std::string_view::npos) kept += line;
        start = end;
    }
    return kept;
}

std::string decode_base64(const std::string& text)
{
    namespace base64 = boost::beast::detail::base64;
    if (text.size() % 4 != 0) throw std::runtime_error("chromium sent base64 of a length not a multiple of 4");
    std::string out(base64::decoded_size(text.size()), '\0');
    const auto [written, read] = base64::decode(out.data(), text.data(), text.size());
    // decode() stops at the padding or at the first character not base64.
    if (text.find_first_not_of('=', read) != std::string::npos) {
        throw std::runtime_error("chromium sent invalid base64 (at offset " + std::to_string(read) + ")");
    }
    out.resize(written);
    return out;
}

// The text of an exception as DevTools describes it (exceptionDetails):
// "Error: message\n    at stack..." for Error objects, else the value.
std::string exception_text(const json& details)
{
    const auto exception = details.value("exception", json::object());
    if (exception.contains("description")) return exception["description"].get<std::string>();
    if (exception.contains("value")) {
        const auto& v = exception["value"];
        return v.is_string() ? v.get<std::string>() : v.dump();
    }
    return details.value("text", "exception");
}

// A console.error(...) call's arguments, joined by spaces as the console shows them.
std::string console_text(const json& args)
{
    std::string text;
    for (const auto& arg : args) {
        if (!text.empty()) text += ' ';
        if (arg.contains("value")) {
            text += arg["value"].is_string() ? arg["value"].get<std::string>() : arg["value"].dump();
        } else {
            text += arg.value("description", arg.value("type", "?"));
        }
    }
    return text;
}

long long to_ms(Clock::duration d)
{
    return std::chrono::duration_cast<milliseconds>(d).count();
}

} // namespace

// ------------------------------------------------------------------ find

std::optional<fs::path> find_chromium()
{
    const char* env = std::getenv("NDRD_CHROMIUM");
    const fs::path path = env != nullptr && *env != '\0' ? fs::path(env) : fs::path("/usr/bin/chromium");
    std::error_code ec;
    if (!fs::is_regular_file(path, ec) || ::access(path.c_str(), X_OK) != 0) return std::nullopt;
    return path;
}

boost::test_tools::assertion_result chromium_available(boost::unit_test::test_unit_id /*unused*/)
{
    boost::test_tools::assertion_result r(find_chromium().has_value());
    if (!r) {
        r.message() << "chromium not installed (Debian package chromium)";
        if (const char* env = std::getenv("NDRD_CHROMIUM"); env != nullptr && *env != '\0') {
            r.message() << "; NDRD_CHROMIUM=" << env << " is not an executable file";
        }
    }
    return r;
}

std::string file_url(const fs::path& absolute)
{
    static constexpr std::string_view hex = "0123456789ABCDEF";
    std::string url = "file://";
    for (const char c : absolute.string()) {
        const auto byte = static_cast<unsigned char>(c);
        if (std::isalnum(byte) != 0 || std::string_view("/-._~").find(c) != std::string_view::npos) {
            url += c;
        } else {
            url += '%';
            url += hex[byte >> 4U];
            url += hex[byte & 0xFU];
        }
    }
    return url;
}

// ------------------------------------------------------------------ Impl

class Browser::Impl {
public:
    Impl(const fs::path& chromium, const fs::path& profile_dir, milliseconds startup_timeout);
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;
    ~Impl();

    // Sends a command (to the page's session unless `to_browser`) and
    // returns its "result"; throws on an error reply or at the deadline.
    json call(const std::string& method, json params, milliseconds timeout, bool to_browser = false);
    // The next event of the page's session; nullopt at `until`.
    std::optional<json> next_event(Clock::time_point until);
    // Drops the page events received so far (read what is waiting first).
    void forget_events();
    [[nodiscard]] std::string log_text() const;

private:
    void send(const json& message, Clock::time_point deadline);
    bool pump(Clock::time_point until);
    void take_messages(std::size_t scan_from);
    void adopt(const json& attached);
    [[noreturn]] void fail(const std::string& what, bool died);

    fs::path log_;
    Fd to_chromium_;
    Fd from_chromium_;
    std::optional<Child> child_;
    std::string inbox_;
    std::deque<json> events_;
    int next_id_ = 1;
    int awaited_id_ = 0;
    std::optional<json> reply_;
    std::string session_;            // the page's
    std::set<std::string> sessions_; // the page's and those of its frames and workers
};

Browser::Impl::Impl(const fs::path& chromium, const fs::path& profile_dir, milliseconds startup_timeout)
    : log_(profile_dir / "chromium.log")
{
    fs::create_directories(profile_dir);
    Pipe commands = make_pipe(); // chromium reads fd 3
    Pipe replies = make_pipe();  // chromium writes fd 4
    child_.emplace(spawn(chromium_argv(chromium, profile_dir), chromium_environment(profile_dir), commands.read,
                         replies.write, log_));
    commands.read.reset();
    replies.write.reset(); // so that chromium's exit is an end of file here
    to_chromium_ = std::move(commands.write);
    from_chromium_ = std::move(replies.read);
    if (::fcntl(to_chromium_.get(), F_SETFL, O_NONBLOCK) != 0 ||
        ::fcntl(from_chromium_.get(), F_SETFL, O_NONBLOCK) != 0) {
        throw_errno("fcntl O_NONBLOCK");
    }

    // A page of its own (rather than the initial tab, which may not be
    // registered yet), attached in flat mode: its commands and events carry
    // its sessionId on this same pipe.
    const auto target = call("Target.createTarget", {{"url", "about:blank"}}, startup_timeout, true);
    const auto attached =
        call("Target.attachToTarget", {{"targetId", target.at("targetId")}, {"flatten", true}}, startup_timeout, true);
    session_ = attached.at("sessionId").get<std::string>();
    sessions_.insert(session_);
    for (const char* domain : {"Page.enable", "Network.enable", "Runtime.enable"})
        call(domain, json::object(), startup_timeout);
    // Cross-site iframes and workers run in targets of their own, which
    // report their requests (and the end of the page's request for them)
    // and their errors on their own sessions: see adopt().
    call("Target.setAutoAttach", auto_attach, startup_timeout);
    // Lifecycle events name their loader, unlike Page.loadEventFired: open()
    // can tell its own page's load from a late one of the previous page.
    call("Page.setLifecycleEventsEnabled", {{"enabled", true}}, startup_timeout);
}

Browser::Impl::~Impl()
{
    // A clean close lets chromium flush its profile and end its helpers;
    // child_'s destructor kills whatever is left after the grace period.
    try {
        if (child_ && !child_->exited()) {
            send({{"id", next_id_++}, {"method", "Browser.close"}}, Clock::now() + close_grace);
            child_->wait(close_grace);
        }
    } catch (const std::exception&) { // NOLINT(bugprone-empty-catch): chromium is killed below
    }
}

json Browser::Impl::call(const std::string& method, json params, milliseconds timeout, bool to_browser)
{
    const auto deadline = Clock::now() + timeout;
    const int id = next_id_++;
    json message{{"id", id}, {"method", method}, {"params", std::move(params)}};
    if (!to_browser) message["sessionId"] = session_;
    awaited_id_ = id;
    reply_.reset();
    send(message, deadline);
    // The deadline is checked after every read too: a page flooding events
    // must not keep a command waiting forever.
    while (!reply_) {
        if (!pump(deadline) || (!reply_ && Clock::now() >= deadline)) {
            fail(method + ": no reply from chromium within " + std::to_string(timeout.count()) + " ms", false);
        }
    }
    json reply = std::move(*reply_);
    reply_.reset();
    if (reply.contains("error")) {
        throw std::runtime_error(method + " failed: " + reply["error"].value("message", reply["error"].dump()) + " (" +
                                 message.dump().substr(0, 300) + ")");
    }
    return reply.value("result", json::object());
}

std::optional<json> Browser::Impl::next_event(Clock::time_point until)
{
    while (events_.empty()) {
        if (!pump(until) || (events_.empty() && Clock::now() >= until)) return std::nullopt;
    }
    json event = std::move(events_.front());
    events_.pop_front();
    return event;
}

void Browser::Impl::forget_events()
{
    while (pump(Clock::now())) {
    }
    events_.clear();
}

std::string Browser::Impl::log_text() const
{
    std::ifstream in(log_, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void Browser::Impl::send(const json& message, Clock::time_point deadline)
{
    const std::string text = message.dump() + '\0';
    const SigpipeBlocked blocked;
    std::size_t done = 0;
    while (done < text.size()) {
        const auto n = ::write(to_chromium_.get(), text.data() + done, text.size() - done);
        if (n >= 0) {
            done += static_cast<std::size_t>(n);
            continue;
        }
        if (errno == EPIPE) fail("chromium closed its command pipe (fd 3)", true);
        if (errno != EAGAIN && errno != EINTR) throw_errno("writing to chromium");
        // The pipe is full: chromium is not reading.
        pollfd p{to_chromium_.get(), POLLOUT, 0};
        if (Clock::now() >= deadline)
            fail(message.value("method", "?") + ": chromium does not read its commands", false);
        ::poll(&p, 1, 100);
    }
}

// Reads what chromium has sent, waiting at most until `until`; false if
// nothing came. Checks every 100 ms that chromium still runs.
bool Browser::Impl::pump(Clock::time_point until)
{
    while (true) {
        const auto left = std::chrono::ceil<milliseconds>(until - Clock::now()).count();
        pollfd p{from_chromium_.get(), POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(std::clamp<long long>(left, 0, 100)));
        if (ready < 0 && errno != EINTR) throw_errno("poll on chromium's pipe");
        if (ready > 0) {
            std::array<char, 65536> buffer{};
            const auto n = ::read(from_chromium_.get(), buffer.data(), buffer.size());
            if (n == 0) fail("chromium closed its DevTools pipe (fd 4)", true);
            if (n < 0 && errno != EAGAIN && errno != EINTR) throw_errno("reading from chromium");
            if (n > 0) {
                const auto old_size = inbox_.size();
                inbox_.append(buffer.data(), static_cast<std::size_t>(n));
                take_messages(old_size);
                return true;
            }
        } else if (ready == 0 && child_->exited()) {
            fail("chromium exited", true);
        }
        if (Clock::now() >= until) return false;
    }
}

// Parses the NUL-terminated messages in inbox_ (only the bytes from
// scan_from on can hold a new terminator: a screenshot takes megabytes).
void Browser::Impl::take_messages(std::size_t scan_from)
{
    std::size_t start = 0;
    for (auto end = inbox_.find('\0', scan_from); end != std::string::npos; end = inbox_.find('\0', start)) {
        json message;
        try {
            message = json::parse(inbox_.begin() + static_cast<std::ptrdiff_t>(start),
                                  inbox_.begin() + static_cast<std::ptrdiff_t>(end));
        } catch (const json::exception& e) {
            throw std::runtime_error(std::string("chromium sent a message that is not JSON: ") + e.what());
        }
        start = end + 1;
        if (message.contains("id")) {
            // A reply to a command given up on (timed out) is dropped.
            if (message["id"] == awaited_id_) reply_ = std::move(message);
        } else if (sessions_.contains(message.value("sessionId", ""))) {
            const auto& method = message.at("method").get_ref<const std::string&>();
            if (method == "Target.attachedToTarget") adopt(message.at("params"));
            if (method == "Target.detachedFromTarget") sessions_.erase(message["params"].value("sessionId", ""));
            events_.push_back(std::move(message));
        }
    }
    inbox_.erase(0, start);
}

// A frame or worker target was attached, paused until it is told to run:
// its events are enabled first, so that none of its requests is missed. The
// replies are not awaited (this runs while a reply or event is awaited), and
// are dropped, errors included: a target that lacks a domain still runs.
void Browser::Impl::adopt(const json& attached)
{
    const auto session = attached.at("sessionId").get<std::string>();
    sessions_.insert(session);
    const auto deadline = Clock::now() + milliseconds(5000);
    for (const auto& [method, params] :
         {std::pair{"Network.enable", json::object()}, std::pair{"Runtime.enable", json::object()},
          std::pair{"Target.setAutoAttach", auto_attach},
          std::pair{"Runtime.runIfWaitingForDebugger", json::object()}}) {
        send({{"id", next_id_++}, {"method", method}, {"params", params}, {"sessionId", session}}, deadline);
    }
}

void Browser::Impl::fail(const std::string& what, bool died)
{
    // Give a dying chromium a moment, so that its status and last words are known.
    if (died) child_->wait(milliseconds(1000));
    const auto status = child_->exited();
    throw std::runtime_error(what + " (chromium " + (status ? *status : std::string("still running")) +
                             "); last lines of " + log_.string() + ":\n" + tail(without_dbus_noise(log_text()), 3000));
}

// ------------------------------------------------------------------ open

namespace {

// What open() learns from the page's events while it loads.
class LoadWatch {
public:
    LoadWatch(std::string frame_id, std::string loader_id)
        : frame_id_(std::move(frame_id)), loader_id_(std::move(loader_id)), loaded_(loader_id_.empty())
    {
    }

    // Same-document navigations (a #fragment) have no loader and no load event.
    [[nodiscard]] bool settled() const { return loaded_ && pending_.empty(); }
    [[nodiscard]] bool loaded() const { return loaded_; }

    // True for network events: they restart open()'s quiet period.
    bool on(const json& event)
    {
        const auto& method = event.at("method").get_ref<const std::string&>();
        const auto params = event.value("params", json::object());
        if (method == "Network.requestWillBeSent") {
            // Sent again with the same requestId when a request is redirected.
            const auto url = params.at("request").at("url").get<std::string>();
            pending_[params.at("requestId").get<std::string>()] = url;
            load_.requested_urls.push_back(url);
            return true;
        }
        if (method == "Network.loadingFinished" || method == "Network.loadingFailed") {
            // Unknown ids are the previous page's requests, cancelled.
            const auto it = pending_.find(params.at("requestId").get<std::string>());
            if (it == pending_.end()) return false;
            if (method == "Network.loadingFailed") load_.failed_urls.push_back(it->second);
            pending_.erase(it);
            return true;
        }
        if (method == "Page.lifecycleEvent" && params.value("name", "") == "load" &&
            params.value("frameId", "") == frame_id_ && params.value("loaderId", "") == loader_id_) {
            loaded_ = true;
        } else if (method == "Runtime.exceptionThrown") {
            load_.errors.push_back("uncaught " + exception_text(params.value("exceptionDetails", json::object())));
        } else if (method == "Runtime.consoleAPICalled" &&
                   (params.value("type", "") == "error" || params.value("type", "") == "assert")) {
            load_.errors.push_back("console." + params.value("type", "") + ": " +
                                   console_text(params.value("args", json::array())));
        } else if (method == "Inspector.targetCrashed") {
            throw std::runtime_error("the page's renderer crashed while it loaded");
        }
        return false;
    }

    // Why open() is still waiting, for its timeout message.
    [[nodiscard]] std::string waiting_for() const
    {
        std::string urls;
        for (const auto& [id, url] : pending_)
            urls += (urls.empty() ? "" : ", ") + url.substr(0, 200);
        if (!loaded_) return "no load event yet" + (urls.empty() ? "" : "; requests pending: " + urls);
        return "requests still pending: " + urls;
    }

    Browser::Load load_;

private:
    std::string frame_id_;
    std::string loader_id_;
    bool loaded_;
    std::map<std::string, std::string> pending_; // requestId -> url
};

} // namespace

// ------------------------------------------------------------------ Browser

Browser::Browser(const fs::path& chromium, const fs::path& profile_dir, milliseconds startup_timeout)
    : impl_(std::make_unique<Impl>(chromium, profile_dir, startup_timeout))
{
}

Browser::Browser(Browser&&) noexcept = default;
Browser& Browser::operator=(Browser&&) noexcept = default;
Browser::~Browser() = default;

Browser::Load Browser::open(const std::string& url, milliseconds timeout)
{
    const auto start = Clock::now();
    const auto deadline = start + timeout;
    impl_->forget_events(); // what the previous page did is not this load's
    const auto navigation = impl_->call("Page.navigate", {{"url", url}}, timeout);
    if (const auto error = navigation.value("errorText", ""); !error.empty()) {
        throw std::runtime_error("cannot open " + url + ": " + error);
    }
    LoadWatch watch(navigation.value("frameId", ""), navigation.value("loaderId", ""));
    auto last_activity = Clock::now();
    while (true) {
        const auto until = watch.settled() ? std::min(deadline, last_activity + quiet_period) : deadline;
        const auto event = impl_->next_event(until);
        if (!event) {
            if (watch.settled()) return std::move(watch.load_);
            throw std::runtime_error("open(" + url + "): " + watch.waiting_for() + " after " +
                                     std::to_string(to_ms(Clock::now() - start)) + " ms");
        }
        const bool was_loaded = watch.loaded();
        if (watch.on(*event) || watch.loaded() != was_loaded) last_activity = Clock::now();
    }
}

json Browser::evaluate(const std::string& js, milliseconds timeout)
{
    const auto result =
        impl_->call("Runtime.evaluate", {{"expression", js}, {"returnByValue", true}, {"awaitPromise", true}}, timeout);
    if (result.contains("exceptionDetails")) {
        throw std::runtime_error("evaluate(" + js.substr(0, 200) +
                                 ") threw: " + exception_text(result["exceptionDetails"]));
    }
    const auto value = result.value("result", json::object());
    if (value.contains("value")) return value["value"];
    // NaN, Infinity, -0 and bigints have no JSON form: their text, e.g. "NaN".
    if (value.contains("unserializableValue")) return value["unserializableValue"];
    return nullptr; // undefined
}

void Browser::screenshot(const fs::path& png, int width, int height)
{
    constexpr milliseconds timeout{30000};
    impl_->call("Emulation.setDeviceMetricsOverride",
                {{"width", width}, {"height", height}, {"deviceScaleFactor", 1}, {"mobile", false}}, timeout);
    // The whole page, not just the viewport: captureBeyondViewport only
    // renders beyond it when the clip asks for more.
    const auto metrics = impl_->call("Page.getLayoutMetrics", json::object(), timeout);
    const auto& size = metrics.at("cssContentSize");
    const json clip{{"x", 0},
                    {"y", 0},
                    {"width", std::max(size.at("width").get<double>(), 1.0)},
                    {"height", std::max(size.at("height").get<double>(), 1.0)},
                    {"scale", 1}};
    const auto shot = impl_->call("Page.captureScreenshot",
                                  {{"format", "png"}, {"captureBeyondViewport", true}, {"clip", clip}}, timeout);
    const auto bytes = decode_base64(shot.at("data").get<std::string>());
    std::ofstream out(png, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) throw std::runtime_error("cannot write the screenshot to " + png.string());
}

std::string Browser::log_text() const
{
    return impl_->log_text();
}

} // namespace ndrd::e2e
