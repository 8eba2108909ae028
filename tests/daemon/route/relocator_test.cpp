// The relocator on real files and a real index: journaled moves that never
// overwrite, a move cut short by a crash finished after a restart, and
// settle() safe to repeat.
#define BOOST_TEST_MODULE relocator
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <unordered_set>

#include "daemon/route/relocator.hpp"
#include "index_fixtures.hpp"
#include "route_fixtures.hpp"

using namespace ndrd;
using daemon::DirectorySyncs;
using daemon::RelocateOutcome;
using index::ItemRecord;
using index::RouteState;
using index::Subset;
using index::Verdict;
namespace fs = std::filesystem;

namespace {

ino_t inode_of(const fs::path& p)
{
    struct stat st {};
    BOOST_TEST_REQUIRE(::lstat(p.c_str(), &st) == 0, p);
    return st.st_ino;
}

// A kept item decided from ingest/<source>, not yet moved.
ItemRecord decided(std::uint64_t seq, const std::string& source)
{
    auto rec = test::make_record(seq, "0000000" + std::to_string(seq % 10), Verdict::kept, RouteState::planned);
    rec.source = source;
    return rec;
}

// Runs `crash` in a child process that dies with _exit() right after, with
// no destructor run and the index never closed, as a kill would leave it.
// The deployment's index must be closed meanwhile: a RocksDB directory has
// one owner at a time.
void in_crashing_process(test::Deployment& d, const std::function<void(test::Deployment&)>& crash)
{
    d.close();
    const pid_t pid = ::fork();
    BOOST_TEST_REQUIRE(pid >= 0);
    if (pid == 0) {
        // No Boost.Test here: the child only acts, the parent checks.
        try {
            d.reopen();
            crash(d);
        } catch (...) {
            ::_exit(2);
        }
        ::_exit(0);
    }
    int status = 0;
    BOOST_TEST_REQUIRE(::waitpid(pid, &status, 0) == pid);
    BOOST_TEST_REQUIRE(WIFEXITED(status));
    BOOST_TEST_REQUIRE(WEXITSTATUS(status) == 0, "the child failed before its crash");
    d.reopen();
}

} // namespace

BOOST_AUTO_TEST_SUITE(relocator)

BOOST_AUTO_TEST_CASE(execute_moves_the_file_and_the_done_record_survives_a_restart)
{
    test::Deployment d;
    auto rec = d.add_planned(decided(1, "a/cat.jpg"), "cat bytes");
    BOOST_TEST(rec.location == "train/a/cat.jpg");
    const ino_t ino = inode_of(d.ingest() / "a/cat.jpg");

    BOOST_TEST((d.relocator().execute(rec) == RelocateOutcome::moved));

    BOOST_TEST(!fs::exists(d.ingest() / "a/cat.jpg"));
    BOOST_TEST(inode_of(d.output() / "train/a/cat.jpg") == ino); // renamed, not copied
    d.reopen();
    const auto after = d.index().get(1);
    BOOST_TEST_REQUIRE(after.has_value());
    BOOST_TEST((after->state == RouteState::done));
    BOOST_TEST(after->location == "train/a/cat.jpg");
    BOOST_TEST(after->routed_ms > 0);
    BOOST_TEST(d.index().counts().planned == 0U);
    BOOST_TEST(d.index().counts().in_working == 1U);
}

BOOST_AUTO_TEST_CASE(execute_never_overwrites_a_file_that_took_the_destination)
{
    test::Deployment d;
    auto rec = d.add_planned(decided(1, "cat.jpg"), "ours");
    test::write_file(d.output() / rec.location, "a file that arrived meanwhile");

    BOOST_TEST((d.relocator().execute(rec) == RelocateOutcome::moved));

    BOOST_TEST(test::read_file(d.output() / "train/cat.jpg") == "a file that arrived meanwhile");
    BOOST_TEST(test::read_file(d.output() / "train/cat~1.jpg") == "ours");
    const auto after = d.index().get(1);
    BOOST_TEST_REQUIRE(after.has_value());
    BOOST_TEST(after->location == "train/cat~1.jpg"); // the record follows the file
    BOOST_TEST((after->state == RouteState::done));
}

BOOST_AUTO_TEST_CASE(plan_avoids_names_on_disk_and_names_promised_to_the_same_batch)
{
    test::Deployment d;
    const auto rec = decided(1, "cat.jpg");
    BOOST_TEST(d.relocator().plan(rec, Subset::working) == "train/cat.jpg");
    BOOST_TEST(d.relocator().plan(rec, Subset::duplicated) == "duplicated/cat.jpg");
    test::write_file(d.output() / "train/cat.jpg", "taken");
    BOOST_TEST(d.relocator().plan(rec, Subset::working) == "train/cat~1.jpg");
    const std::unordered_set<std::string> reserved{"train/cat~1.jpg"};
    BOOST_TEST(d.relocator().plan(rec, Subset::working, &reserved) == "train/cat~2.jpg");
    BOOST_TEST(test::entries_under(d.output()) == std::vector<std::string>{"train/cat.jpg"},
               boost::test_tools::per_element()); // planning claims nothing
}

BOOST_AUTO_TEST_CASE(a_source_gone_before_its_move_is_recorded_vanished)
{
    test::Deployment d;
    auto rec = d.add_planned(decided(1, "cat.jpg"), "bytes");
    fs::remove(d.ingest() / "cat.jpg");

    BOOST_TEST((d.relocator().execute(rec) == RelocateOutcome::vanished));

    BOOST_TEST(test::entries_under(d.output()).empty());
    BOOST_TEST((d.index().get(1)->state == RouteState::vanished));
    BOOST_TEST(d.index().counts().vanished == 1U);
    BOOST_TEST(d.index().counts().planned == 0U);
}

BOOST_AUTO_TEST_CASE(a_batch_is_recorded_done_only_by_record_done)
{
    test::Deployment d;
    std::vector<ItemRecord> batch{d.add_planned(decided(1, "a.jpg"), "a"), d.add_planned(decided(2, "b.jpg"), "b")};
    DirectorySyncs syncs;
    for (auto& rec : batch) {
        BOOST_TEST((d.relocator().move(rec, syncs) == RelocateOutcome::moved));
    }
    // The files moved, the index still says planned: a crash now is settled by recovery.
    BOOST_TEST(test::entries_under(d.output()) == (std::vector<std::string>{"train/a.jpg", "train/b.jpg"}),
               boost::test_tools::per_element());
    BOOST_TEST(d.index().counts().planned == 2U);

    syncs.sync_all();
    d.relocator().record_done(batch);

    BOOST_TEST(d.index().counts().planned == 0U);
    BOOST_TEST((d.index().get(1)->state == RouteState::done));
    BOOST_TEST((d.index().get(2)->state == RouteState::done));
}

BOOST_AUTO_TEST_CASE(a_move_journaled_before_a_crash_is_made_by_recover)
{
    test::Deployment d;
    const ItemRecord rec = decided(1, "cat.jpg");
    in_crashing_process(d, [&](test::Deployment& child) { (void)child.add_planned(rec, "bytes"); });
    BOOST_TEST_REQUIRE(d.index().counts().planned == 1U);
    const ino_t ino = inode_of(d.ingest() / "cat.jpg");

    BOOST_TEST(d.relocator().recover() == 1U);

    BOOST_TEST(!fs::exists(d.ingest() / "cat.jpg"));
    BOOST_TEST(inode_of(d.output() / "train/cat.jpg") == ino);
    BOOST_TEST((d.index().get(1)->state == RouteState::done));
    BOOST_TEST(d.index().counts().planned == 0U);
}

BOOST_AUTO_TEST_CASE(a_move_made_before_a_crash_is_recorded_done_by_recover_without_moving_again)
{
    test::Deployment d;
    const ItemRecord rec = decided(1, "cat.jpg");
    in_crashing_process(d, [&](test::Deployment& child) {
        auto journaled = child.add_planned(rec, "bytes");
        DirectorySyncs syncs;
        if (child.relocator().move(journaled, syncs) != RelocateOutcome::moved) ::_exit(3);
        syncs.sync_all(); // the rename is durable; record_done() never ran
    });
    BOOST_TEST_REQUIRE(d.index().counts().planned == 1U);
    const ino_t ino = inode_of(d.output() / "train/cat.jpg");

    BOOST_TEST(d.relocator().recover() == 1U);

    BOOST_TEST(test::entries_under(d.output()) == std::vector<std::string>{"train/cat.jpg"},
               boost::test_tools::per_element());
    BOOST_TEST(inode_of(d.output() / "train/cat.jpg") == ino);
    const auto after = d.index().get(1);
    BOOST_TEST((after->state == RouteState::done));
    BOOST_TEST(after->location == "train/cat.jpg");
    BOOST_TEST(d.index().counts().planned == 0U);
    BOOST_TEST(d.index().counts().in_working == 1U);
}

BOOST_AUTO_TEST_CASE(settle_is_idempotent_for_a_half_done_rebalance_move)
{
    test::Deployment d;
    auto rec = d.add_settled(test::make_record(1, "00000001", Verdict::kept));
    const ino_t ino = inode_of(d.output() / rec.location);
    // A rebalance cuts the item: journaled, renamed, and the crash came before "done".
    rec.previous_location = rec.location;
    rec.subset = Subset::duplicated;
    rec.location = d.relocator().plan(rec, Subset::duplicated);
    rec.state = RouteState::planned;
    d.index().put(rec, true);
    fs::create_directories((d.output() / rec.location).parent_path());
    fs::rename(d.output() / rec.previous_location, d.output() / rec.location);

    for (int round = 0; round < 3; ++round) {
        BOOST_TEST((d.relocator().settle(rec) == RelocateOutcome::moved), "round " << round);
        BOOST_TEST(test::entries_under(d.output()) == std::vector<std::string>{rec.location},
                   boost::test_tools::per_element());
        BOOST_TEST(inode_of(d.output() / rec.location) == ino);
        const auto after = d.index().get(1);
        BOOST_TEST((after->state == RouteState::done));
        BOOST_TEST(after->location == rec.location);
        BOOST_TEST(after->previous_location.empty());
        BOOST_TEST(d.index().counts().planned == 0U);
        BOOST_TEST(d.index().counts().in_duplicated == 1U);
        BOOST_TEST(d.index().counts().cut == 1U);
    }
}

BOOST_AUTO_TEST_SUITE_END()
