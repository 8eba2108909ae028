// NDR's rebalancing policies: exact counts, stability, and the distributions
// Datumaro's np.random.choice would give.
#define BOOST_TEST_MODULE sampling
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "index/hash/sampling.hpp"

using namespace ndrd::index;

namespace {

Key key_of(int k)
{
    return Key{std::string(1, static_cast<char>(k))};
}

// n unique items with keys from `key_of_item`, then d duplicates with similarity 0.5 + i / (2 d).
std::vector<SampleItem> make_items(
    int n_unique, int n_dup, const std::function<int(int)>& key_of_item = [](int i) { return i; })
{
    std::vector<SampleItem> items;
    std::uint64_t seq = 1;
    for (int i = 0; i < n_unique; ++i) {
        items.push_back({seq++, true, key_of(key_of_item(i)), 0.0});
    }
    for (int i = 0; i < n_dup; ++i) {
        items.push_back({seq++, false, key_of(0), 0.5 + 0.5 * i / std::max(1, n_dup)});
    }
    return items;
}

std::size_t count_unique(const std::vector<SampleItem>& items, const Selection& sel)
{
    std::set<std::uint64_t> s(sel.working.begin(), sel.working.end());
    return static_cast<std::size_t>(
        std::count_if(items.begin(), items.end(), [&](const auto& it) { return it.unique && s.contains(it.seq); }));
}

} // namespace

BOOST_AUTO_TEST_SUITE(rebalancing_policies)

BOOST_AUTO_TEST_CASE(without_num_cut_the_working_subset_is_exactly_the_unique_items)
{
    const auto items = make_items(7, 5);
    const auto sel = select_working(items, std::nullopt, OverSample::random, UnderSample::uniform, 0);
    BOOST_TEST(sel.working == (std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6, 7}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(exact_counts_for_every_policy_above_and_below_num_cut)
{
    const auto items = make_items(30, 20);
    for (const auto under : {UnderSample::uniform, UnderSample::inverse}) {
        const auto sel = select_working(items, 12, OverSample::random, under, 3);
        BOOST_TEST(sel.working.size() == 12U);
        BOOST_TEST(count_unique(items, sel) == 12U); // only unique items when cutting
    }
    for (const auto over : {OverSample::random, OverSample::similarity}) {
        const auto sel = select_working(items, 41, over, UnderSample::uniform, 3);
        BOOST_TEST(sel.working.size() == 41U);
        BOOST_TEST(count_unique(items, sel) == 30U); // every unique item stays
        BOOST_TEST(!sel.short_of_target);
    }
}

BOOST_AUTO_TEST_CASE(fewer_items_than_num_cut_selects_everything_and_says_so)
{
    const auto items = make_items(3, 4);
    const auto sel = select_working(items, 100, OverSample::similarity, UnderSample::uniform, 0);
    BOOST_TEST(sel.working.size() == 7U);
    BOOST_TEST(sel.short_of_target);
}

BOOST_AUTO_TEST_CASE(similarity_restores_exactly_the_least_similar_duplicates_ties_by_ingest_order)
{
    std::vector<SampleItem> items = {
        {1, true, key_of(1), 0.0},  {2, false, key_of(1), 0.9}, {3, false, key_of(1), 0.6},
        {4, false, key_of(1), 0.7}, {5, false, key_of(1), 0.6}, {6, false, key_of(1), 0.95},
    };
    const auto sel = select_working(items, 3, OverSample::similarity, UnderSample::uniform, 0);
    BOOST_TEST(sel.working == (std::vector<std::uint64_t>{1, 3, 5}), boost::test_tools::per_element());
    const auto sel4 = select_working(items, 4, OverSample::similarity, UnderSample::uniform, 0);
    BOOST_TEST(sel4.working == (std::vector<std::uint64_t>{1, 3, 4, 5}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(same_seed_same_selection_different_seed_different_selection)
{
    const auto items = make_items(100, 50);
    const auto a = select_working(items, 10, OverSample::random, UnderSample::uniform, 42);
    const auto b = select_working(items, 10, OverSample::random, UnderSample::uniform, 42);
    const auto c = select_working(items, 10, OverSample::random, UnderSample::uniform, 43);
    BOOST_TEST(a.working == b.working, boost::test_tools::per_element());
    BOOST_TEST(a.working != c.working);
    // The input order does not matter either: only (seed, seq) does.
    auto shuffled = items;
    std::reverse(shuffled.begin(), shuffled.end());
    BOOST_TEST(select_working(shuffled, 10, OverSample::random, UnderSample::uniform, 42).working == a.working,
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(one_new_unique_item_changes_the_full_subset_by_at_most_one_swap)
{
    for (const auto under : {UnderSample::uniform, UnderSample::inverse}) {
        for (std::uint64_t seed = 0; seed < 50; ++seed) {
            auto items = make_items(40, 0, [](int i) { return i % 7; });
            const auto before = select_working(items, 20, OverSample::random, under, seed).working;
            // A new item with a key no one holds (inverse weights of others unchanged).
            items.push_back({1000, true, key_of(100), 0.0});
            const auto after = select_working(items, 20, OverSample::random, under, seed).working;
            std::vector<std::uint64_t> out;
            std::vector<std::uint64_t> in;
            std::set_difference(before.begin(), before.end(), after.begin(), after.end(), std::back_inserter(out));
            std::set_difference(after.begin(), after.end(), before.begin(), before.end(), std::back_inserter(in));
            BOOST_TEST(out.size() + in.size() <= 2U);
            BOOST_TEST(out.size() == in.size());
        }
    }
}

BOOST_AUTO_TEST_CASE(uniform_inclusion_frequencies_are_equal)
{
    const auto items = make_items(20, 0);
    std::map<std::uint64_t, int> hits;
    constexpr int seeds = 20000;
    for (int s = 0; s < seeds; ++s) {
        for (auto seq : select_working(items, 5, OverSample::random, UnderSample::uniform, s).working)
            ++hits[seq];
    }
    // Each item: p = 5/20 = 0.25, sd over 20000 draws ~ 0.0031; allow 5 sd.
    for (std::uint64_t seq = 1; seq <= 20; ++seq) {
        BOOST_TEST(std::abs(hits[seq] / double(seeds) - 0.25) < 0.016, "item " << seq);
    }
}

BOOST_AUTO_TEST_CASE(inverse_frequencies_match_datumaros_probabilities)
{
    // Keys with 1, 2, 3 and 4 items (10 unique items). Datumaro: item of key k
    // has p = (1/c(k)) / sum_k(1/c(k)) / c(k). With num_cut = 1 the inclusion
    // frequency is p itself.
    const std::vector<int> key_of_item = {0, 1, 1, 2, 2, 2, 3, 3, 3, 3};
    const auto items = make_items(10, 0, [&](int i) { return key_of_item[static_cast<std::size_t>(i)]; });
    const double inv_sum = 1.0 + 1.0 / 2 + 1.0 / 3 + 1.0 / 4;
    std::map<std::uint64_t, int> hits;
    constexpr int seeds = 40000;
    for (int s = 0; s < seeds; ++s) {
        for (auto seq : select_working(items, 1, OverSample::random, UnderSample::inverse, s).working)
            ++hits[seq];
    }
    for (std::size_t i = 0; i < key_of_item.size(); ++i) {
        const double c = key_of_item[i] + 1;
        const double p = (1.0 / c) / inv_sum / c;
        const double sd = std::sqrt(p * (1 - p) / seeds);
        const double f = hits[i + 1] / static_cast<double>(seeds);
        BOOST_TEST(std::abs(f - p) < 5 * sd + 1e-4, "item " << i + 1 << " frequency " << f << " expected " << p);
    }
}

BOOST_AUTO_TEST_CASE(inverse_with_two_picks_matches_sequential_draws_without_replacement)
{
    // Exact inclusion probabilities of numpy.random.choice(size=2, replace=False, p)
    // by enumeration, against 40000 seeds.
    const std::vector<int> key_of_item = {0, 1, 1, 2, 2, 2};
    const auto items = make_items(6, 0, [&](int i) { return key_of_item[static_cast<std::size_t>(i)]; });
    std::vector<double> p;
    const double inv_sum = 1.0 + 1.0 / 2 + 1.0 / 3;
    for (int k : key_of_item)
        p.push_back((1.0 / (k + 1)) / inv_sum / (k + 1));
    std::vector<double> incl(p.size(), 0.0);
    for (std::size_t a = 0; a < p.size(); ++a) {
        for (std::size_t b = 0; b < p.size(); ++b) {
            if (a == b) continue;
            const double pr = p[a] * p[b] / (1 - p[a]);
            incl[a] += pr;
            incl[b] += pr;
        }
    }
    std::map<std::uint64_t, int> hits;
    constexpr int seeds = 40000;
    for (int s = 0; s < seeds; ++s) {
        for (auto seq : select_working(items, 2, OverSample::random, UnderSample::inverse, s).working)
            ++hits[seq];
    }
    for (std::size_t i = 0; i < p.size(); ++i) {
        const double sd = std::sqrt(incl[i] * (1 - incl[i]) / seeds);
        BOOST_TEST(std::abs(hits[i + 1] / double(seeds) - incl[i]) < 5 * sd, "item " << i + 1);
    }
}

BOOST_AUTO_TEST_CASE(item_draws_are_in_the_unit_interval_and_spread)
{
    double sum = 0;
    for (std::uint64_t seq = 1; seq <= 10000; ++seq) {
        const double u = item_draw(7, seq);
        BOOST_TEST_REQUIRE((u > 0.0 && u <= 1.0));
        sum += u;
    }
    BOOST_TEST(std::abs(sum / 10000 - 0.5) < 0.02);
}

BOOST_AUTO_TEST_SUITE_END()
