// The report's facts: groups by the kept item the hash decision matched,
// borderline first, counts as the index counts them, the similarity
// histograms, the --since window and --limit, and how pages are cut.
#define BOOST_TEST_MODULE report_model
#include <boost/test/unit_test.hpp>

#include <map>
#include <optional>

#include "daemon/report/report_model.hpp"
#include "daemon/report/report_pages.hpp"

BOOST_TEST_DONT_PRINT_LOG_VALUE(ndrd::daemon::MatchKind)

using namespace ndrd;
using namespace ndrd::daemon;
using index::ItemRecord;

namespace {

ItemRecord kept(std::uint64_t seq, std::optional<double> best = std::nullopt, std::int64_t at = 1000)
{
    ItemRecord r;
    r.seq = seq;
    r.source = "k" + std::to_string(seq) + ".jpg";
    r.location = "train/" + r.source;
    r.state = index::RouteState::done;
    r.key.bytes = std::string("\x0f\x00", 2);
    r.best_similarity = best;
    r.ingested_ms = at;
    return r;
}

ItemRecord duplicate(std::uint64_t seq, std::uint64_t of, double sim, std::int64_t at = 1000)
{
    ItemRecord r = kept(seq, sim, at);
    r.verdict = index::Verdict::duplicated;
    r.subset = index::Subset::duplicated;
    r.location = "duplicated/" + r.source;
    r.matched_seq = of;
    r.key.bytes = std::string("\x0e\x01", 2);
    return r;
}

ItemRecord rejected(std::uint64_t seq, std::string reason)
{
    ItemRecord r;
    r.seq = seq;
    r.source = "bad" + std::to_string(seq);
    r.verdict = index::Verdict::rejected;
    r.subset = index::Subset::rejected;
    r.state = index::RouteState::done;
    r.reason = std::move(reason);
    r.ingested_ms = 1000;
    return r;
}

// Builds the model of `records`, the lookup answering from them.
ReportModel model_of(const std::vector<ItemRecord>& records, ReportOptions options = {})
{
    std::map<std::uint64_t, ItemRecord> by_seq;
    ReportBuilder b(options);
    for (const auto& r : records) {
        b.add(r);
        by_seq[r.seq] = r;
    }
    return std::move(b).finish([&](std::uint64_t seq) -> std::optional<ItemRecord> {
        const auto it = by_seq.find(seq);
        return it == by_seq.end() ? std::nullopt : std::optional<ItemRecord>(it->second);
    });
}

} // namespace

BOOST_AUTO_TEST_SUITE(report_model)

BOOST_AUTO_TEST_CASE(duplicates_group_under_the_kept_item_they_matched_borderline_first)
{
    ItemRecord copy = duplicate(6, 2, 1.0);
    copy.exact_copy = true;
    ItemRecord flipped = duplicate(7, 1, 0.9);
    flipped.matched_variant = index::Variant::hflip;
    const auto m = model_of(
        {kept(1), kept(2, 0.2), duplicate(3, 1, 0.95), duplicate(4, 2, 0.55), duplicate(5, 1, 0.7), copy, flipped});
    BOOST_TEST_REQUIRE(m.groups.size() == 2U);
    BOOST_TEST(m.groups[0].reference.seq == 2U); // its weakest match, 0.55, is nearest the threshold
    BOOST_TEST(m.groups[0].reference.source == "k2.jpg");
    BOOST_TEST(m.groups[1].reference.seq == 1U);
    std::vector<std::uint64_t> order;
    for (const auto& d : m.groups[1].duplicates)
        order.push_back(d.seq);
    BOOST_TEST(order == (std::vector<std::uint64_t>{5, 7, 3}), "lowest similarity first");
    BOOST_TEST(m.near_duplicates == 3U);
    BOOST_TEST(m.variant_matches == 1U);
    BOOST_TEST(m.exact_copies == 1U);
    BOOST_TEST(match_kind(m.groups[0].duplicates.back()) == MatchKind::exact);
    BOOST_TEST(key_distance(m.groups[1].duplicates[0].key, m.groups[1].reference.key) == 2);
}

BOOST_AUTO_TEST_CASE(counts_are_the_indexs_own_and_overrides_leave_the_groups)
{
    ItemRecord released = duplicate(3, 1, 0.8);
    released.verdict = index::Verdict::kept;
    released.subset = index::Subset::working;
    released.operator_override = index::Override::released;
    ItemRecord marked = kept(4, 0.3);
    marked.verdict = index::Verdict::duplicated;
    marked.subset = index::Subset::duplicated;
    marked.operator_override = index::Override::marked_duplicate;
    marked.matched_seq = 1;
    ItemRecord cut = kept(5);
    cut.subset = index::Subset::duplicated;
    const auto m = model_of({kept(1), duplicate(2, 1, 0.9), released, marked, cut, rejected(6, "file is 12 bytes"),
                             rejected(7, "file is 345 bytes"), rejected(8, "not an image")});
    index::IndexCounts expected;
    for (const auto& r :
         {kept(1), duplicate(2, 1, 0.9), released, marked, cut, rejected(6, "x"), rejected(7, "x"), rejected(8, "x")}) {
        index::count_record(expected, r);
    }
    BOOST_TEST(m.counts.kept == expected.kept);
    BOOST_TEST(m.counts.cut == 1U);
    BOOST_TEST(m.counts.released == 1U);
    BOOST_TEST(m.counts.marked_duplicate == 1U);
    BOOST_TEST(m.counts.rejected == 3U);
    BOOST_TEST_REQUIRE(m.groups.size() == 1U);
    BOOST_TEST(m.groups[0].duplicates.size() == 1U, "only the hash decision's duplicates");
    BOOST_TEST(m.removed.size() == 2U); // the cut and the marked one, newest first
    BOOST_TEST(m.removed[0].seq == 5U);
    BOOST_TEST(m.rejections.at("file is # bytes") == 2U);
    BOOST_TEST(m.rejections.at("not an image") == 1U);
    BOOST_TEST(m.rejected.front().seq == 8U);
}

BOOST_AUTO_TEST_CASE(histograms_hold_kept_and_duplicated_similarities_around_the_threshold)
{
    ItemRecord copy = duplicate(5, 1, 1.0);
    copy.exact_copy = true;
    ReportOptions o;
    o.sim_threshold = 0.6;
    const auto m = model_of({kept(1), kept(2, 0.55), duplicate(3, 1, 0.65), duplicate(4, 1, 1.0), copy}, o);
    const auto total = [](const std::vector<std::uint64_t>& v) {
        std::uint64_t n = 0;
        for (auto x : v)
            n += x;
        return n;
    };
    BOOST_TEST(total(m.overall.kept) == 1U);
    BOOST_TEST(total(m.overall.duplicated) == 2U, "1.0 falls in the last bin; the exact copy is not drawn");
    BOOST_TEST(m.overall.duplicated.back() == 1U);
    BOOST_TEST(m.near_threshold.lo == 0.4, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(m.near_threshold.hi == 0.8, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(total(m.near_threshold.kept) == 1U);
    BOOST_TEST(total(m.near_threshold.duplicated) == 1U, "1.0 is outside the zoomed range");
    BOOST_TEST(m.kept_without_candidate == 1U);
}

BOOST_AUTO_TEST_CASE(since_keeps_later_arrivals_and_their_older_references)
{
    ReportOptions o;
    o.since_ms = 5000;
    const auto m = model_of(
        {kept(1, std::nullopt, 1000), duplicate(2, 1, 0.9, 2000), duplicate(3, 1, 0.8, 6000), rejected(4, "old")}, o);
    BOOST_TEST(m.items == 1U);
    BOOST_TEST_REQUIRE(m.groups.size() == 1U);
    BOOST_TEST(m.groups[0].reference.seq == 1U);
    BOOST_TEST(!m.groups[0].reference_missing, "looked up although it arrived before the window");
    BOOST_TEST(m.groups[0].duplicates.size() == 1U);
    BOOST_TEST(m.rejected.empty());
}

BOOST_AUTO_TEST_CASE(limit_keeps_the_most_borderline_groups_and_says_how_many_there_were)
{
    ReportOptions o;
    o.limit = 1;
    const auto m =
        model_of({kept(1), kept(2), duplicate(3, 1, 0.9), duplicate(4, 2, 0.6), rejected(5, "a"), rejected(6, "b")}, o);
    BOOST_TEST(m.groups_total == 2U);
    BOOST_TEST_REQUIRE(m.groups.size() == 1U);
    BOOST_TEST(m.groups[0].reference.seq == 2U);
    BOOST_TEST(m.rejected_total == 2U);
    BOOST_TEST(m.rejected.size() == 1U);
}

BOOST_AUTO_TEST_CASE(a_replaced_kept_image_and_its_duplicates_join_the_better_copys_group)
{
    // 1 kept, 2 its duplicate; 3 replaced 1 (keep: best), and 4 replaced 3.
    ItemRecord first = duplicate(1, 3, 0.9);
    first.replaced_by = 3;
    ItemRecord second = duplicate(3, 4, 0.95);
    second.replaced = 1;
    second.replaced_by = 4;
    ItemRecord best = kept(4, 0.95);
    best.replaced = 3;
    const auto m = model_of({first, duplicate(2, 1, 0.8), second, best, kept(5), duplicate(6, 5, 0.7)});
    BOOST_TEST_REQUIRE(m.groups.size() == 2U);
    const auto& chain = m.groups[1]; // lowest similarity 0.8, after group 5's 0.7
    BOOST_TEST(chain.reference.seq == 4U);
    BOOST_TEST(chain.reference.replaced == 3U);
    std::vector<std::uint64_t> members;
    for (const auto& d : chain.duplicates) {
        members.push_back(d.seq);
    }
    BOOST_TEST(members == (std::vector<std::uint64_t>{2, 1, 3}), boost::test_tools::per_element());
    BOOST_TEST(m.counts.replaced == 2U);
}

BOOST_AUTO_TEST_CASE(a_reference_gone_from_the_index_still_heads_its_group)
{
    std::vector<ItemRecord> records = {duplicate(2, 1, 0.9)};
    ReportBuilder b({});
    b.add(records[0]);
    const auto m = std::move(b).finish([](std::uint64_t) { return std::optional<ItemRecord>(); });
    BOOST_TEST_REQUIRE(m.groups.size() == 1U);
    BOOST_TEST(m.groups[0].reference_missing);
    BOOST_TEST(m.groups[0].reference.seq == 1U);
}

BOOST_AUTO_TEST_CASE(pages_hold_a_bounded_number_of_tiles_and_split_a_large_group)
{
    std::vector<DuplicateGroup> groups(3);
    groups[0].duplicates.resize(2);  // 3 tiles
    groups[1].duplicates.resize(12); // 13 tiles: over one page of 5
    groups[2].duplicates.resize(1);  // 2 tiles
    const auto pages = paginate_groups(groups, 5);
    std::size_t shown = 0;
    for (const auto& page : pages) {
        std::size_t tiles = 0;
        for (const auto& part : page) {
            tiles += part.count + 1;
            if (part.group == 1) shown += part.count;
        }
        BOOST_TEST(tiles <= 5U);
    }
    BOOST_TEST(shown == 12U, "every duplicate on some page");
    BOOST_TEST(pages.front().front().continued == false);
    BOOST_TEST(pages[2].front().continued, "the large group goes on, its reference repeated");
}

BOOST_AUTO_TEST_SUITE_END()
