// ndrd's matching beyond Datumaro's exact key, end to end with the
// real binary: a flipped photo is caught with gradient.invariance and not
// without it; a byte-identical copy of any indexed item, even one that was
// itself removed as a near-duplicate, is a duplicate of the kept original;
// compat: datumaro turns that rule off and judges the copy like any image.
#define BOOST_TEST_MODULE e2e_matching
#include <boost/test/unit_test.hpp>

#include "e2e_support.hpp"

using namespace ndrd;
using namespace ndrd::e2e;

namespace {

ConfigOptions ndrd_mode()
{
    ConfigOptions o;
    o.compat = "off";
    o.projection.reset(); // the generated one: nothing here compares with Datumaro's keys
    return o;
}

} // namespace

BOOST_AUTO_TEST_SUITE(matching)

BOOST_AUTO_TEST_CASE(hflip_is_caught_with_invariance_on_and_not_with_it_off)
{
    test::TempDir dir;
    const std::vector<std::pair<std::string, std::string>> files{
        {"a_chelsea.png", image("chelsea.png")}, {"b_chelsea_flipped.png", image("chelsea__hflip.png")}};
    auto on = ndrd_mode();
    on.invariance = "[hflip, rot90]";
    const auto with = once_rows(dir / "on", on, files);
    BOOST_TEST_REQUIRE(with.size() == 2U);
    // The variant that matched is recorded.
    const auto flipped = test::mismatches(with[1], {{"source", "b_chelsea_flipped.png"},
                                                    {"location", "duplicated/b_chelsea_flipped.png"},
                                                    {"decision", "duplicated"},
                                                    {"state", "done"},
                                                    {"matched_item", "1"},
                                                    {"match", "hflip"}});
    BOOST_TEST(flipped.empty(), flipped);
    const auto without = once_rows(dir / "off", ndrd_mode(), files);
    BOOST_TEST_REQUIRE(without.size() == 2U);
    const auto kept = test::mismatches(without[1], {{"source", "b_chelsea_flipped.png"},
                                                    {"location", "train/b_chelsea_flipped.png"},
                                                    {"decision", "kept"},
                                                    {"state", "done"}});
    BOOST_TEST(kept.empty(), kept);
}

BOOST_AUTO_TEST_CASE(exact_copy_of_a_removed_item_is_a_duplicate_of_its_kept_original)
{
    test::TempDir dir;
    const std::string near = image("chelsea__jpeg_q95.jpg");
    const auto rows = once_rows(dir / "r", ndrd_mode(),
                                {{"a_chelsea.png", image("chelsea.png")}, {"b_near.jpg", near}, {"c_copy.jpg", near}});
    BOOST_TEST_REQUIRE(rows.size() == 3U);
    const auto original = test::mismatches(
        rows[0],
        {{"item", "1"}, {"source", "a_chelsea.png"}, {"location", "train/a_chelsea.png"}, {"decision", "kept"}});
    BOOST_TEST(original.empty(), original);
    const auto near_dup = test::mismatches(rows[1], {{"item", "2"},
                                                     {"source", "b_near.jpg"},
                                                     {"location", "duplicated/b_near.jpg"},
                                                     {"decision", "duplicated"},
                                                     {"matched_item", "1"}});
    BOOST_TEST(near_dup.empty(), near_dup);
    // The copy points at item 1, the kept representative, not at item 2.
    const auto copy = test::mismatches(rows[2], {{"item", "3"},
                                                 {"source", "c_copy.jpg"},
                                                 {"location", "duplicated/c_copy.jpg"},
                                                 {"decision", "duplicated"},
                                                 {"state", "done"},
                                                 {"matched_item", "1"},
                                                 {"match", "exact_copy"}});
    BOOST_TEST(copy.empty(), copy);
}

BOOST_AUTO_TEST_CASE(copy_rule_holds_where_similarity_never_would_and_compat_datumaro_drops_it)
{
    // Above 1 no similarity reaches the threshold: only the copy rule can
    // call the second file a duplicate.
    test::TempDir dir;
    const std::string bytes = image("camera.png");
    const std::vector<std::pair<std::string, std::string>> files{{"a.png", bytes}, {"b_copy.png", bytes}};
    auto ours = ndrd_mode();
    ours.sim_threshold = 1.5;
    const auto with_rule = once_rows(dir / "ndrd", ours, files);
    BOOST_TEST_REQUIRE(with_rule.size() == 2U);
    const auto duplicate = test::mismatches(
        with_rule[1], {{"source", "b_copy.png"}, {"location", "duplicated/b_copy.png"}, {"decision", "duplicated"}});
    BOOST_TEST(duplicate.empty(), duplicate);
    auto datumaro = ours;
    datumaro.compat = "datumaro";
    const auto as_datumaro = once_rows(dir / "datumaro", datumaro, files);
    BOOST_TEST_REQUIRE(as_datumaro.size() == 2U);
    const auto kept = test::mismatches(
        as_datumaro[1], {{"source", "b_copy.png"}, {"location", "train/b_copy.png"}, {"decision", "kept"}});
    BOOST_TEST(kept.empty(), kept);
}

BOOST_AUTO_TEST_SUITE_END()
