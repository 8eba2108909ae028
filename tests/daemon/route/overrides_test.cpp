// Operators' overrides on real files and a real index: release and
// mark-duplicate move the file and are remembered, targets are found by item
// number or path, and what cannot be overridden is refused naming the item.
#define BOOST_TEST_MODULE overrides
#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include "daemon/route/overrides.hpp"
#include "daemon/route/rebalancer.hpp"
#include "index_fixtures.hpp"
#include "route_fixtures.hpp"

using namespace ndrd;
using daemon::apply_override;
using daemon::OverrideError;
using index::Override;
using index::RouteState;
using index::Subset;
using index::Verdict;
namespace fs = std::filesystem;

namespace {

// 1 kept (a.jpg), 2 duplicate of 1 (b.jpg), 3 rejected (junk.jpg), 4 kept
// and still on its way from the ingest directory (moving.jpg).
void populate(test::Deployment& d)
{
    auto kept = test::make_record(1, "0000000a", Verdict::kept);
    kept.source = "a.jpg";
    d.add_settled(kept);
    auto dup = test::make_record(2, "0000000a", Verdict::duplicated);
    dup.source = "b.jpg";
    dup.matched_seq = 1;
    dup.best_similarity = 0.8;
    d.add_settled(dup);
    auto junk = test::make_record(3, "", Verdict::rejected);
    junk.source = "junk.jpg";
    junk.feature.clear();
    junk.reason = "not an image";
    d.add_settled(junk);
    auto moving = test::make_record(4, "0000000b", Verdict::kept, RouteState::planned);
    moving.source = "moving.jpg";
    d.add_planned(moving, "on its way");
}

// The message of the OverrideError `fn` throws; fails the test if none.
template <typename Fn> std::string refusal(Fn&& fn)
{
    try {
        fn();
    } catch (const OverrideError& e) {
        return e.what();
    }
    BOOST_ERROR("no OverrideError");
    return {};
}

bool mentions(const std::string& message, const std::string& part)
{
    return message.find(part) != std::string::npos;
}

} // namespace

BOOST_AUTO_TEST_SUITE(overrides)

BOOST_AUTO_TEST_CASE(command_names_and_actions_map_both_ways)
{
    for (const auto action : {Override::released, Override::marked_duplicate}) {
        BOOST_TEST((daemon::parse_override_action(daemon::command_name(action)) == action));
    }
    BOOST_TEST((daemon::parse_override_action("release") == Override::released));
    BOOST_TEST((daemon::parse_override_action("mark-duplicate") == Override::marked_duplicate));
    BOOST_TEST(!daemon::parse_override_action("status").has_value());
}

BOOST_AUTO_TEST_CASE(release_moves_a_duplicate_into_the_working_subset_and_sticks_across_a_restart)
{
    test::Deployment d;
    populate(d);

    const auto rec = apply_override(d.index(), d.relocator(), Override::released, 2);

    BOOST_TEST(rec.location == "train/b.jpg");
    BOOST_TEST(test::read_file(d.output() / "train/b.jpg") == "b.jpg of item 2");
    BOOST_TEST(!fs::exists(d.output() / "duplicated/b.jpg"));
    d.reopen();
    const auto after = d.index().get(2);
    BOOST_TEST_REQUIRE(after.has_value());
    BOOST_TEST((after->verdict == Verdict::kept));
    BOOST_TEST((after->subset == Subset::working));
    BOOST_TEST((after->state == RouteState::done));
    BOOST_TEST((after->operator_override == Override::released));
    BOOST_TEST(after->location == "train/b.jpg");
    BOOST_TEST(d.index().counts().released == 1U);
    // A reference now: an image like it is judged against it.
    BOOST_TEST(d.index().kept_with_key(after->key).size() == 2U);
}

BOOST_AUTO_TEST_CASE(mark_duplicate_moves_a_kept_item_out_and_a_rebalance_never_brings_it_back)
{
    test::Deployment d;
    populate(d);

    const auto rec = apply_override(d.index(), d.relocator(), Override::marked_duplicate, 1);

    BOOST_TEST(rec.location == "duplicated/a.jpg");
    BOOST_TEST(test::read_file(d.output() / "duplicated/a.jpg") == "a.jpg of item 1");
    BOOST_TEST(!fs::exists(d.output() / "train/a.jpg"));
    BOOST_TEST((d.index().get(1)->verdict == Verdict::duplicated));
    BOOST_TEST(d.index().counts().marked_duplicate == 1U);
    // Over-sampling to more than there is restores every duplicate but this one.
    daemon::Rebalancer rebalancer(d.index(), d.relocator(), {100, index::OverSample::random});
    (void)rebalancer.run();
    BOOST_TEST((d.index().get(1)->subset == Subset::duplicated));
    BOOST_TEST(fs::exists(d.output() / "duplicated/a.jpg"));
    BOOST_TEST((d.index().get(2)->subset == Subset::working)); // the ordinary duplicate is restored
}

BOOST_AUTO_TEST_CASE(an_item_already_in_its_new_subset_changes_decision_without_moving)
{
    test::Deployment d;
    populate(d);
    // A duplicate a rebalance restored: in the working subset already.
    auto restored = test::make_record(5, "0000000a", Verdict::duplicated);
    restored.source = "c.jpg";
    restored.subset = Subset::working;
    d.add_settled(restored);

    const auto rec = apply_override(d.index(), d.relocator(), Override::released, 5);

    BOOST_TEST(rec.location == "train/c.jpg");
    BOOST_TEST(test::read_file(d.output() / "train/c.jpg") == "c.jpg of item 5");
    BOOST_TEST((d.index().get(5)->verdict == Verdict::kept));
    BOOST_TEST((d.index().get(5)->operator_override == Override::released));
}

BOOST_AUTO_TEST_CASE(unknown_rejected_and_moving_items_are_refused_naming_the_item)
{
    test::Deployment d;
    populate(d);
    const auto files_before = test::files_under(d.output());

    const auto unknown = refusal([&] { apply_override(d.index(), d.relocator(), Override::released, 99); });
    BOOST_TEST(mentions(unknown, "99"), unknown);
    const auto rejected = refusal([&] { apply_override(d.index(), d.relocator(), Override::released, 3); });
    BOOST_TEST(mentions(rejected, "3"), rejected);
    BOOST_TEST(mentions(rejected, "junk.jpg"), rejected);
    const auto moving = refusal([&] { apply_override(d.index(), d.relocator(), Override::marked_duplicate, 4); });
    BOOST_TEST(mentions(moving, "4"), moving);
    BOOST_TEST(mentions(moving, "moving.jpg"), moving);

    // Nothing moved, nothing was recorded.
    BOOST_TEST(test::files_under(d.output()) == files_before);
    BOOST_TEST((d.index().get(3)->operator_override == Override::none));
    BOOST_TEST((d.index().get(4)->operator_override == Override::none));
    BOOST_TEST((d.index().get(4)->state == RouteState::planned));
    BOOST_TEST(d.index().counts().released == 0U);
    BOOST_TEST(d.index().counts().marked_duplicate == 0U);
}

BOOST_AUTO_TEST_CASE(a_target_is_an_item_number_or_a_path_in_the_output_tree)
{
    test::Deployment d;
    populate(d);
    const auto& idx = d.index();
    BOOST_TEST(daemon::resolve_target(idx, d.output(), "2") == 2U);
    BOOST_TEST(daemon::resolve_target(idx, d.output(), "duplicated/b.jpg") == 2U); // relative to output_dir
    BOOST_TEST(daemon::resolve_target(idx, d.output(), (d.output() / "train/a.jpg").string()) == 1U); // absolute

    const auto no_item = refusal([&] { (void)daemon::resolve_target(idx, d.output(), "42"); });
    BOOST_TEST(mentions(no_item, "42"), no_item);
    BOOST_TEST(!refusal([&] { (void)daemon::resolve_target(idx, d.output(), "0"); }).empty());
    const auto no_file = refusal([&] { (void)daemon::resolve_target(idx, d.output(), "train/nowhere.jpg"); });
    BOOST_TEST(mentions(no_file, "train/nowhere.jpg"), no_file);
}

BOOST_AUTO_TEST_CASE(the_answer_names_the_item_its_new_place_and_decision)
{
    test::Deployment d;
    populate(d);
    const auto rec = apply_override(d.index(), d.relocator(), Override::released, 2);

    const auto answer = nlohmann::json::parse(daemon::override_json(rec));

    BOOST_TEST(answer.at("ok").get<bool>());
    BOOST_TEST(answer.at("item").get<std::uint64_t>() == 2U);
    BOOST_TEST(answer.at("source").get<std::string>() == "b.jpg");
    BOOST_TEST(answer.at("location").get<std::string>() == "train/b.jpg");
    BOOST_TEST(answer.at("decision").get<std::string>() == "kept");
    BOOST_TEST(answer.at("override").get<std::string>() == "released");
}

BOOST_AUTO_TEST_SUITE_END()
