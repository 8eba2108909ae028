// verify and repair on real files and a real index: each kind of
// discrepancy between the index and the output tree is found where it is,
// a clean tree reports none, and repair fixes what needs no guessing.
#define BOOST_TEST_MODULE verify
#include <boost/test/unit_test.hpp>

#include <set>

#include "daemon/route/verify.hpp"
#include "index_fixtures.hpp"
#include "route_fixtures.hpp"

using namespace ndrd;
using daemon::VerifyReport;
using index::RouteState;
using index::Subset;
using index::Verdict;
namespace fs = std::filesystem;

namespace {

// kind path, one per problem, sorted: a mismatch shows every problem at once.
std::set<std::string> problems(const VerifyReport& report)
{
    std::set<std::string> out;
    for (const auto& p : report.problems) {
        out.insert(p.kind + " " + p.path);
    }
    return out;
}

// A settled item of each subset, and one that vanished before it was moved.
void populate(test::Deployment& d)
{
    const std::vector<std::pair<Verdict, std::string>> items{
        {Verdict::kept, "a.jpg"}, {Verdict::duplicated, "b.jpg"}, {Verdict::rejected, "c.jpg"}};
    std::uint64_t seq = 0;
    for (const auto& [verdict, source] : items) {
        auto rec = test::make_record(++seq, "0000000a", verdict);
        rec.source = source;
        d.add_settled(rec);
    }
    auto gone = test::make_record(++seq, "0000000b", Verdict::kept, RouteState::vanished);
    gone.source = "gone.jpg";
    gone.location = "train/gone.jpg";
    d.index().put(gone, true);
}

} // namespace

BOOST_AUTO_TEST_SUITE(verify)

BOOST_AUTO_TEST_CASE(a_tree_that_matches_the_index_is_clean)
{
    test::Deployment d;
    populate(d);

    const auto report = daemon::verify(d.index(), d.config());

    BOOST_TEST(report.clean());
    BOOST_TEST(problems(report) == std::set<std::string>{}, boost::test_tools::per_element());
    BOOST_TEST(report.records == 4U);
    BOOST_TEST(report.files == 3U);
}

BOOST_AUTO_TEST_CASE(a_record_whose_file_is_gone_is_reported_missing)
{
    test::Deployment d;
    populate(d);
    fs::remove(d.output() / "duplicated/b.jpg");

    const auto report = daemon::verify(d.index(), d.config());

    BOOST_TEST(problems(report) == (std::set<std::string>{"missing_file duplicated/b.jpg"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_file_moved_by_hand_is_missing_where_recorded_and_untracked_where_it_lies)
{
    test::Deployment d;
    populate(d);
    fs::rename(d.output() / "train/a.jpg", d.output() / "duplicated/a.jpg");

    const auto report = daemon::verify(d.index(), d.config());

    BOOST_TEST(problems(report) ==
                   (std::set<std::string>{"missing_file train/a.jpg", "untracked_file duplicated/a.jpg"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_record_outside_its_subsets_directory_is_in_the_wrong_area)
{
    test::Deployment d;
    populate(d);
    // The index says working, the location says duplicated (and the file is there).
    auto rec = *d.index().get(2);
    rec.subset = Subset::working;
    d.index().put(rec, true);

    const auto report = daemon::verify(d.index(), d.config());

    BOOST_TEST(problems(report) == (std::set<std::string>{"wrong_area duplicated/b.jpg"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_file_no_record_names_is_reported_untracked)
{
    test::Deployment d;
    populate(d);
    test::write_file(d.output() / "train/sub/stray.jpg", "dropped here by hand");

    const auto report = daemon::verify(d.index(), d.config());

    BOOST_TEST(problems(report) == (std::set<std::string>{"untracked_file train/sub/stray.jpg"}),
               boost::test_tools::per_element());
    BOOST_TEST(report.files == 4U);
}

BOOST_AUTO_TEST_CASE(an_unfinished_move_is_reported_pending)
{
    test::Deployment d;
    populate(d);
    auto rec = test::make_record(5, "0000000c", Verdict::kept, RouteState::planned);
    rec.source = "new.jpg";
    rec = d.add_planned(rec, "waiting in the ingest directory");

    const auto report = daemon::verify(d.index(), d.config());

    BOOST_TEST(problems(report) == (std::set<std::string>{"pending_move train/new.jpg"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(two_records_naming_one_file_are_reported)
{
    test::Deployment d;
    populate(d);
    auto twin = *d.index().get(1);
    twin.seq = 5;
    d.index().put(twin, true);

    const auto report = daemon::verify(d.index(), d.config());

    BOOST_TEST(problems(report) == (std::set<std::string>{"shared_location train/a.jpg"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(repair_finishes_moves_and_marks_lost_files_vanished_but_leaves_untracked_files)
{
    test::Deployment d;
    populate(d);
    auto pending = test::make_record(5, "0000000c", Verdict::kept, RouteState::planned);
    pending.source = "new.jpg";
    d.add_planned(pending, "waiting in the ingest directory");
    fs::remove(d.output() / "duplicated/b.jpg");
    test::write_file(d.output() / "train/stray.jpg", "dropped here by hand");

    const auto report = daemon::repair(d.index(), d.config());

    BOOST_TEST(problems(report) == (std::set<std::string>{"untracked_file train/stray.jpg"}),
               boost::test_tools::per_element());
    BOOST_TEST(test::read_file(d.output() / "train/new.jpg") == "waiting in the ingest directory");
    BOOST_TEST((d.index().get(5)->state == RouteState::done));
    BOOST_TEST((d.index().get(2)->state == RouteState::vanished));
    BOOST_TEST(test::read_file(d.output() / "train/stray.jpg") == "dropped here by hand");
    BOOST_TEST(d.index().counts().planned == 0U);
}

BOOST_AUTO_TEST_SUITE_END()
