// Child processes for the end-to-end tests: ndrd is started with fork/execve,
// its stdout and stderr go to files (no pipe can fill up and block it), and a
// Process that goes out of scope kills and reaps its child, so a failing test
// never leaves a daemon running. The child also gets PR_SET_PDEATHSIG, so it
// dies with the test executable even if that is killed by a CTest timeout.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ndrd::e2e {

using namespace std::chrono_literals;

// Exit status of a finished child: its exit code, or -N if signal N killed it.
using ExitStatus = int;

class Process {
public:
    // Starts argv[0] (an absolute path) with argv; stdout and stderr are
    // written to `stdout_file` / `stderr_file` (created or truncated), stdin is
    // /dev/null. JOURNAL_STREAM is removed from the environment so that log
    // lines have their terminal format.
    Process(const std::vector<std::string>& argv, std::filesystem::path stdout_file, std::filesystem::path stderr_file);
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;
    ~Process();

    [[nodiscard]] pid_t pid() const { return pid_; }
    // True while the child has not exited (reaps it if it has).
    [[nodiscard]] bool running();
    void send_signal(int sig);
    // Waits for the child to exit; nullopt if it is still running at the deadline.
    std::optional<ExitStatus> wait(std::chrono::milliseconds timeout);
    // SIGKILL and reap, if still running.
    void kill();

    [[nodiscard]] std::string stdout_text() const;
    [[nodiscard]] std::string stderr_text() const;
    [[nodiscard]] const std::filesystem::path& stderr_file() const { return stderr_file_; }

    // Polls stderr until it contains `needle`; false at the deadline or as
    // soon as the child has exited without printing it.
    bool wait_for_stderr(std::string_view needle, std::chrono::milliseconds timeout);

private:
    bool reap(bool block);

    pid_t pid_ = -1;
    std::optional<ExitStatus> status_;
    std::filesystem::path stdout_file_;
    std::filesystem::path stderr_file_;
};

struct RunResult {
    std::optional<ExitStatus> exit; // nullopt: killed at the timeout
    std::string out;
    std::string err;
    [[nodiscard]] int code() const { return exit ? *exit : -1000; }
};

// In a forked child: restores the default signal mask and dispositions (the
// test runner may block or ignore signals; the program must see defaults),
// then execve()s; _exit(127) if that fails. Only async-signal-safe calls.
[[noreturn]] void exec_with_default_signals(char* const argv[], char* const envp[]);

// Runs a command to completion (killing it after `timeout`).
RunResult run_process(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = 60s);

} // namespace ndrd::e2e
