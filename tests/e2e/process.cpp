// Child processes for the end-to-end tests (see process.hpp).
#include "process.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "test_support.hpp"

namespace ndrd::e2e {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::string slurp(const fs::path& p)
{
    std::error_code ec;
    if (!fs::exists(p, ec)) return {};
    return test::read_file(p);
}

int open_output(const fs::path& p)
{
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        throw std::runtime_error("cannot create " + p.string() + ": " + std::strerror(errno));
    }
    return fd;
}

} // namespace

void exec_with_default_signals(char* const argv[], char* const envp[])
{
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGPIPE, SIG_DFL);
    ::execve(argv[0], argv, envp);
    ::_exit(127);
}

Process::Process(const std::vector<std::string>& argv, fs::path stdout_file, fs::path stderr_file)
    : stdout_file_(std::move(stdout_file)), stderr_file_(std::move(stderr_file))
{
    if (argv.empty()) throw std::invalid_argument("Process: empty argv");
    // Everything the child needs is prepared before fork: after it, only
    // async-signal-safe calls are allowed.
    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str())); // NOLINT
    args.push_back(nullptr);
    std::vector<char*> env;
    for (char** e = environ; e && *e; ++e) {
        if (std::strncmp(*e, "JOURNAL_STREAM=", 15) != 0) env.push_back(*e);
    }
    env.push_back(nullptr);
    const int out_fd = open_output(stdout_file_);
    const int err_fd = open_output(stderr_file_);
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    const pid_t parent = ::getpid();

    pid_ = ::fork();
    if (pid_ < 0) {
        const int err = errno;
        ::close(out_fd);
        ::close(err_fd);
        ::close(null_fd);
        throw std::runtime_error(std::string("fork failed: ") + std::strerror(err));
    }
    if (pid_ == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127); // the parent died before prctl
        ::dup2(null_fd, STDIN_FILENO);
        ::dup2(out_fd, STDOUT_FILENO);
        ::dup2(err_fd, STDERR_FILENO);
        exec_with_default_signals(args.data(), env.data());
    }
    ::close(out_fd);
    ::close(err_fd);
    ::close(null_fd);
}

Process::~Process()
{
    kill();
}

bool Process::reap(bool block)
{
    if (status_) return true;
    if (pid_ <= 0) return true;
    int st = 0;
    pid_t r = 0;
    do {
        r = ::waitpid(pid_, &st, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == pid_) {
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? -WTERMSIG(st) : -1000;
        return true;
    }
    return false;
}

bool Process::running()
{
    return !reap(false);
}

void Process::send_signal(int sig)
{
    if (running()) ::kill(pid_, sig);
}

std::optional<ExitStatus> Process::wait(std::chrono::milliseconds timeout)
{
    const auto deadline = Clock::now() + timeout;
    while (!reap(false)) {
        if (Clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(5ms);
    }
    return status_;
}

void Process::kill()
{
    if (pid_ > 0 && !reap(false)) {
        ::kill(pid_, SIGKILL);
        reap(true);
    }
}

std::string Process::stdout_text() const
{
    return slurp(stdout_file_);
}
std::string Process::stderr_text() const
{
    return slurp(stderr_file_);
}

bool Process::wait_for_stderr(std::string_view needle, std::chrono::milliseconds timeout)
{
    const auto deadline = Clock::now() + timeout;
    while (true) {
        const bool alive = running();
        if (stderr_text().find(needle) != std::string::npos) return true;
        if (!alive || Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(10ms);
    }
}

RunResult run_process(const std::vector<std::string>& argv, std::chrono::milliseconds timeout)
{
    test::TempDir logs;
    Process p(argv, logs / "stdout", logs / "stderr");
    RunResult r;
    r.exit = p.wait(timeout);
    p.kill();
    r.out = p.stdout_text();
    r.err = p.stderr_text();
    return r;
}

} // namespace ndrd::e2e
