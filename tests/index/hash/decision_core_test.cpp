// The pure decision core over an in-memory view of the index (no RocksDB):
// Datumaro's ordered decisions, rules entries, the exact-copy rule,
// overrides and rebalances, each a function of the entries and the view.
#define BOOST_TEST_MODULE decision_core
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <bit>
#include <map>

#include "index/hash/decision_core.hpp"
#include "index/hash/key.hpp"
#include "reference_data.hpp"

using namespace ndrd;
using index::ItemRecord;
using index::Verdict;

namespace {

int hamming_distance(const index::Key& a, const index::Key& b)
{
    int d = 0;
    for (std::size_t i = 0; i < a.bytes.size() && i < b.bytes.size(); ++i) {
        d += std::popcount(static_cast<unsigned>(static_cast<unsigned char>(a.bytes[i] ^ b.bytes[i])));
    }
    return d;
}

// The index as the core sees it, kept in memory: records by number, the
// kept ones found by exact key or by Hamming distance.
class MemoryView final : public index::IndexView {
public:
    [[nodiscard]] std::vector<index::KeptItem> kept_near(const index::Key& key, int radius) const override
    {
        std::vector<std::pair<std::string, index::KeptItem>> found; // key-then-item order
        for (const auto& [seq, r] : items_) {
            if (r.verdict == Verdict::kept && r.state != index::RouteState::vanished &&
                hamming_distance(r.key, key) <= radius) {
                found.push_back({r.key.bytes, {seq, r.feature, r.degenerate}});
            }
        }
        std::stable_sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        std::vector<index::KeptItem> out;
        for (auto& f : found) {
            out.push_back(std::move(f.second));
        }
        return out;
    }
    [[nodiscard]] std::optional<ItemRecord> first_with_digest(std::string_view digest) const override
    {
        for (const auto& [seq, r] : items_) {
            if (r.digest == digest) return r;
        }
        return std::nullopt;
    }
    [[nodiscard]] std::optional<ItemRecord> item(std::uint64_t seq) const override
    {
        const auto it = items_.find(seq);
        return it == items_.end() ? std::nullopt : std::optional(it->second);
    }
    void each_item(const std::function<bool(const ItemRecord&)>& fn) const override
    {
        for (const auto& [seq, r] : items_) {
            if (!fn(r)) return;
        }
    }
    [[nodiscard]] std::uint64_t next_item() const override { return items_.size() + 1; }

    // What a host does with an outcome here: write its records.
    void write(const index::Outcome& out)
    {
        for (auto rec : out.records) {
            if (rec.state != index::RouteState::vanished && rec.state != index::RouteState::expired) {
                rec.state = index::RouteState::done;
            }
            items_[rec.seq] = std::move(rec);
        }
    }

private:
    std::map<std::uint64_t, ItemRecord> items_;
};

bool bits_equal(const std::optional<double>& a, const std::optional<double>& b)
{
    return a.has_value() == b.has_value() &&
           (!a || std::bit_cast<std::uint64_t>(*a) == std::bit_cast<std::uint64_t>(*b));
}

struct Core {
    index::Projection projection = test::golden_projection(32);
    index::DecisionCore core{index::Rules{}, projection, index::Grid{}};
    MemoryView view;
    std::uint64_t next_entry = 1;

    index::Outcome apply(index::EntryBody body)
    {
        auto out = core.apply({next_entry++, std::move(body)}, view);
        view.write(out);
        return out;
    }

    index::Outcome hash(const std::string& image, std::string digest = {})
    {
        return hash_sized(image, 0, 1, std::move(digest));
    }

    // As hash(), for a file of `size` bytes holding `pixels` pixels.
    index::Outcome hash_sized(const std::string& image, std::uint64_t pixels, std::uint64_t size,
                              std::string digest = {})
    {
        const auto f = test::feature_of(image);
        return apply(index::HashedItem{std::move(digest),
                                       index::compute_key(f, projection),
                                       index::stored_values(f),
                                       f.degenerate,
                                       size,
                                       image,
                                       {},
                                       pixels});
    }

    void keep_best() { apply(index::RulesChange{{index::MatchRule{}, true, index::Compat::off, index::Keep::best}}); }
};

} // namespace

BOOST_AUTO_TEST_SUITE(decision_core)

BOOST_AUTO_TEST_CASE(datumaro_ordered_decisions_without_a_store)
{
    Core c;
    c.apply(index::RulesChange{{index::MatchRule{0.5, 0, {}}, false, index::Compat::datumaro}});
    std::map<std::uint64_t, std::string> file_of;
    int rows = 0;
    for (const auto& row : test::read_csv(test::reference() / "decisions.csv")) {
        if (row.at(0) != "h32_t0.5") continue;
        ++rows;
        const auto out = c.hash(row.at(4));
        BOOST_TEST_REQUIRE(out.records.size() == 1U);
        const ItemRecord& r = out.records.front();
        file_of[r.seq] = r.source;
        BOOST_TEST((r.verdict == Verdict::kept) == (row.at(6) == "kept"), row.at(4));
        if (row.size() > 8 && !row.at(8).empty()) {
            BOOST_TEST(file_of[r.matched_seq] == row.at(8), row.at(4));
        }
    }
    BOOST_TEST(rows == 64);
}

BOOST_AUTO_TEST_CASE(a_rules_entry_changes_the_decisions_after_it_only)
{
    Core c;
    BOOST_TEST((c.hash("chelsea.png").records.front().verdict == Verdict::kept));
    BOOST_TEST((c.hash("chelsea__jpeg_q95.jpg").records.front().verdict == Verdict::duplicated));
    const auto rules_out = c.apply(index::RulesChange{{index::MatchRule{1.0, 0, {}}, false, index::Compat::off}});
    BOOST_TEST(rules_out.records.empty());
    BOOST_TEST(c.core.rules().match.sim_threshold == 1.0);
    // Similar but not identical: kept under a threshold of 1; the earlier
    // decision stands.
    BOOST_TEST((c.hash("chelsea__jpeg_q70.jpg").records.front().verdict == Verdict::kept));
    BOOST_TEST((c.view.item(2)->verdict == Verdict::duplicated));
}

BOOST_AUTO_TEST_CASE(a_vanished_entry_ends_an_items_time_as_a_reference_there)
{
    Core c;
    BOOST_TEST((c.hash("chelsea.png").records.front().verdict == Verdict::kept));
    const auto gone = c.apply(index::VanishedItem{1});
    BOOST_TEST_REQUIRE(gone.records.size() == 1U);
    BOOST_TEST((gone.records.front().state == index::RouteState::vanished));
    BOOST_TEST((gone.records.front().verdict == Verdict::kept)); // the decision stays as history
    // Nothing to match any more: the near-duplicate is kept.
    BOOST_TEST((c.hash("chelsea__jpeg_q95.jpg").records.front().verdict == Verdict::kept));
    // Said twice, or of an unknown item: refused alike everywhere, nothing written.
    BOOST_TEST(c.apply(index::VanishedItem{1}).refused.has_value());
    BOOST_TEST(c.apply(index::VanishedItem{99}).records.empty());
}

BOOST_AUTO_TEST_CASE(the_exact_copy_rule_follows_the_rules_entry)
{
    Core c;
    c.apply(index::RulesChange{{index::MatchRule{0.5, 0, {}}, true, index::Compat::off}});
    (void)c.hash("rocket.jpg", "digest-a");
    const auto copy = c.hash("rocket.jpg", "digest-a").records.front();
    BOOST_TEST(copy.exact_copy);
    BOOST_TEST(copy.matched_seq == 1U);
    BOOST_TEST(*copy.best_similarity == 1.0);

    c.apply(index::RulesChange{{index::MatchRule{0.5, 0, {}}, false, index::Compat::datumaro}});
    const auto judged = c.hash("rocket.jpg", "digest-a").records.front();
    BOOST_TEST(!judged.exact_copy, "with the copy rule off a copy is judged by its key");
    BOOST_TEST((judged.verdict == Verdict::duplicated));
}

BOOST_AUTO_TEST_CASE(overrides_apply_or_are_refused_alike_on_every_replica)
{
    Core c;
    (void)c.hash("coins.png");
    (void)c.hash("coins__jpeg_q70.jpg");
    (void)c.apply(index::RejectedItem{"", 5, "junk.jpg", "not a decodable image", {}});
    BOOST_TEST(c.apply(index::OperatorOverride{9, index::Override::released}).refused.has_value());
    const auto rejected = c.apply(index::OperatorOverride{3, index::Override::released});
    BOOST_TEST_REQUIRE(rejected.refused.has_value());
    BOOST_TEST(rejected.refused->find("rejected") != std::string::npos);
    BOOST_TEST(rejected.records.empty());

    const auto released = c.apply(index::OperatorOverride{2, index::Override::released});
    BOOST_TEST_REQUIRE(released.records.size() == 1U);
    BOOST_TEST((released.records.front().verdict == Verdict::kept));
    BOOST_TEST((released.records.front().subset == index::Subset::working));
}

BOOST_AUTO_TEST_CASE(a_rebalance_keeps_released_items_and_cuts_to_num_cut)
{
    Core c;
    for (const char* image : {"astronaut.png", "camera.png", "coffee.png", "horse.png", "moon.png", "brick.png"}) {
        (void)c.hash(image);
    }
    (void)c.hash("chelsea.png");
    (void)c.hash("chelsea__jpeg_q95.jpg"); // item 8, a duplicate
    (void)c.apply(index::OperatorOverride{8, index::Override::released});
    const auto out = c.apply(index::RebalanceRequest{3, index::OverSample::random, index::UnderSample::uniform, 5});
    BOOST_TEST(out.working_before == 8U);
    std::size_t working = 0;
    c.view.each_item([&](const ItemRecord& r) {
        working += r.subset == index::Subset::working ? 1 : 0;
        return true;
    });
    BOOST_TEST(working == 3U);
    BOOST_TEST((c.view.item(8)->subset == index::Subset::working), "a released item is not the policy's to cut");
    BOOST_TEST(out.records.size() == 5U);

    // The same request at the same position gives the same plan.
    Core again;
    for (const char* image : {"astronaut.png", "camera.png", "coffee.png", "horse.png", "moon.png", "brick.png"}) {
        (void)again.hash(image);
    }
    (void)again.hash("chelsea.png");
    (void)again.hash("chelsea__jpeg_q95.jpg");
    (void)again.apply(index::OperatorOverride{8, index::Override::released});
    const auto replay =
        again.apply(index::RebalanceRequest{3, index::OverSample::random, index::UnderSample::uniform, 5});
    BOOST_TEST_REQUIRE(replay.records.size() == out.records.size());
    for (std::size_t i = 0; i < out.records.size(); ++i) {
        BOOST_TEST(replay.records[i].seq == out.records[i].seq);
    }
}

BOOST_AUTO_TEST_CASE(keep_best_swaps_the_reference_for_a_copy_with_more_pixels_or_a_larger_file)
{
    Core c;
    c.keep_best();
    BOOST_TEST((c.hash_sized("chelsea.png", 10'000, 9000).records.front().verdict == Verdict::kept));
    // Four times the pixels: the newcomer is the group's kept image now.
    const auto swap = c.hash_sized("chelsea__jpeg_q95.jpg", 40'000, 5000);
    BOOST_TEST_REQUIRE(swap.records.size() == 2U);
    const ItemRecord& better = swap.records[0];
    const ItemRecord& old = swap.records[1];
    BOOST_TEST((better.verdict == Verdict::kept && better.subset == index::Subset::working));
    BOOST_TEST(better.replaced == 1U);
    BOOST_TEST((old.seq == 1U && old.verdict == Verdict::duplicated && old.subset == index::Subset::duplicated));
    BOOST_TEST(old.matched_seq == 2U);
    BOOST_TEST(old.replaced_by == 2U);
    BOOST_TEST(bits_equal(old.best_similarity, better.best_similarity));
    // The swapped reference is no candidate any more: the key set holds item 2.
    const auto refs = c.view.kept_near(better.key, 0);
    BOOST_TEST_REQUIRE(refs.size() == 1U);
    BOOST_TEST(refs.front().seq == 2U);

    // As many pixels and a smaller or equal file: the earlier arrival stays.
    const auto tie = c.hash_sized("chelsea__jpeg_q70.jpg", 40'000, 5000);
    BOOST_TEST_REQUIRE(tie.records.size() == 1U);
    BOOST_TEST(tie.records.front().matched_seq == 2U);
    // As many pixels and a larger file: the newcomer wins.
    const auto larger = c.hash_sized("chelsea__jpeg_q70.jpg", 40'000, 5001);
    BOOST_TEST_REQUIRE(larger.records.size() == 2U);
    BOOST_TEST(larger.records[1].seq == 2U);
    BOOST_TEST(larger.records[0].replaced == 2U);
}

BOOST_AUTO_TEST_CASE(keep_first_exact_copies_and_released_references_never_swap)
{
    Core first;
    (void)first.hash_sized("chelsea.png", 100, 10);
    BOOST_TEST(first.hash_sized("chelsea__jpeg_q95.jpg", 10'000, 1000).records.size() == 1U, "keep: first");

    Core c;
    c.keep_best();
    (void)c.hash_sized("rocket.jpg", 100, 10, "digest-a");
    const auto copy = c.hash_sized("rocket.jpg", 100, 10, "digest-a");
    BOOST_TEST_REQUIRE(copy.records.size() == 1U);
    BOOST_TEST(copy.records.front().exact_copy);

    (void)c.hash_sized("chelsea.png", 100, 10); // item 3
    (void)c.hash_sized("chelsea__jpeg_q95.jpg", 50, 5);
    BOOST_TEST(c.apply(index::OperatorOverride{4, index::Override::released}).records.size() == 1U);
    (void)c.apply(index::OperatorOverride{3, index::Override::released});
    // A released reference is the operator's choice: a better copy is its duplicate.
    const auto better = c.hash_sized("chelsea__jpeg_q70.jpg", 10'000, 1000);
    BOOST_TEST_REQUIRE(better.records.size() == 1U);
    BOOST_TEST((better.records.front().verdict == Verdict::duplicated));
}

BOOST_AUTO_TEST_CASE(better_copy_orders_by_pixels_then_size_and_the_earlier_wins_ties)
{
    ItemRecord kept;
    kept.pixels = 1000;
    kept.size = 500;
    BOOST_TEST(index::better_copy(1001, 1, kept));
    BOOST_TEST(!index::better_copy(999, 10'000, kept));
    BOOST_TEST(index::better_copy(1000, 501, kept));
    BOOST_TEST(!index::better_copy(1000, 500, kept));
    // A count not known on either side (an item indexed before pixels were
    // recorded): the file sizes decide.
    kept.pixels = 0;
    BOOST_TEST(index::better_copy(10, 501, kept));
    BOOST_TEST(!index::better_copy(1'000'000, 500, kept));
}

BOOST_AUTO_TEST_CASE(control_entries_survive_their_encoding)
{
    const index::EntryBody bodies[] = {
        index::RulesChange{
            {index::MatchRule{0.75, 2, {index::Variant::hflip, index::Variant::rot90}}, true, index::Compat::off}},
        index::RulesChange{{index::MatchRule{}, true, index::Compat::off, index::Keep::best}},
        index::OperatorOverride{42, index::Override::marked_duplicate},
        index::RebalanceRequest{std::nullopt, index::OverSample::similarity, index::UnderSample::inverse, 9},
        index::RebalanceRequest{100, index::OverSample::random, index::UnderSample::uniform, 0},
        index::VanishedItem{1234567},
    };
    for (const auto& body : bodies) {
        const auto back = index::decode_control(index::encode_control(body));
        BOOST_TEST(back.index() == body.index());
        BOOST_TEST(index::encode_control(back) == index::encode_control(body));
    }
    BOOST_CHECK_THROW((void)index::encode_control(index::RejectedItem{}), std::invalid_argument);
    BOOST_CHECK_THROW((void)index::decode_control(std::string("\x08", 1)), std::runtime_error);
}

BOOST_AUTO_TEST_CASE(an_expire_entry_expires_settled_duplicates_and_rejected_items_only)
{
    Core c;
    (void)c.hash("chelsea.png");                                                              // 1 kept
    (void)c.hash("chelsea__jpeg_q95.jpg");                                                    // 2 duplicated
    (void)c.apply(index::RejectedItem{"d-junk", 4, "junk.jpg", "not a decodable image", {}}); // 3 rejected
    (void)c.hash("rocket.jpg");                                                               // 4 kept
    const ItemRecord before = *c.view.item(2);

    const auto out = c.apply(index::ExpireItems{{1, 2, 3, 4, 99, 2}, 1234});
    BOOST_TEST(!out.refused.has_value());
    BOOST_TEST_REQUIRE(out.records.size() == 2U); // the duplicate and the rejected file, each once
    for (const ItemRecord& r : out.records) {
        BOOST_TEST((r.state == index::RouteState::expired));
        BOOST_TEST(r.feature.empty());
        BOOST_TEST(r.expired_ms == 1234);
    }
    const ItemRecord& dup = out.records[0];
    BOOST_TEST(dup.seq == 2U);
    // The decision, the digest and the place it had stay as history.
    BOOST_TEST((dup.verdict == Verdict::duplicated && dup.subset == index::Subset::duplicated));
    BOOST_TEST(dup.matched_seq == before.matched_seq);
    BOOST_TEST(bits_equal(dup.best_similarity, before.best_similarity));
    BOOST_TEST(dup.key.bytes == before.key.bytes);
    BOOST_TEST(out.records[1].seq == 3U);
    BOOST_TEST((out.records[1].verdict == Verdict::rejected));
    // Kept items stay; items expired already change nothing.
    BOOST_TEST((c.view.item(1)->state == index::RouteState::done));
    BOOST_TEST((c.view.item(4)->state == index::RouteState::done));
    BOOST_TEST(c.apply(index::ExpireItems{{2, 3}, 5678}).records.empty());
    BOOST_TEST(c.view.item(2)->expired_ms == 1234);
}

BOOST_AUTO_TEST_CASE(a_cut_reference_and_a_restored_duplicate_are_never_expired)
{
    Core c;
    (void)c.hash("chelsea.png");
    (void)c.hash("rocket.jpg");
    // One of the two references is cut to the duplicated area: still a reference.
    const auto cut = c.apply(index::RebalanceRequest{1, index::OverSample::random, index::UnderSample::uniform, 3});
    BOOST_TEST_REQUIRE(cut.records.size() == 1U);
    const std::uint64_t cut_seq = cut.records.front().seq;
    BOOST_TEST((c.view.item(cut_seq)->subset == index::Subset::duplicated));
    BOOST_TEST(c.apply(index::ExpireItems{{1, 2}, 10}).records.empty());

    // A duplicate a rebalance restored to the working subset stays there.
    (void)c.hash("chelsea__jpeg_q95.jpg"); // 3
    const auto restored =
        c.apply(index::RebalanceRequest{3, index::OverSample::random, index::UnderSample::uniform, 3});
    BOOST_TEST((c.view.item(3)->subset == index::Subset::working));
    BOOST_TEST(restored.records.size() == 2U); // the cut reference and the duplicate come in
    BOOST_TEST(c.apply(index::ExpireItems{{3}, 10}).records.empty());
}

BOOST_AUTO_TEST_CASE(a_rebalance_never_restores_an_expired_duplicate)
{
    Core c;
    (void)c.hash("chelsea.png");           // 1 kept
    (void)c.hash("chelsea__jpeg_q95.jpg"); // 2 duplicated
    (void)c.hash("chelsea__jpeg_q70.jpg"); // 3 duplicated
    BOOST_TEST(c.apply(index::ExpireItems{{2}, 10}).records.size() == 1U);
    // Three wanted, two items left to choose from: item 2's file is gone.
    const auto out = c.apply(index::RebalanceRequest{3, index::OverSample::random, index::UnderSample::uniform, 3});
    BOOST_TEST(out.short_of_target);
    BOOST_TEST_REQUIRE(out.records.size() == 1U);
    BOOST_TEST(out.records.front().seq == 3U);
    BOOST_TEST((c.view.item(2)->subset == index::Subset::duplicated));
    BOOST_TEST((c.view.item(2)->state == index::RouteState::expired));
}

BOOST_AUTO_TEST_CASE(an_override_of_an_expired_item_is_refused)
{
    Core c;
    (void)c.hash("coins.png");
    (void)c.hash("coins__jpeg_q70.jpg");
    BOOST_TEST(c.apply(index::ExpireItems{{2}, 10}).records.size() == 1U);
    for (const auto action : {index::Override::released, index::Override::marked_duplicate}) {
        const auto out = c.apply(index::OperatorOverride{2, action});
        BOOST_TEST_REQUIRE(out.refused.has_value());
        BOOST_TEST(out.refused->find("deleted by retention") != std::string::npos, *out.refused);
        BOOST_TEST(out.records.empty());
    }
}

BOOST_AUTO_TEST_CASE(a_byte_identical_copy_of_an_expired_duplicate_is_a_duplicate_of_its_reference)
{
    Core c;
    c.apply(index::RulesChange{{index::MatchRule{0.5, 2, {}}, true, index::Compat::off}});
    (void)c.hash("chelsea.png", "digest-kept");                // 1 kept
    (void)c.hash("chelsea__jpeg_q95.jpg", "digest-duplicate"); // 2, its duplicate
    (void)c.apply(index::ExpireItems{{2}, 10});
    const ItemRecord expired = *c.view.item(2);
    BOOST_TEST(expired.feature.empty());

    // The same bytes again: recognised by their digest, without a feature to
    // compare, and matched to the kept image as the first copy was.
    const auto again = c.hash("chelsea__jpeg_q95.jpg", "digest-duplicate").records.front();
    BOOST_TEST(again.exact_copy);
    BOOST_TEST((again.verdict == Verdict::duplicated && again.subset == index::Subset::duplicated));
    BOOST_TEST(again.matched_seq == 1U);
    BOOST_TEST(bits_equal(again.best_similarity, expired.best_similarity));
}

BOOST_AUTO_TEST_SUITE_END()
