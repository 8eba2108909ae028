// A live `ndrd run` daemon in its own temporary deployment, with the record
// of every file a test dropped and where it must end up, so that the test can
// stop the daemon and check that no file was lost, duplicated or overwritten.
#pragma once

#include <boost/test/unit_test.hpp>

#include <set>
#include <sstream>

#include "e2e_support.hpp"

namespace ndrd::e2e {

inline std::string listing(const fs::path& root)
{
    std::ostringstream s;
    for (const auto& e : entries_under(root))
        s << "  " << e << "\n";
    return s.str();
}

class Live {
public:
    explicit Live(const ConfigOptions& options = ConfigOptions{}, const fs::path& output_dir = {},
                  const fs::path& index_dir = {})
        : layout_(make_layout(dir_.path()))
    {
        if (!output_dir.empty()) layout_.output = output_dir;
        if (!index_dir.empty()) layout_.index = index_dir;
        write_config(layout_, options);
    }

    void start()
    {
        daemon_ = std::make_unique<Daemon>(layout_);
        BOOST_REQUIRE_MESSAGE(daemon_->wait_ready(), "the daemon did not log 'ready':\n" << daemon_->log());
    }

    // SIGTERM (or `sig`): the daemon must exit with 0 within 5 s.
    void stop(int sig = 15)
    {
        BOOST_REQUIRE(daemon_);
        const auto status = daemon_->stop(sig);
        BOOST_CHECK_MESSAGE(status && *status == 0,
                            "daemon exit status " << (status ? std::to_string(*status) : "<still running after 5 s>")
                                                  << "; log:\n"
                                                  << daemon_->log());
        stopped_logs_ += daemon_->log();
        daemon_.reset();
    }

    // SIGKILL, as a crash or a power cut would stop it: no exit status to
    // check, the log is kept.
    void crash()
    {
        BOOST_REQUIRE(daemon_);
        (void)daemon_->stop(9);
        stopped_logs_ += daemon_->log();
        daemon_.reset();
    }

    // Sends `sig` to the running daemon (SIGHUP: reload).
    void signal(int sig)
    {
        BOOST_REQUIRE(daemon_);
        daemon_->process().send_signal(sig);
    }

    // Records that output/<location> must hold `bytes`, and waits (up to 10 s)
    // until it does. With `source` (the file's path in the ingest tree) the
    // wait ends early once the source is gone: ndrd renames atomically (or
    // links the copy before unlinking the source), so a source gone with no
    // file at `location` means the file went somewhere else.
    bool expect(const std::string& location, const std::string& bytes, const fs::path& source = {})
    {
        expected_[location] = bytes;
        const fs::path target = layout_.output / location;
        eventually([&] {
            std::error_code ec;
            return file_has(target, bytes) || (!source.empty() && !fs::exists(fs::symlink_status(source, ec)));
        });
        const bool ok = file_has(target, bytes);
        BOOST_CHECK_MESSAGE(
            ok, location << " is not there (its source left the ingest directory, or 10 s passed). Output:\n"
                         << listing(layout_.output) << "Ingest:\n"
                         << listing(layout_.ingest) << "Log:\n"
                         << log());
        return ok;
    }
    // An entry that must still be in the ingest directory at the end.
    void expect_left(const std::string& ingest_relative) { left_.insert(ingest_relative); }

    // After stop(): the output tree holds exactly the expected files with
    // their bytes (each dropped file in exactly one place, none overwritten),
    // and the ingest directory exactly the entries expected to stay.
    void check_inventory()
    {
        const auto actual = files_under(layout_.output);
        for (const auto& [location, bytes] : expected_) {
            const auto it = actual.find(location);
            BOOST_CHECK_MESSAGE(it != actual.end(), "missing from the output: " << location);
            if (it != actual.end()) {
                BOOST_CHECK_MESSAGE(it->second == bytes, location << " does not hold the bytes dropped for it");
            }
        }
        for (const auto& [location, bytes] : actual) {
            BOOST_CHECK_MESSAGE(expected_.count(location), "unexpected file in the output: " << location);
        }
        BOOST_CHECK_MESSAGE(entries_under(layout_.output).size() == actual.size(),
                            "the output holds non-regular entries:\n"
                                << listing(layout_.output));
        const auto in = entries_under(layout_.ingest);
        const std::set<std::string> remaining(in.begin(), in.end());
        BOOST_CHECK_MESSAGE(remaining == left_, "ingest directory holds:\n" << listing(layout_.ingest));
    }

    void stop_and_check()
    {
        stop();
        check_inventory();
    }

    [[nodiscard]] std::string log() const { return stopped_logs_ + (daemon_ ? daemon_->log() : std::string()); }
    [[nodiscard]] bool running() { return daemon_ && daemon_->running(); }
    [[nodiscard]] const Layout& layout() const { return layout_; }
    [[nodiscard]] fs::path ingest(const std::string& rel) const { return layout_.ingest / rel; }
    [[nodiscard]] fs::path output(const std::string& rel) const { return layout_.output / rel; }
    [[nodiscard]] fs::path scratch(const std::string& rel) const { return dir_.path() / "scratch" / rel; }
    [[nodiscard]] const test::TempDir& dir() const { return dir_; }

private:
    test::TempDir dir_;
    Layout layout_;
    std::unique_ptr<Daemon> daemon_;
    std::map<std::string, std::string> expected_;
    std::set<std::string> left_;
    std::string stopped_logs_;
};

} // namespace ndrd::e2e
