// The rebalancer on real files and a real index: num_cut reached with every
// sampling policy by moving exactly the difference, operators' overrides left
// alone, the plan journaled before any file moves, vanished files counted.
#define BOOST_TEST_MODULE rebalancer
#include <boost/test/unit_test.hpp>

#include <map>
#include <set>

#include "daemon/route/overrides.hpp"
#include "daemon/route/rebalancer.hpp"
#include "daemon/route/verify.hpp"
#include "index_fixtures.hpp"
#include "route_fixtures.hpp"

using namespace ndrd;
using daemon::RebalancePolicy;
using daemon::Rebalancer;
using daemon::RebalanceReport;
using index::Override;
using index::OverSample;
using index::RouteState;
using index::Subset;
using index::UnderSample;
using index::Verdict;
namespace fs = std::filesystem;
using Seqs = std::set<std::uint64_t>;

namespace {

// The duplicates' best similarities: over_sample: similarity restores the
// least similar first (8, then 10).
const std::map<std::uint64_t, double> similarity_of{{7, 0.9}, {8, 0.6}, {9, 0.8}, {10, 0.7}};

// Kept items 1-6 in the working subset (1-3 share a key, so that inverse
// weighting differs from uniform), then `duplicates` of the four duplicates
// 7-10 in the duplicated subset.
void populate(test::Deployment& d, std::size_t duplicates = 4)
{
    for (std::uint64_t seq = 1; seq <= 6; ++seq) {
        auto rec = test::make_record(seq, seq <= 3 ? "0000000a" : "0000000" + std::to_string(seq), Verdict::kept);
        rec.source = "kept_" + std::to_string(seq) + ".jpg";
        d.add_settled(rec);
    }
    for (std::uint64_t seq = 7; seq < 7 + duplicates; ++seq) {
        auto rec = test::make_record(seq, "0000000a", Verdict::duplicated);
        rec.source = "dup_" + std::to_string(seq) + ".jpg";
        rec.best_similarity = similarity_of.at(seq);
        rec.matched_seq = 1;
        d.add_settled(rec);
    }
}

RebalancePolicy policy(std::optional<std::uint64_t> num_cut, OverSample over = OverSample::random,
                       UnderSample under = UnderSample::uniform)
{
    return {num_cut, over, under, /*seed=*/7};
}

std::map<std::uint64_t, std::string> locations(const index::HashIndex& idx)
{
    std::map<std::uint64_t, std::string> out;
    for (const auto& r : test::all_records(idx)) {
        out[r.seq] = r.location;
    }
    return out;
}

// The items whose location changed between two snapshots.
Seqs moved(const std::map<std::uint64_t, std::string>& before, const std::map<std::uint64_t, std::string>& after)
{
    Seqs out;
    for (const auto& [seq, location] : after) {
        if (before.at(seq) != location) out.insert(seq);
    }
    return out;
}

Seqs in_subset(const index::HashIndex& idx, Subset subset)
{
    Seqs out;
    for (const auto& r : test::all_records(idx)) {
        if (r.state == RouteState::done && r.subset == subset) out.insert(r.seq);
    }
    return out;
}

// Every record names its file, every file has its record, nothing is left planned.
void check_tree_matches_index(test::Deployment& d)
{
    const auto report = daemon::verify(d.index(), d.config());
    for (const auto& p : report.problems) {
        BOOST_ERROR(p.kind << " " << p.path << ": " << p.detail);
    }
}

void check_report(const RebalanceReport& r, std::uint64_t before, std::uint64_t after, std::size_t restored,
                  std::size_t cut)
{
    BOOST_TEST(r.working_before == before);
    BOOST_TEST(r.working_after == after);
    BOOST_TEST(r.restored.size() == restored);
    BOOST_TEST(r.cut.size() == cut);
    BOOST_TEST(r.vanished == 0U);
}

} // namespace

BOOST_AUTO_TEST_SUITE(rebalancer)

BOOST_AUTO_TEST_CASE(under_sampling_cuts_exactly_the_surplus_with_each_policy)
{
    for (const auto under : {UnderSample::uniform, UnderSample::inverse}) {
        BOOST_TEST_CONTEXT("under_sample " << (under == UnderSample::uniform ? "uniform" : "inverse"))
        {
            test::Deployment d;
            populate(d);
            const auto before = locations(d.index());
            Rebalancer rebalancer(d.index(), d.relocator(), policy(4, OverSample::random, under));

            const auto report = rebalancer.run();

            check_report(report, 6, 4, 0, 2);
            const Seqs cut = moved(before, locations(d.index()));
            BOOST_TEST(cut.size() == 2U);
            for (const auto seq : cut) {
                const auto rec = d.index().get(seq);
                BOOST_TEST((rec->verdict == Verdict::kept), seq); // the decision stays, the place changes
                BOOST_TEST((rec->subset == Subset::duplicated), seq);
                BOOST_TEST(test::read_file(d.output() / rec->location) ==
                           rec->source + " of item " + std::to_string(seq));
            }
            BOOST_TEST(test::entries_under(d.area(Subset::working)).size() == 4U);
            BOOST_TEST(test::entries_under(d.area(Subset::duplicated)).size() == 6U);
            BOOST_TEST(d.index().counts().in_working == 4U);
            BOOST_TEST(d.index().counts().cut == 2U);
            check_tree_matches_index(d);
        }
    }
}

BOOST_AUTO_TEST_CASE(over_sampling_restores_exactly_the_shortfall_with_each_policy)
{
    for (const auto over : {OverSample::random, OverSample::similarity}) {
        BOOST_TEST_CONTEXT("over_sample " << (over == OverSample::random ? "random" : "similarity"))
        {
            test::Deployment d;
            populate(d);
            const auto before = locations(d.index());
            Rebalancer rebalancer(d.index(), d.relocator(), policy(8, over));

            const auto report = rebalancer.run();

            check_report(report, 6, 8, 2, 0);
            const Seqs restored = moved(before, locations(d.index()));
            BOOST_TEST(restored.size() == 2U);
            for (const auto seq : restored) {
                BOOST_TEST(seq >= 7U, "only duplicates are restored, not " << seq);
            }
            if (over == OverSample::similarity) {
                BOOST_TEST(restored == (Seqs{8, 10}), boost::test_tools::per_element()); // the least similar
            }
            BOOST_TEST(in_subset(d.index(), Subset::working).size() == 8U);
            BOOST_TEST(test::entries_under(d.area(Subset::working)).size() == 8U);
            BOOST_TEST(d.index().counts().restored == 2U);
            check_tree_matches_index(d);
        }
    }
}

BOOST_AUTO_TEST_CASE(a_changed_target_moves_only_the_difference_and_an_unchanged_one_nothing)
{
    test::Deployment d;
    populate(d);
    Rebalancer rebalancer(d.index(), d.relocator(), policy(4));
    check_report(rebalancer.run(), 6, 4, 0, 2);

    auto before = locations(d.index());
    rebalancer.set_policy(policy(5));
    check_report(rebalancer.run(), 4, 5, 1, 0);
    BOOST_TEST(moved(before, locations(d.index())).size() == 1U);

    before = locations(d.index());
    check_report(rebalancer.run(), 5, 5, 0, 0);
    BOOST_TEST(moved(before, locations(d.index())).empty());

    // No num_cut: the working subset is every kept item again.
    rebalancer.set_policy(policy(std::nullopt));
    check_report(rebalancer.run(), 5, 6, 1, 0);
    BOOST_TEST(in_subset(d.index(), Subset::working) == (Seqs{1, 2, 3, 4, 5, 6}), boost::test_tools::per_element());
    BOOST_TEST(d.index().counts().cut == 0U);
    check_tree_matches_index(d);
}

BOOST_AUTO_TEST_CASE(released_and_marked_items_stay_where_the_operator_put_them)
{
    test::Deployment d;
    populate(d);
    daemon::apply_override(d.index(), d.relocator(), Override::released, 7);
    daemon::apply_override(d.index(), d.relocator(), Override::marked_duplicate, 1);
    Rebalancer rebalancer(d.index(), d.relocator(), policy(3));

    // The released item counts towards num_cut.
    check_report(rebalancer.run(), 6, 3, 0, 3);
    auto working = in_subset(d.index(), Subset::working);
    BOOST_TEST(working.size() == 3U);
    BOOST_TEST(working.contains(7U));
    BOOST_TEST(!working.contains(1U));

    // More than there are: everything comes back but the marked duplicate.
    rebalancer.set_policy(policy(10));
    const auto report = rebalancer.run();
    BOOST_TEST(report.short_of_target);
    working = in_subset(d.index(), Subset::working);
    BOOST_TEST(working == (Seqs{2, 3, 4, 5, 6, 7, 8, 9, 10}), boost::test_tools::per_element());
    BOOST_TEST(fs::exists(d.output() / d.index().get(1)->location));
    BOOST_TEST((d.index().get(1)->subset == Subset::duplicated));
    check_tree_matches_index(d);
}

BOOST_AUTO_TEST_CASE(the_plan_is_journaled_before_any_file_moves)
{
    test::Deployment d;
    populate(d, /*duplicates=*/0);
    // A file where the duplicated subset's directory must go: every move out fails.
    test::write_file(d.area(Subset::duplicated), "in the way");
    Rebalancer rebalancer(d.index(), d.relocator(), policy(4));

    BOOST_CHECK_THROW(rebalancer.run(), daemon::RouteError);

    // The whole plan is in the index although no file has moved.
    const auto planned = d.index().planned();
    BOOST_TEST(planned.size() == 2U);
    Seqs journaled;
    for (const auto& rec : planned) {
        journaled.insert(rec.seq);
        BOOST_TEST((rec.subset == Subset::duplicated));
        BOOST_TEST(rec.location.rfind("duplicated/", 0) == 0U, rec.location);
        BOOST_TEST(fs::exists(d.output() / rec.previous_location), rec.previous_location);
    }
    BOOST_TEST(test::entries_under(d.area(Subset::working)).size() == 6U);

    // Once the way is clear, the next run carries out that plan.
    fs::remove(d.area(Subset::duplicated));
    (void)rebalancer.run();
    BOOST_TEST(d.index().planned().empty());
    BOOST_TEST(in_subset(d.index(), Subset::duplicated) == journaled, boost::test_tools::per_element());
    BOOST_TEST(test::entries_under(d.area(Subset::working)).size() == 4U);
    check_tree_matches_index(d);
}

BOOST_AUTO_TEST_CASE(a_file_gone_before_its_move_is_counted_as_vanished)
{
    test::Deployment d;
    populate(d);
    fs::remove(d.output() / d.index().get(9)->location);
    Rebalancer rebalancer(d.index(), d.relocator(), policy(10));

    const auto report = rebalancer.run();

    BOOST_TEST(report.vanished == 1U);
    BOOST_TEST(report.restored.size() == 3U);
    BOOST_TEST(report.working_after == 9U);
    BOOST_TEST((d.index().get(9)->state == RouteState::vanished));
    BOOST_TEST(d.index().counts().vanished == 1U);
    BOOST_TEST(d.index().counts().planned == 0U);
    check_tree_matches_index(d);
}

BOOST_AUTO_TEST_CASE(without_num_cut_a_settled_tree_is_left_as_it_is)
{
    test::Deployment d;
    populate(d);
    const auto before = locations(d.index());
    Rebalancer rebalancer(d.index(), d.relocator(), policy(std::nullopt));

    check_report(rebalancer.run(), 6, 6, 0, 0);

    BOOST_TEST(moved(before, locations(d.index())).empty());
    BOOST_TEST(!rebalancer.run().short_of_target);
}

BOOST_AUTO_TEST_SUITE_END()
