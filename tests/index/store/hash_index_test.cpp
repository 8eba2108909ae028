// The RocksDB hash index, on a real database in a temporary directory:
// parameters and projection stored once, references by key, counters,
// sequence numbers and the journal of planned moves across reopen.
#define BOOST_TEST_MODULE hash_index
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <thread>

#include <rocksdb/db.h>

#include "index/hash/codec.hpp"
#include "index/hash/invariance.hpp"
#include "index/hash/key.hpp"
#include "index/store/hash_index.hpp"
#include "index_fixtures.hpp"
#include "reference_data.hpp"

using namespace ndrd;
using index::HashIndex;
using index::IndexCounts;
using index::IndexError;
using index::IndexMismatch;
using index::ItemRecord;
using index::Key;
using index::Projection;
using index::RouteState;
using index::Subset;
using index::Verdict;
using test::make_record;
using test::open_index;
using test::unit_feature;

namespace {

// A projection other than the golden one test::open_index uses.
Projection seeded()
{
    return Projection::generate(11, 768, 32);
}

// A factory that fails the test if the index asks for it.
std::function<Projection()> must_not_be_called(int& calls)
{
    return [&calls] {
        ++calls;
        return Projection::generate(999, 768, 32);
    };
}

std::vector<std::uint64_t> seqs(const std::vector<index::KeptItem>& items)
{
    std::vector<std::uint64_t> out;
    for (const auto& i : items)
        out.push_back(i.seq);
    return out;
}

std::vector<std::uint64_t> seqs(const std::vector<ItemRecord>& items)
{
    std::vector<std::uint64_t> out;
    for (const auto& i : items)
        out.push_back(i.seq);
    return out;
}

// All counters, printable, so a mismatch shows which one.
std::vector<std::uint64_t> as_vector(const IndexCounts& c)
{
    return {c.kept,          c.duplicated,  c.rejected, c.vanished, c.in_working,
            c.in_duplicated, c.in_rejected, c.planned,  c.cut,      c.restored};
}

//          kept dup rej van inW inD inR plan [cut restored]
std::vector<std::uint64_t> counts(std::uint64_t k, std::uint64_t d, std::uint64_t r, std::uint64_t v, std::uint64_t iw,
                                  std::uint64_t id, std::uint64_t ir, std::uint64_t p, std::uint64_t cut = 0,
                                  std::uint64_t restored = 0)
{
    return {k, d, r, v, iw, id, ir, p, cut, restored};
}

std::vector<float> as_floats(const index::Feature& f)
{
    return {f.values.begin(), f.values.end()};
}

} // namespace

BOOST_AUTO_TEST_SUITE(hash_index_open)

BOOST_AUTO_TEST_CASE(new_index_stores_params_and_projection)
{
    test::TempDir dir;
    BOOST_TEST(!HashIndex::exists(dir / "idx"));
    int made = 0;
    {
        auto idx = HashIndex::open(dir / "idx", test::default_params(), [&] {
            ++made;
            return seeded();
        });
        BOOST_TEST(made == 1);
        BOOST_TEST((idx.params() == test::default_params()));
        BOOST_TEST((idx.projection() == seeded()));
        BOOST_TEST(idx.next_seq() == 1U);
        BOOST_TEST(as_vector(idx.counts()) == counts(0, 0, 0, 0, 0, 0, 0, 0), boost::test_tools::per_element());
    }
    BOOST_TEST(HashIndex::exists(dir / "idx"));
}

BOOST_AUTO_TEST_CASE(reopening_returns_the_stored_projection_without_calling_the_factory)
{
    test::TempDir dir;
    const auto original = seeded();
    {
        auto idx = HashIndex::open(dir / "idx", test::default_params(), [&] { return original; });
    }
    int calls = 0;
    auto idx = HashIndex::open(dir / "idx", test::default_params(), must_not_be_called(calls));
    BOOST_TEST(calls == 0);
    BOOST_TEST(idx.projection().serialize() == original.serialize());
    BOOST_TEST((idx.params() == test::default_params()));
}

BOOST_AUTO_TEST_CASE(reopening_with_a_different_hash_dim_throws_mismatch_naming_hash_dim)
{
    test::TempDir dir;
    {
        auto idx = open_index(dir / "idx");
    }
    int calls = 0;
    try {
        (void)HashIndex::open(dir / "idx", {"gradient", {8, 8}, 16}, must_not_be_called(calls));
        BOOST_FAIL("a different hash_dim was accepted");
    } catch (const IndexMismatch& e) {
        const std::string msg = e.what();
        BOOST_TEST(msg.find("hash_dim 32") != std::string::npos, msg);
        BOOST_TEST(msg.find("hash_dim 16") != std::string::npos, msg);
    }
    BOOST_TEST(calls == 0);
}

BOOST_AUTO_TEST_CASE(reopening_with_a_different_grid_throws_mismatch_naming_block_shape)
{
    test::TempDir dir;
    {
        auto idx = open_index(dir / "idx");
    }
    int calls = 0;
    try {
        (void)HashIndex::open(dir / "idx", {"gradient", {4, 4}, 32}, must_not_be_called(calls));
        BOOST_FAIL("a different grid was accepted");
    } catch (const IndexMismatch& e) {
        const std::string msg = e.what();
        BOOST_TEST(msg.find("block_shape [8, 8]") != std::string::npos, msg);
        BOOST_TEST(msg.find("block_shape [4, 4]") != std::string::npos, msg);
    }
    BOOST_CHECK_THROW((void)HashIndex::open(dir / "idx", {"gradient", {8, 4}, 32}, must_not_be_called(calls)),
                      IndexMismatch);
    BOOST_TEST(calls == 0);
}

BOOST_AUTO_TEST_CASE(exif_orientation_is_kept_in_the_index_and_a_change_is_a_mismatch)
{
    test::TempDir dir;
    const index::IndexParams applied{"gradient", {8, 8}, 32, true};
    {
        auto idx = HashIndex::open(dir / "idx", applied, [] { return seeded(); });
    }
    BOOST_TEST(HashIndex::open_read_only(dir / "idx").params().exif_orientation);
    int calls = 0;
    try {
        (void)HashIndex::open(dir / "idx", test::default_params(), must_not_be_called(calls));
        BOOST_FAIL("an index built with exif_orientation apply opened without it");
    } catch (const IndexMismatch& e) {
        BOOST_TEST(std::string(e.what()).find("exif_orientation apply") != std::string::npos, e.what());
    }
    // An index made without the setting reads as before: ignore.
    {
        auto idx = open_index(dir / "plain");
    }
    BOOST_TEST(!HashIndex::open_read_only(dir / "plain").params().exif_orientation);
    BOOST_CHECK_THROW((void)HashIndex::open(dir / "plain", applied, must_not_be_called(calls)), IndexMismatch);
    BOOST_TEST(calls == 0);
}

BOOST_AUTO_TEST_CASE(reopening_with_a_different_algorithm_throws_mismatch)
{
    test::TempDir dir;
    {
        auto idx = open_index(dir / "idx");
    }
    int calls = 0;
    BOOST_CHECK_THROW((void)HashIndex::open(dir / "idx", {"other", {8, 8}, 32}, must_not_be_called(calls)),
                      IndexMismatch);
}

BOOST_AUTO_TEST_CASE(a_mismatch_releases_the_database_for_the_next_open)
{
    test::TempDir dir;
    {
        auto idx = open_index(dir / "idx");
    }
    BOOST_CHECK_THROW((void)HashIndex::open(dir / "idx", {"gradient", {8, 8}, 16}, seeded), IndexMismatch);
    int calls = 0;
    BOOST_CHECK_NO_THROW((void)HashIndex::open(dir / "idx", test::default_params(), must_not_be_called(calls)));
}

BOOST_AUTO_TEST_CASE(a_second_writer_on_the_same_directory_is_refused)
{
    test::TempDir dir;
    auto first = open_index(dir / "idx");
    BOOST_CHECK_THROW((void)open_index(dir / "idx"), IndexError);
}

BOOST_AUTO_TEST_CASE(projection_of_the_wrong_shape_is_a_mismatch)
{
    test::TempDir dir;
    BOOST_CHECK_THROW(
        (void)HashIndex::open(dir / "idx", test::default_params(), [] { return Projection::generate(1, 768, 16); }),
        IndexMismatch);
}

// A first start whose projection cannot be made (a bad projection file, a
// projection of the wrong shape) must not leave a half-created index that
// every later start refuses once the configuration is fixed.
void check_index_can_be_created_after(const std::function<Projection()>& failing_factory)
{
    test::TempDir dir;
    BOOST_CHECK_THROW((void)HashIndex::open(dir / "idx", test::default_params(), failing_factory), std::exception);
    try {
        auto idx = open_index(dir / "idx");
        BOOST_TEST((idx.projection() == test::golden_projection(32)));
        BOOST_TEST(idx.next_seq() == 1U);
    } catch (const std::exception& e) {
        BOOST_ERROR("the index cannot be created after a failed first attempt: " << e.what());
    }
}

BOOST_AUTO_TEST_CASE(a_failing_projection_factory_leaves_no_unusable_index_behind)
{
    check_index_can_be_created_after([]() -> Projection { throw index::ProjectionError("bad projection file"); });
}

BOOST_AUTO_TEST_CASE(a_projection_of_the_wrong_shape_leaves_no_unusable_index_behind)
{
    check_index_can_be_created_after([] { return Projection::generate(1, 768, 16); });
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(hash_index_references)

BOOST_AUTO_TEST_CASE(kept_with_key_returns_only_kept_items_of_that_exact_key_in_seq_order)
{
    test::TempDir dir;
    auto idx = open_index(dir / "idx");
    // Put out of order: the by_key order must be seq order, not put order.
    idx.put(make_record(10, "5c1172d0", Verdict::kept), false);
    idx.put(make_record(2, "5c1172d0", Verdict::kept), false);
    idx.put(make_record(3, "5c1172d1", Verdict::kept), false);                       // other key
    idx.put(make_record(4, "5c1172d0", Verdict::duplicated), false);                 // not kept
    idx.put(make_record(5, "5c1172d0", Verdict::rejected), false);                   // not kept
    idx.put(make_record(6, "5c1172d0", Verdict::kept, RouteState::vanished), false); // gone
    idx.put(make_record(7, "5c1172d0", Verdict::kept, RouteState::planned), false);  // decided: a reference
    idx.put(make_record(8, "dc1172d0", Verdict::kept), false);                       // differs in the first byte
    idx.put(make_record(1, "00000000", Verdict::kept), false);

    BOOST_TEST(seqs(idx.kept_with_key(Key::from_hex("5c1172d0"))) == std::vector<std::uint64_t>({2, 7, 10}),
               boost::test_tools::per_element());
    BOOST_TEST(seqs(idx.kept_with_key(Key::from_hex("5c1172d1"))) == std::vector<std::uint64_t>({3}),
               boost::test_tools::per_element());
    BOOST_TEST(seqs(idx.kept_with_key(Key::from_hex("00000000"))) == std::vector<std::uint64_t>({1}),
               boost::test_tools::per_element());
    BOOST_TEST(idx.kept_with_key(Key::from_hex("ffffffff")).empty());
}

BOOST_AUTO_TEST_CASE(kept_with_key_returns_the_float32_features_and_degenerate_flag)
{
    test::TempDir dir;
    auto idx = open_index(dir / "idx");
    const auto f = test::feature_of("coffee.png");
    auto rec = make_record(1, "72392811", Verdict::kept, RouteState::done, as_floats(f));
    idx.put(rec, false);
    auto black = make_record(2, "72392811", Verdict::kept, RouteState::done, std::vector<float>(768, 0.0F));
    black.degenerate = true;
    idx.put(black, false);

    const auto items = idx.kept_with_key(Key::from_hex("72392811"));
    BOOST_TEST_REQUIRE(items.size() == 2U);
    BOOST_TEST(items[0].seq == 1U);
    BOOST_TEST(!items[0].degenerate);
    BOOST_TEST_REQUIRE(items[0].feature.size() == 768U);
    // Bit-exact: the stored float32 values must come back unchanged.
    // NOLINTNEXTLINE(bugprone-suspicious-memory-comparison)
    BOOST_TEST(std::memcmp(items[0].feature.data(), rec.feature.data(), 768 * sizeof(float)) == 0);
    BOOST_TEST(items[1].seq == 2U);
    BOOST_TEST(items[1].degenerate);
    const auto cand = items[0].candidate();
    BOOST_TEST(cand.seq == 1U);
    BOOST_TEST(cand.feature.data() == items[0].feature.data());
}

BOOST_AUTO_TEST_CASE(kept_to_vanished_removes_the_reference)
{
    test::TempDir dir;
    auto idx = open_index(dir / "idx");
    auto rec = make_record(1, "5c1172d0", Verdict::kept, RouteState::planned);
    idx.put(rec, true);
    idx.put(make_record(2, "5c1172d0", Verdict::kept), true);
    BOOST_TEST(seqs(idx.kept_with_key(rec.key)) == std::vector<std::uint64_t>({1, 2}),
               boost::test_tools::per_element());
    rec.state = RouteState::vanished;
    idx.put(rec, true);
    BOOST_TEST(seqs(idx.kept_with_key(rec.key)) == std::vector<std::uint64_t>({2}), boost::test_tools::per_element());
    // Still recorded as history.
    const auto back = idx.get(1);
    BOOST_TEST_REQUIRE(back.has_value());
    BOOST_TEST((back->state == RouteState::vanished));
}

BOOST_AUTO_TEST_CASE(duplicated_and_rejected_records_are_never_references)
{
    test::TempDir dir;
    auto idx = open_index(dir / "idx");
    const std::string key = "7553306a";
    for (std::uint64_t seq = 1; seq <= 3; ++seq) {
        for (const auto state : {RouteState::planned, RouteState::done}) {
            idx.put(make_record(seq, key, seq == 1 ? Verdict::duplicated : Verdict::rejected, state), false);
            BOOST_TEST(idx.kept_with_key(Key::from_hex(key)).empty(), "seq " << seq);
        }
    }
    // kept -> duplicated (a rebalance moving it out) removes it as well.
    auto rec = make_record(4, key, Verdict::kept);
    idx.put(rec, false);
    BOOST_TEST(idx.kept_with_key(rec.key).size() == 1U);
    rec.verdict = Verdict::duplicated;
    rec.subset = Subset::duplicated;
    idx.put(rec, false);
    BOOST_TEST(idx.kept_with_key(rec.key).empty());
    // ... and back: a duplicated item promoted to kept becomes a reference.
    rec.verdict = Verdict::kept;
    rec.subset = Subset::working;
    idx.put(rec, false);
    BOOST_TEST(seqs(idx.kept_with_key(rec.key)) == std::vector<std::uint64_t>({4}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(replacing_a_kept_record_with_a_new_key_and_feature_moves_its_reference)
{
    // put() "inserts or replaces record rec.seq, with its key-index entry".
    test::TempDir dir;
    auto idx = open_index(dir / "idx");
    auto rec = make_record(1, "11111111", Verdict::kept, RouteState::done, unit_feature(0));
    idx.put(rec, false);
    rec.key = Key::from_hex("22222222");
    rec.feature = unit_feature(1);
    idx.put(rec, false);
    BOOST_TEST(idx.kept_with_key(Key::from_hex("11111111")).empty());
    const auto now = idx.kept_with_key(Key::from_hex("22222222"));
    BOOST_TEST_REQUIRE(now.size() == 1U);
    BOOST_TEST(now[0].feature == unit_feature(1), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(references_survive_reopen)
{
    test::TempDir dir;
    const auto f = test::feature_of("chelsea.png");
    {
        auto idx = open_index(dir / "idx");
        idx.put(make_record(1, "7553306a", Verdict::kept, RouteState::done, as_floats(f)), true);
        idx.put(make_record(2, "7553306a", Verdict::duplicated), true);
    }
    auto idx = open_index(dir / "idx");
    const auto items = idx.kept_with_key(Key::from_hex("7553306a"));
    BOOST_TEST_REQUIRE(items.size() == 1U);
    BOOST_TEST(items[0].seq == 1U);
    BOOST_TEST(items[0].feature == as_floats(f), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(hash_index_counts)

BOOST_AUTO_TEST_CASE(counts_follow_puts_and_updates)
{
    test::TempDir dir;
    auto idx = open_index(dir / "idx");
    const auto per = boost::test_tools::per_element();

    auto a = make_record(1, "00000001", Verdict::kept, RouteState::planned);
    idx.put(a, true);
    BOOST_TEST(as_vector(idx.counts()) == counts(1, 0, 0, 0, 1, 0, 0, 1), per);

    a.state = RouteState::done; // planned -> done
    idx.put(a, false);
    BOOST_TEST(as_vector(idx.counts()) == counts(1, 0, 0, 0, 1, 0, 0, 0), per);

    idx.put(a, false); // the same record again: no double counting
    BOOST_TEST(as_vector(idx.counts()) == counts(1, 0, 0, 0, 1, 0, 0, 0), per);

    auto b = make_record(2, "00000001", Verdict::duplicated, RouteState::planned);
    idx.put(b, true);
    BOOST_TEST(as_vector(idx.counts()) == counts(1, 1, 0, 0, 1, 1, 0, 1), per);

    auto c = make_record(3, "", Verdict::rejected, RouteState::planned);
    c.feature.clear();
    idx.put(c, true);
    BOOST_TEST(as_vector(idx.counts()) == counts(1, 1, 1, 0, 1, 1, 1, 2), per);

    c.state = RouteState::done;
    idx.put(c, false);
    BOOST_TEST(as_vector(idx.counts()) == counts(1, 1, 1, 0, 1, 1, 1, 1), per);

    b.state = RouteState::vanished; // planned -> vanished
    idx.put(b, false);
    BOOST_TEST(as_vector(idx.counts()) == counts(1, 0, 1, 1, 1, 0, 1, 0), per);

    auto d = make_record(4, "00000002", Verdict::kept, RouteState::planned);
    idx.put(d, true);
    d.state = RouteState::vanished; // a kept item that vanished: no longer counted as kept
    idx.put(d, false);
    BOOST_TEST(as_vector(idx.counts()) == counts(1, 0, 1, 2, 1, 0, 1, 0), per);

    a.subset = Subset::duplicated; // a rebalance moved a kept file out of the working area: "cut"
    idx.put(a, false);
    BOOST_TEST(as_vector(idx.counts()) == counts(1, 0, 1, 2, 0, 1, 1, 0, 1, 0), per);

    auto e = make_record(5, "00000003", Verdict::duplicated, RouteState::done);
    idx.put(e, false);
    e.subset = Subset::working; // and brought a duplicate in: "restored"
    idx.put(e, false);
    BOOST_TEST(as_vector(idx.counts()) == counts(1, 1, 1, 2, 1, 1, 1, 0, 1, 1), per);

    a.subset = Subset::working; // undone again
    e.subset = Subset::duplicated;
    idx.put(a, false);
    idx.put(e, false);
    BOOST_TEST(as_vector(idx.counts()) == counts(1, 1, 1, 2, 1, 1, 1, 0, 0, 0), per);
}

BOOST_AUTO_TEST_CASE(put_batch_writes_every_record_with_counts_references_and_next_seq)
{
    test::TempDir dir;
    {
        auto idx = open_index(dir / "idx");
        idx.put(make_record(1, "00000001", Verdict::kept), true);
        idx.put(make_record(2, "00000001", Verdict::duplicated), true);
        // A rebalance plan: swap the two, both journaled as planned.
        auto cut = *idx.get(1);
        cut.subset = Subset::duplicated;
        cut.previous_location = cut.location;
        cut.location = "duplicated/1.jpg";
        cut.state = RouteState::planned;
        auto restored = *idx.get(2);
        restored.subset = Subset::working;
        restored.previous_location = restored.location;
        restored.location = "working/2.jpg";
        restored.state = RouteState::planned;
        const std::vector<ItemRecord> plan{cut, restored, make_record(7, "00000002", Verdict::kept)};
        idx.put_batch(plan, true);
        BOOST_TEST(idx.next_seq() == 8U);
        BOOST_TEST(as_vector(idx.counts()) == counts(2, 1, 0, 0, 2, 1, 0, 2, 1, 1), boost::test_tools::per_element());
        // The cut item is still a kept reference: rebalancing does not change decisions.
        BOOST_TEST(seqs(idx.kept_with_key(Key::from_hex("00000001"))) == std::vector<std::uint64_t>({1}),
                   boost::test_tools::per_element());
    }
    auto idx = open_index(dir / "idx");
    BOOST_TEST(idx.next_seq() == 8U);
    BOOST_TEST(seqs(idx.planned()) == std::vector<std::uint64_t>({1, 2}), boost::test_tools::per_element());
    BOOST_TEST(idx.get(1)->previous_location == "working/1.jpg");
    BOOST_TEST(as_vector(idx.counts()) == counts(2, 1, 0, 0, 2, 1, 0, 2, 1, 1), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(put_batch_with_an_invalid_record_writes_nothing)
{
    test::TempDir dir;
    auto idx = open_index(dir / "idx");
    const std::vector<ItemRecord> plan{make_record(1, "00000001", Verdict::kept),
                                       make_record(0, "00000001", Verdict::kept)};
    BOOST_CHECK_THROW(idx.put_batch(plan, true), std::invalid_argument);
    BOOST_TEST(!idx.get(1).has_value());
    BOOST_TEST(idx.next_seq() == 1U);
    BOOST_TEST(idx.counts().kept == 0U);
    BOOST_TEST(idx.kept_with_key(Key::from_hex("00000001")).empty());
}

BOOST_AUTO_TEST_CASE(counts_persist_across_reopen)
{
    test::TempDir dir;
    {
        auto idx = open_index(dir / "idx");
        idx.put(make_record(1, "00000001", Verdict::kept), false);
        idx.put(make_record(2, "00000001", Verdict::duplicated, RouteState::planned), false);
        idx.put(make_record(3, "00000001", Verdict::rejected), false);
        idx.put(make_record(4, "00000001", Verdict::kept, RouteState::vanished), false);
    }
    auto idx = open_index(dir / "idx");
    BOOST_TEST(as_vector(idx.counts()) == counts(1, 1, 1, 1, 1, 1, 1, 1), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(hash_index_sequence_and_journal)

BOOST_AUTO_TEST_CASE(next_seq_follows_the_highest_seq_and_persists_across_reopen)
{
    test::TempDir dir;
    {
        auto idx = open_index(dir / "idx");
        BOOST_TEST(idx.next_seq() == 1U);
        idx.put(make_record(1, "00000001", Verdict::kept), false);
        BOOST_TEST(idx.next_seq() == 2U);
        idx.put(make_record(5, "00000001", Verdict::kept), false);
        BOOST_TEST(idx.next_seq() == 6U);
        idx.put(make_record(3, "00000001", Verdict::kept), false); // a lower seq does not go back
        BOOST_TEST(idx.next_seq() == 6U);
    }
    auto idx = open_index(dir / "idx");
    BOOST_TEST(idx.next_seq() == 6U);
}

BOOST_AUTO_TEST_CASE(seq_zero_is_refused)
{
    test::TempDir dir;
    auto idx = open_index(dir / "idx");
    BOOST_CHECK_THROW(idx.put(make_record(0, "00000001", Verdict::kept), false), std::invalid_argument);
    BOOST_TEST(idx.next_seq() == 1U);
    BOOST_TEST(idx.counts().kept == 0U);
}

BOOST_AUTO_TEST_CASE(planned_lists_exactly_the_planned_records_after_reopen)
{
    test::TempDir dir;
    {
        auto idx = open_index(dir / "idx");
        idx.put(make_record(1, "00000001", Verdict::kept, RouteState::done), true);
        idx.put(make_record(2, "00000001", Verdict::kept, RouteState::planned), true);
        idx.put(make_record(3, "00000002", Verdict::duplicated, RouteState::planned), true);
        idx.put(make_record(4, "00000002", Verdict::rejected, RouteState::vanished), true);
        idx.put(make_record(5, "00000003", Verdict::rejected, RouteState::planned), true);
        auto six = make_record(6, "00000003", Verdict::kept, RouteState::planned);
        idx.put(six, true);
        six.state = RouteState::done;
        idx.put(six, false);
        BOOST_TEST(seqs(idx.planned()) == std::vector<std::uint64_t>({2, 3, 5}), boost::test_tools::per_element());
    }
    auto idx = open_index(dir / "idx");
    const auto planned = idx.planned();
    BOOST_TEST(seqs(planned) == std::vector<std::uint64_t>({2, 3, 5}), boost::test_tools::per_element());
    for (const auto& r : planned) {
        BOOST_TEST((r.state == RouteState::planned));
        BOOST_TEST(r.inode == 1000 + r.seq);
        BOOST_TEST(r.source == "src/" + std::to_string(r.seq) + ".jpg");
    }
}

BOOST_AUTO_TEST_CASE(get_and_for_each_read_records_back_in_seq_order)
{
    test::TempDir dir;
    auto idx = open_index(dir / "idx");
    for (const std::uint64_t s : {300U, 2U, 256U, 1U}) { // be64 keys: 256 sorts after 2
        idx.put(make_record(s, "00000001", Verdict::kept), false);
    }
    BOOST_TEST(!idx.get(3).has_value());
    const auto r = idx.get(256);
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST(r->source == "src/256.jpg");
    std::vector<std::uint64_t> order;
    idx.for_each([&](const ItemRecord& rec) {
        order.push_back(rec.seq);
        return true;
    });
    BOOST_TEST(order == std::vector<std::uint64_t>({1, 2, 256, 300}), boost::test_tools::per_element());
    order.clear();
    idx.for_each([&](const ItemRecord& rec) {
        order.push_back(rec.seq);
        return order.size() < 2;
    });
    BOOST_TEST(order == std::vector<std::uint64_t>({1, 2}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(hash_index_read_only)

BOOST_AUTO_TEST_CASE(open_read_only_sees_the_data_of_a_closed_index)
{
    test::TempDir dir;
    {
        auto idx = open_index(dir / "idx");
        idx.put(make_record(1, "5c1172d0", Verdict::kept), false);
        idx.put(make_record(2, "5c1172d0", Verdict::duplicated, RouteState::planned), false);
    }
    auto ro = HashIndex::open_read_only(dir / "idx");
    BOOST_TEST((ro.params() == test::default_params()));
    BOOST_TEST((ro.projection() == test::golden_projection(32)));
    BOOST_TEST(ro.next_seq() == 3U);
    BOOST_TEST(as_vector(ro.counts()) == counts(1, 1, 0, 0, 1, 1, 0, 1), boost::test_tools::per_element());
    BOOST_TEST(seqs(ro.kept_with_key(Key::from_hex("5c1172d0"))) == std::vector<std::uint64_t>({1}),
               boost::test_tools::per_element());
    BOOST_TEST(seqs(ro.planned()) == std::vector<std::uint64_t>({2}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(read_only_exact_key_lookup_finds_what_the_key_set_finds)
{
    // A read-only index answers radius 0 with a by_key seek until its key set
    // is built: both paths must name the same references, in ingest order,
    // and never a neighbouring key's.
    test::TempDir dir;
    {
        auto idx = open_index(dir / "idx");
        idx.put(make_record(1, "5c1172d1", Verdict::kept), false); // sorts right after the key
        idx.put(make_record(2, "5c1172d0", Verdict::kept), false);
        idx.put(make_record(3, "5c1172cf", Verdict::kept), false); // right before it
        idx.put(make_record(4, "5c1172d0", Verdict::duplicated), false);
        idx.put(make_record(5, "5c1172d0", Verdict::kept), false);
    }
    auto ro = HashIndex::open_read_only(dir / "idx");
    const auto key = Key::from_hex("5c1172d0");
    const auto by_seek = seqs(ro.kept_with_key(key));
    BOOST_TEST(by_seek == std::vector<std::uint64_t>({2, 5}), boost::test_tools::per_element());
    BOOST_TEST(ro.kept_with_key(Key::from_hex("5c1172d2")).empty());
    BOOST_TEST(ro.reference_keys().size() == 4U); // now built
    BOOST_TEST(seqs(ro.kept_with_key(key)) == by_seek, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(open_read_only_works_while_a_writer_holds_the_index)
{
    test::TempDir dir;
    auto idx = open_index(dir / "idx");
    idx.put(make_record(1, "5c1172d0", Verdict::kept), true);
    auto ro = HashIndex::open_read_only(dir / "idx");
    BOOST_TEST(ro.next_seq() == 2U);
    BOOST_TEST(ro.counts().kept == 1U);
    BOOST_TEST(ro.get(1).has_value());
}

BOOST_AUTO_TEST_CASE(open_read_only_on_a_missing_or_empty_directory_throws_index_error)
{
    test::TempDir dir;
    BOOST_CHECK_THROW((void)HashIndex::open_read_only(dir / "nothing-here"), IndexError);
    std::filesystem::create_directories(dir / "empty");
    BOOST_CHECK_THROW((void)HashIndex::open_read_only(dir / "empty"), IndexError);
    // And it did not create one.
    BOOST_TEST(!std::filesystem::exists(dir / "nothing-here"));
    BOOST_TEST(!HashIndex::exists(dir / "empty"));
}

BOOST_AUTO_TEST_CASE(writing_through_a_read_only_index_throws_index_error)
{
    test::TempDir dir;
    {
        auto idx = open_index(dir / "idx");
    }
    auto ro = HashIndex::open_read_only(dir / "idx");
    BOOST_CHECK_THROW(ro.put(make_record(1, "5c1172d0", Verdict::kept), false), IndexError);
}

BOOST_AUTO_TEST_SUITE_END()

// A checkpoint is what a new replica starts from (and a backup): it must
// hold exactly the records, counters and applied entry of the moment it was
// made, open like any index, and never overwrite a directory.
BOOST_AUTO_TEST_SUITE(a_checkpoint_is_a_consistent_copy_that_opens_as_an_index)

namespace {

// Every record as (seq, encoded bytes): equal lists mean equal records.
std::vector<std::pair<std::uint64_t, std::string>> encoded(const HashIndex& idx)
{
    std::vector<std::pair<std::uint64_t, std::string>> out;
    for (const auto& r : test::all_records(idx))
        out.emplace_back(r.seq, r.encode());
    return out;
}

// The position of stream entry `n`, as the decider writes an item's.
index::StreamPosition at_entry(std::uint64_t n)
{
    index::StreamPosition at;
    at.entry = n;
    return at;
}

} // namespace

BOOST_AUTO_TEST_CASE(the_copy_of_a_live_index_holds_what_was_written_before_it_and_nothing_after)
{
    test::TempDir dir;
    auto idx = open_index(dir / "idx");
    // Unsynced writes too: the copy must take what is only in the log so far.
    idx.put(make_record(1, "5c1172d0", Verdict::kept), true, at_entry(2));
    idx.put(make_record(2, "5c1172d0", Verdict::duplicated), false, at_entry(3));
    idx.put(make_record(3, "0000ffff", Verdict::rejected), false, at_entry(4));
    const auto before = encoded(idx);
    const auto counts_before = as_vector(idx.counts());

    idx.checkpoint(dir / "copy");
    idx.put(make_record(4, "5c1172d0", Verdict::kept), false, at_entry(5)); // after: not in the copy

    BOOST_TEST(HashIndex::exists(dir / "copy"));
    {
        const auto copy = HashIndex::open_read_only(dir / "copy");
        BOOST_TEST(copy.applied_entry() == 4U);
        BOOST_TEST(copy.next_seq() == 4U);
        BOOST_TEST(as_vector(copy.counts()) == counts_before, boost::test_tools::per_element());
        BOOST_TEST((encoded(copy) == before));
        BOOST_TEST((copy.projection() == idx.projection()));
    }
    // Read-write, it is a normal index, its own from now on.
    auto copy = open_index(dir / "copy");
    BOOST_TEST(seqs(copy.kept_with_key(Key::from_hex("5c1172d0"))) == std::vector<std::uint64_t>({1}),
               boost::test_tools::per_element());
    copy.put(make_record(4, "0000ffff", Verdict::duplicated), true, at_entry(5));
    BOOST_TEST(copy.counts().duplicated == 2U);
    BOOST_TEST(idx.counts().kept == 2U); // the original is untouched by the copy's writes
    BOOST_TEST((idx.get(4)->verdict == Verdict::kept));
}

BOOST_AUTO_TEST_CASE(a_read_only_index_makes_a_checkpoint_too)
{
    // What `ndrd snapshot` does when no daemon holds the index.
    test::TempDir dir;
    {
        auto idx = open_index(dir / "idx");
        idx.put(make_record(1, "5c1172d0", Verdict::kept), false, at_entry(7));
    }
    const auto ro = HashIndex::open_read_only(dir / "idx");
    ro.checkpoint(dir / "copy");
    const auto copy = HashIndex::open_read_only(dir / "copy");
    BOOST_TEST(copy.applied_entry() == 7U);
    BOOST_TEST((encoded(copy) == encoded(ro)));
}

BOOST_AUTO_TEST_CASE(an_existing_directory_or_a_missing_parent_is_refused_with_its_name)
{
    test::TempDir dir;
    auto idx = open_index(dir / "idx");
    idx.put(make_record(1, "5c1172d0", Verdict::kept), false);
    std::filesystem::create_directories(dir / "taken");
    test::write_file(dir / "taken" / "keep.txt", "mine");
    const auto refused = [](const std::function<void()>& fn, const std::filesystem::path& named) {
        try {
            fn();
        } catch (const IndexError& e) {
            BOOST_TEST(std::string(e.what()).find(named.string()) != std::string::npos, e.what());
            return true;
        }
        return false;
    };
    BOOST_TEST(refused([&] { idx.checkpoint(dir / "taken"); }, dir / "taken"));
    BOOST_TEST(refused([&] { idx.checkpoint(dir / "idx"); }, dir / "idx")); // not even onto itself
    BOOST_TEST(refused([&] { idx.checkpoint(dir / "no" / "copy"); }, dir / "no"));
    BOOST_TEST(test::read_file(dir / "taken" / "keep.txt") == "mine");
    BOOST_TEST(std::distance(std::filesystem::directory_iterator(dir / "taken"), {}) == 1); // keep.txt alone
    BOOST_TEST(!std::filesystem::exists(dir / "no"));
    // The index goes on after a refusal.
    idx.checkpoint(dir / "taken" / "copy");
    BOOST_TEST(HashIndex::open_read_only(dir / "taken" / "copy").next_seq() == 2U);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(hash_index_judge)

BOOST_AUTO_TEST_CASE(judge_reproduces_decide_on_the_stored_references)
{
    test::TempDir dir;
    auto idx = open_index(dir / "idx");
    // Datumaro's h32_t0.5: chelsea__jpeg_q40 kept, chelsea.png its duplicate at 0.99362752290379175.
    const auto original = test::feature_of("chelsea__jpeg_q40.jpg");
    const auto copy = test::feature_of("chelsea.png");
    const auto key = index::compute_key(original, idx.projection());
    BOOST_TEST_REQUIRE(key.hex() == "7553306a");
    BOOST_TEST_REQUIRE(index::compute_key(copy, idx.projection()).hex() == "7553306a");
    idx.put(make_record(1, key.hex(), Verdict::kept, RouteState::done, as_floats(original)), false);

    const auto d = idx.judge(copy, key, 0.5);
    BOOST_TEST(d.duplicate);
    BOOST_TEST(d.matched_seq == 1U);
    BOOST_TEST_REQUIRE(d.best_similarity.has_value());
    BOOST_TEST(std::abs(*d.best_similarity - 0.99362752290379175) < 1e-5);

    // decide() over the same float32 candidates gives the same answer, to the bit.
    const auto stored = as_floats(original);
    const std::vector<index::KeptCandidate> cands{{1, stored, false}};
    const auto expected = index::decide(index::stored_values(copy), copy.degenerate, cands, 0.5);
    BOOST_TEST(d.duplicate == expected.duplicate);
    BOOST_TEST(d.matched_seq == expected.matched_seq);
    BOOST_TEST(*d.best_similarity == *expected.best_similarity);
}

BOOST_AUTO_TEST_CASE(key_differing_in_d_bits_is_caught_at_radius_d_and_not_below)
{
    test::TempDir dir;
    auto idx = open_index(dir / "idx");
    const auto f = unit_feature(3);
    idx.put(make_record(1, "a5a5a5a5", Verdict::kept, RouteState::done, f), false);
    index::Feature same;
    same.values.assign(f.begin(), f.end());
    // 1, 2 and 3 bits flipped, spread over the first and last bytes.
    for (const auto& [hex, d] :
         std::vector<std::pair<std::string, int>>{{"a5a5a5a4", 1}, {"25a5a5a4", 2}, {"25a5a5a0", 3}}) {
        BOOST_TEST_CONTEXT(hex << " at distance " << d)
        {
            const auto key = Key::from_hex(hex);
            for (int r = 0; r < d; ++r) {
                const auto miss = idx.judge(same, key, index::MatchRule{0.5, r, {}});
                BOOST_TEST(!miss.duplicate);
                BOOST_TEST(!miss.best_similarity.has_value()); // not even compared
            }
            const auto hit = idx.judge(same, key, index::MatchRule{0.5, d, {}});
            BOOST_TEST(hit.duplicate);
            BOOST_TEST(hit.matched_seq == 1U);
        }
    }
}

BOOST_AUTO_TEST_CASE(probing_finds_only_pairs_the_similarity_test_accepts)
{
    // A neighbour key whose item is not similar is compared, and kept apart.
    test::TempDir dir;
    auto idx = open_index(dir / "idx");
    idx.put(make_record(1, "a5a5a5a4", Verdict::kept, RouteState::done, unit_feature(3)), false);
    index::Feature other;
    other.values.assign(768, 0.0);
    other.values[4] = 1.0;
    const auto d = idx.judge(other, Key::from_hex("a5a5a5a5"), index::MatchRule{0.5, 3, {}});
    BOOST_TEST(!d.duplicate);
    BOOST_TEST_REQUIRE(d.best_similarity.has_value());
    BOOST_TEST(*d.best_similarity == 0.0);
}

BOOST_AUTO_TEST_CASE(reference_keys_follow_puts_and_survive_reopen)
{
    test::TempDir dir;
    {
        auto idx = open_index(dir / "idx");
        idx.put(make_record(1, "00000001", Verdict::kept), false);
        idx.put(make_record(2, "00000001", Verdict::kept), false);
        idx.put(make_record(3, "00000003", Verdict::duplicated), false); // no reference
        BOOST_TEST(idx.reference_keys().count(Key::from_hex("00000001")) == 2U);
        auto two = *idx.get(2);
        two.verdict = Verdict::duplicated; // e.g. an operator's mark-duplicate
        two.subset = Subset::duplicated;
        idx.put(two, true);
        BOOST_TEST(idx.reference_keys().count(Key::from_hex("00000001")) == 1U);
        BOOST_TEST(idx.reference_keys().distinct() == 1U);
    }
    auto idx = open_index(dir / "idx");
    BOOST_TEST(idx.reference_keys().count(Key::from_hex("00000001")) == 1U);
    BOOST_TEST(idx.reference_keys().count(Key::from_hex("00000003")) == 0U);
    // The item numbers are rebuilt too: lookups read the records they name.
    const auto refs = idx.reference_keys().refs_within(Key::from_hex("00000001"), 0);
    BOOST_TEST_REQUIRE(refs.size() == 1U);
    BOOST_TEST(refs[0].seq == 1U);
    auto ro = HashIndex::open_read_only(dir / "idx");
    BOOST_TEST(ro.reference_keys().distinct() == 1U);
    BOOST_TEST(seqs(ro.kept_with_key(Key::from_hex("00000001"))) == std::vector<std::uint64_t>({1}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_flipped_feature_matches_only_with_its_variant)
{
    test::TempDir dir;
    auto idx = open_index(dir / "idx");
    const auto original = test::feature_of("chelsea.png");
    const auto key = index::compute_key(original, idx.projection());
    idx.put(make_record(1, key.hex(), Verdict::kept, RouteState::done, as_floats(original)), false);
    const auto flipped = index::transformed(original, {8, 8}, index::Variant::hflip);
    const auto flipped_key = index::compute_key(flipped, idx.projection());
    const auto off = idx.judge(flipped, flipped_key, index::MatchRule{0.5, 2, {}});
    BOOST_TEST(!off.duplicate);
    const auto on =
        idx.judge(flipped, flipped_key, index::MatchRule{0.5, 2, {index::Variant::vflip, index::Variant::hflip}});
    BOOST_TEST(on.duplicate);
    BOOST_TEST(on.matched_seq == 1U);
    BOOST_TEST_REQUIRE(on.variant.has_value());
    BOOST_TEST((*on.variant == index::Variant::hflip));
    BOOST_TEST(*on.best_similarity > 0.999);
}

BOOST_AUTO_TEST_CASE(threshold_equal_to_the_similarity_is_a_duplicate)
{
    test::TempDir dir;
    auto idx = open_index(dir / "idx");
    // a = e0, b = 0.99 e0 + sqrt(1 - 0.99^2) e1: b is judged as the index
    // stores it, so dot = 0.99 rounded to float32.
    const auto a = unit_feature(0);
    idx.put(make_record(1, "abcdef01", Verdict::kept, RouteState::done, a), false);
    index::Feature b;
    b.values.assign(768, 0.0);
    b.values[0] = 0.99;
    b.values[1] = std::sqrt(1 - 0.99 * 0.99);
    const double sim = std::pow(static_cast<double>(0.99F), 50);
    const auto key = Key::from_hex("abcdef01");
    const auto at = idx.judge(b, key, sim);
    BOOST_TEST_REQUIRE(at.best_similarity.has_value());
    BOOST_TEST(*at.best_similarity == sim);
    BOOST_TEST(at.duplicate);
    BOOST_TEST(!idx.judge(b, key, std::nextafter(sim, 2.0)).duplicate);
    BOOST_TEST(idx.judge(b, key, std::nextafter(sim, 0.0)).duplicate);
}

BOOST_AUTO_TEST_CASE(negative_dot_counts_through_the_even_exponent)
{
    test::TempDir dir;
    auto idx = open_index(dir / "idx");
    idx.put(make_record(1, "ffffffff", Verdict::kept, RouteState::done, unit_feature(5)), false);
    index::Feature opposite;
    opposite.values.assign(768, 0.0);
    opposite.values[5] = -1.0;
    const auto d = idx.judge(opposite, Key::from_hex("ffffffff"), 0.5);
    BOOST_TEST(d.duplicate);
    BOOST_TEST(*d.best_similarity == 1.0);
}

BOOST_AUTO_TEST_CASE(only_kept_items_of_the_same_key_are_compared)
{
    test::TempDir dir;
    auto idx = open_index(dir / "idx");
    const auto f = unit_feature(3);
    idx.put(make_record(1, "00000001", Verdict::kept, RouteState::done, f), false);       // other key
    idx.put(make_record(2, "00000002", Verdict::duplicated, RouteState::done, f), false); // not a reference
    idx.put(make_record(3, "00000002", Verdict::kept, RouteState::vanished, f), false);   // not a reference
    idx.put(make_record(4, "00000002", Verdict::rejected, RouteState::done, f), false);   // not a reference
    index::Feature same;
    same.values.assign(f.begin(), f.end());
    const auto d = idx.judge(same, Key::from_hex("00000002"), 0.5);
    BOOST_TEST(!d.duplicate);
    BOOST_TEST(!d.best_similarity.has_value());
    BOOST_TEST(d.matched_seq == 0U);

    idx.put(make_record(5, "00000002", Verdict::kept, RouteState::done, unit_feature(4)), false);
    const auto d2 = idx.judge(same, Key::from_hex("00000002"), 0.5);
    BOOST_TEST(!d2.duplicate);
    BOOST_TEST_REQUIRE(d2.best_similarity.has_value());
    BOOST_TEST(*d2.best_similarity == 0.0);
    BOOST_TEST(d2.matched_seq == 5U);
}

BOOST_AUTO_TEST_CASE(the_earliest_of_equally_similar_references_is_matched)
{
    test::TempDir dir;
    auto idx = open_index(dir / "idx");
    const auto f = unit_feature(9);
    idx.put(make_record(8, "12345678", Verdict::kept, RouteState::done, f), false);
    idx.put(make_record(3, "12345678", Verdict::kept, RouteState::done, f), false);
    idx.put(make_record(5, "12345678", Verdict::kept, RouteState::done, unit_feature(10)), false);
    index::Feature q;
    q.values.assign(f.begin(), f.end());
    const auto d = idx.judge(q, Key::from_hex("12345678"), 0.5);
    BOOST_TEST(d.duplicate);
    BOOST_TEST(d.matched_seq == 3U);
}

BOOST_AUTO_TEST_CASE(two_degenerate_features_are_duplicates)
{
    test::TempDir dir;
    auto idx = open_index(dir / "idx");
    auto black = make_record(1, "00000000", Verdict::kept, RouteState::done, std::vector<float>(768, 0.0F));
    black.degenerate = true;
    idx.put(black, false);
    index::Feature q;
    q.values.assign(768, 0.0);
    q.degenerate = true;
    const auto d = idx.judge(q, Key::from_hex("00000000"), 0.5);
    BOOST_TEST(d.duplicate);
    BOOST_TEST(d.matched_seq == 1U);
    BOOST_TEST(*d.best_similarity == 1.0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(hash_index_digests)

// A digest that differs from `d` only in its last byte: it shares any shorter
// prefix, so a lookup must compare the whole digest.
std::string neighbour_of(std::string d)
{
    d.back() = static_cast<char>(d.back() ^ 1);
    return d;
}

BOOST_AUTO_TEST_CASE(find_by_digest_finds_the_earliest_item_with_exactly_those_bytes)
{
    test::TempDir dir;
    auto idx = open_index(dir / "idx");
    // 4000 records of ~3 KB, past one 8 MB memtable: the records the digests
    // name are read from table files as well as from memory.
    std::vector<std::string> digests;
    std::vector<ItemRecord> batch;
    for (std::uint64_t seq = 1; seq <= 4000; ++seq) {
        auto rec = make_record(seq, "5c1172d0", Verdict::duplicated);
        std::string d(16, '\0');
        for (std::size_t i = 0; i < d.size(); ++i) {
            d[i] = static_cast<char>((seq * 2654435761U) >> (i % 4 * 8U) ^ i * 31U);
        }
        if (seq % 1000 == 0) {
            d = digests[seq - 1000]; // item seq - 999's bytes again: the earlier item is the one found
        }
        rec.digest = d;
        digests.push_back(d);
        batch.push_back(std::move(rec));
        if (batch.size() == 500) {
            idx.put_batch(batch, false);
            batch.clear();
        }
    }
    for (int i = 0; i < 100 && idx.background_work_pending(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    for (const std::uint64_t seq : {1U, 2U, 999U, 1001U, 2500U, 3999U}) {
        const auto found = idx.find_by_digest(digests[seq - 1]);
        BOOST_TEST_REQUIRE(found.has_value(), "seq " << seq);
        BOOST_TEST(found->seq == seq);
        BOOST_TEST(!idx.find_by_digest(neighbour_of(digests[seq - 1])).has_value(), "neighbour of seq " << seq);
    }
    const auto repeated = idx.find_by_digest(digests[1999]); // item 2000 repeats item 1001's bytes
    BOOST_TEST_REQUIRE(repeated.has_value());
    BOOST_TEST(repeated->seq == 1001U);
    BOOST_TEST(!idx.find_by_digest(std::string(16, '\x7f')).has_value());
    BOOST_TEST(!idx.find_by_digest(digests[5].substr(0, 8)).has_value()); // a shorter digest: never a match
    BOOST_TEST(!idx.find_by_digest("").has_value());
}

BOOST_AUTO_TEST_CASE(digests_are_found_after_reopen_and_new_ones_after_it)
{
    test::TempDir dir;
    std::vector<std::string> digests;
    const auto digest_of = [](std::uint64_t seq) {
        std::string d(16, '\0');
        for (std::size_t i = 0; i < d.size(); ++i) {
            d[i] = static_cast<char>((seq * 0x9E3779B97F4A7C15ULL) >> (i % 8 * 8U) ^ i);
        }
        return d;
    };
    {
        auto idx = open_index(dir / "idx");
        std::vector<ItemRecord> batch;
        for (std::uint64_t seq = 1; seq <= 3000; ++seq) {
            auto rec = make_record(seq, "5c1172d0", seq % 3 == 0 ? Verdict::kept : Verdict::duplicated);
            rec.digest = digest_of(seq);
            batch.push_back(std::move(rec));
        }
        idx.put_batch(batch, true);
    }
    // The reopened index rebuilds its in-memory digest fingerprints from disk:
    // every stored digest must still be found, through them.
    auto idx = open_index(dir / "idx");
    for (std::uint64_t seq = 1; seq <= 3000; ++seq) {
        const auto found = idx.find_by_digest(digest_of(seq));
        BOOST_TEST_REQUIRE(found.has_value(), "seq " << seq);
        BOOST_TEST(found->seq == seq);
    }
    BOOST_TEST(!idx.find_by_digest(digest_of(3001)).has_value());
    auto rec = make_record(3001, "5c1172d0", Verdict::kept);
    rec.digest = digest_of(3001);
    idx.put(rec, false);
    const auto found = idx.find_by_digest(digest_of(3001));
    BOOST_TEST_REQUIRE(found.has_value());
    BOOST_TEST(found->seq == 3001U);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(hash_index_older_schemas)

// A closed index opened with RocksDB alone, every column family by name:
// what the tests below use to see and forge what is on disk.
class RawIndex {
public:
    RawIndex(const std::filesystem::path& dir, bool writable)
    {
        BOOST_TEST_REQUIRE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir.string(), &names_).ok());
        std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
        for (const auto& name : names_) {
            cfs.emplace_back(name, rocksdb::ColumnFamilyOptions());
        }
        rocksdb::DB* raw = nullptr;
        const auto s = writable
                           ? rocksdb::DB::Open(rocksdb::DBOptions(), dir.string(), cfs, &handles_, &raw)
                           : rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), dir.string(), cfs, &handles_, &raw);
        BOOST_TEST_REQUIRE(s.ok(), s.ToString());
        db_.reset(raw);
    }
    RawIndex(const RawIndex&) = delete;
    RawIndex& operator=(const RawIndex&) = delete;
    ~RawIndex()
    {
        for (auto* h : handles_) {
            (void)db_->DestroyColumnFamilyHandle(h);
        }
        (void)db_->Close();
    }
    [[nodiscard]] rocksdb::DB& db() { return *db_; }
    [[nodiscard]] rocksdb::ColumnFamilyHandle* cf(const std::string& name)
    {
        const auto at = std::find(names_.begin(), names_.end(), name);
        BOOST_TEST_REQUIRE((at != names_.end()), "no column family " << name);
        return handles_[static_cast<std::size_t>(at - names_.begin())];
    }

private:
    std::vector<std::string> names_;
    std::vector<rocksdb::ColumnFamilyHandle*> handles_;
    std::unique_ptr<rocksdb::DB> db_;
};

// Rewrites a closed index the way ndrd's schema 1 stored it: the reference's
// by_key entry carries a copy of the feature, and the schema tag is version 1.
void downgrade_to_schema_1(const std::filesystem::path& dir, const ItemRecord& rec)
{
    RawIndex raw(dir, true);
    index::Writer entry;
    entry.u8(rec.degenerate ? 1 : 0);
    entry.floats(rec.feature);
    std::string by_key = rec.key.bytes;
    for (int shift = 56; shift >= 0; shift -= 8) {
        by_key.push_back(static_cast<char>(rec.seq >> static_cast<unsigned>(shift)));
    }
    BOOST_TEST_REQUIRE(raw.db().Put(rocksdb::WriteOptions(), raw.cf("by_key"), by_key, entry.str()).ok());
    BOOST_TEST_REQUIRE(raw.db().Put(rocksdb::WriteOptions(), raw.cf("meta"), "schema", "ndrd-index-1").ok());
}

std::string schema_of(const std::filesystem::path& dir)
{
    RawIndex raw(dir, false);
    std::string tag;
    BOOST_TEST_REQUIRE(raw.db().Get(rocksdb::ReadOptions(), raw.cf("meta"), "schema", &tag).ok());
    return tag;
}

BOOST_AUTO_TEST_CASE(new_references_take_their_feature_from_the_item_record)
{
    test::TempDir dir;
    const auto rec = make_record(1, "72392811", Verdict::kept, RouteState::done, unit_feature(5, 0.5F));
    {
        auto idx = open_index(dir / "idx");
        idx.put(rec, false);
        const auto items = idx.kept_with_key(rec.key);
        BOOST_TEST_REQUIRE(items.size() == 1U);
        BOOST_TEST(items[0].feature == rec.feature, boost::test_tools::per_element());
    }
    BOOST_TEST(schema_of(dir / "idx") == "ndrd-index-3");
}

BOOST_AUTO_TEST_CASE(a_schema_1_index_finds_its_references_and_is_tagged_3)
{
    test::TempDir dir;
    auto rec = make_record(1, "72392811", Verdict::kept, RouteState::done, unit_feature(5, 0.5F));
    rec.degenerate = true; // read from the record, as the feature is
    {
        auto idx = open_index(dir / "idx");
        idx.put(rec, false);
    }
    downgrade_to_schema_1(dir / "idx", rec);
    BOOST_TEST(schema_of(dir / "idx") == "ndrd-index-1");

    auto ro = HashIndex::open_read_only(dir / "idx");
    const auto read_only = ro.kept_with_key(rec.key);
    BOOST_TEST_REQUIRE(read_only.size() == 1U);
    BOOST_TEST(read_only[0].feature == rec.feature, boost::test_tools::per_element());
    BOOST_TEST(read_only[0].degenerate);

    {
        auto idx = open_index(dir / "idx");
        const auto items = idx.kept_with_key(rec.key);
        BOOST_TEST_REQUIRE(items.size() == 1U);
        BOOST_TEST(items[0].feature == rec.feature, boost::test_tools::per_element());
        BOOST_TEST(idx.reference_keys().count(rec.key) == 1U);
        // Rewriting the reference stores it the schema-2 way.
        idx.put(rec, false);
        BOOST_TEST(idx.kept_with_key(rec.key).size() == 1U);
    }
    BOOST_TEST(schema_of(dir / "idx") == "ndrd-index-3");
}

// Schema 2 keyed by_digest by digest + be64(seq); schema 3 by the digest
// alone. An index of either kind, or one whose upgrade a crash cut short,
// must find the earliest item with a file's bytes, read-only or not.
BOOST_AUTO_TEST_CASE(a_schema_2_index_finds_copies_by_digest_before_and_after_its_upgrade)
{
    test::TempDir dir;
    const std::string d1(16, '\x11');
    const std::string d2(16, '\x22');
    {
        auto idx = open_index(dir / "idx");
        for (std::uint64_t seq = 1; seq <= 3; ++seq) {
            idx.put(make_record(seq, "0000000" + std::to_string(seq), Verdict::kept), false);
        }
    }
    {
        RawIndex raw(dir / "idx", true);
        auto* by_digest = raw.cf("by_digest");
        const rocksdb::WriteOptions wo;
        // Item 3 repeats item 1's bytes, written the schema-2 way; item 2's
        // entry is already a schema-3 one, as if an upgrade had begun.
        BOOST_TEST_REQUIRE(raw.db().Put(wo, by_digest, d1 + index::encode_be64(3), "").ok());
        BOOST_TEST_REQUIRE(raw.db().Put(wo, by_digest, d1 + index::encode_be64(1), "").ok());
        BOOST_TEST_REQUIRE(raw.db().Put(wo, by_digest, d2, index::encode_be64(2)).ok());
        BOOST_TEST_REQUIRE(raw.db().Put(wo, by_digest, d2 + index::encode_be64(2), "").ok());
        BOOST_TEST_REQUIRE(raw.db().Put(wo, raw.cf("meta"), "schema", "ndrd-index-2").ok());
    }
    const auto seq_of = [](const HashIndex& idx, const std::string& digest) -> std::uint64_t {
        const auto found = idx.find_by_digest(digest);
        return found ? found->seq : 0;
    };
    {
        const auto ro = HashIndex::open_read_only(dir / "idx");
        BOOST_TEST(seq_of(ro, d1) == 1U);
        BOOST_TEST(seq_of(ro, d2) == 2U);
        BOOST_TEST(seq_of(ro, std::string(16, '\x33')) == 0U);
    }
    BOOST_TEST(schema_of(dir / "idx") == "ndrd-index-2"); // a read-only open changes nothing
    {
        auto idx = open_index(dir / "idx");
        BOOST_TEST(idx.upgraded_digest_entries().value_or(0) == 3U); // the schema-2 entries
        BOOST_TEST(seq_of(idx, d1) == 1U);
        BOOST_TEST(seq_of(idx, d2) == 2U);
        auto copy = make_record(4, "00000004", Verdict::duplicated);
        copy.digest = d2;
        idx.put(copy, false);
        BOOST_TEST(seq_of(idx, d2) == 2U); // still the earliest
        auto fresh = make_record(5, "00000005", Verdict::kept);
        fresh.digest = std::string(16, '\x33');
        idx.put(fresh, false);
        BOOST_TEST(seq_of(idx, fresh.digest) == 5U);
    }
    // Read without ndrd's merge operator, as an older ndrd would: the new
    // tag, which makes it refuse the index, comes before any merge.
    BOOST_TEST(schema_of(dir / "idx") == "ndrd-index-3");
    const auto ro = HashIndex::open_read_only(dir / "idx"); // now reads schema 3's point entries
    BOOST_TEST(seq_of(ro, d1) == 1U);
    BOOST_TEST(seq_of(ro, d2) == 2U);
    BOOST_TEST(seq_of(ro, std::string(16, '\x33')) == 5U);
}

BOOST_AUTO_TEST_CASE(a_digest_upgrade_cut_short_is_finished_at_the_next_open)
{
    test::TempDir dir;
    const std::string d1(16, '\x44');
    {
        auto idx = open_index(dir / "idx");
        idx.put(make_record(1, "00000001", Verdict::kept), false);
    }
    {
        // Tagged 3 with the upgrade's marker, one entry still schema 2's.
        RawIndex raw(dir / "idx", true);
        const rocksdb::WriteOptions wo;
        BOOST_TEST_REQUIRE(raw.db().Put(wo, raw.cf("by_digest"), d1 + index::encode_be64(1), "").ok());
        BOOST_TEST_REQUIRE(raw.db().Put(wo, raw.cf("meta"), "upgrading_digest_keys", "").ok());
    }
    BOOST_TEST_REQUIRE(schema_of(dir / "idx") == "ndrd-index-3");
    {
        const auto ro = HashIndex::open_read_only(dir / "idx");
        const auto found = ro.find_by_digest(d1);
        BOOST_TEST((found && found->seq == 1U));
    }
    {
        auto idx = open_index(dir / "idx");
        BOOST_TEST(idx.upgraded_digest_entries().value_or(0) == 1U);
        const auto found = idx.find_by_digest(d1);
        BOOST_TEST((found && found->seq == 1U));
    }
    BOOST_TEST(!open_index(dir / "idx").upgraded_digest_entries().has_value()); // once only
    // No marker any more: a read-only index makes point reads, which only
    // find the entry if the upgrade rewrote it.
    const auto ro = HashIndex::open_read_only(dir / "idx");
    const auto found = ro.find_by_digest(d1);
    BOOST_TEST((found && found->seq == 1U));
}

BOOST_AUTO_TEST_CASE(compacting_gives_back_the_space_of_dropped_features)
{
    test::TempDir dir;
    auto idx = open_index(dir / "idx");
    constexpr std::uint64_t n = 400;
    std::vector<ItemRecord> recs;
    for (std::uint64_t seq = 1; seq <= n; ++seq) {
        recs.push_back(make_record(seq, "0000abcd", Verdict::duplicated));
    }
    idx.put_batch(recs, true);
    BOOST_TEST(idx.compact()); // the features on disk, in tables
    const std::uint64_t with_features = idx.disk_bytes();
    for (auto& r : recs) { // what retention writes: expired, no feature
        r.state = RouteState::expired;
        r.feature.clear();
        r.expired_ms = 1;
    }
    idx.put_batch(recs, true);
    BOOST_TEST(idx.counts().expired == n);
    BOOST_TEST(idx.compact());
    const std::uint64_t without = idx.disk_bytes();
    BOOST_TEST(without + n * 768 * sizeof(float) / 2 < with_features, without << " vs " << with_features);
    BOOST_TEST(idx.get(7)->feature.empty());
    BOOST_TEST(idx.get(7)->expired_ms == 1);

    std::atomic<bool> cancel{true};
    (void)idx.compact(&cancel); // stopped at once or finished: either way no error
    auto ro = HashIndex::open_read_only(dir / "idx");
    // A read-only index cannot be compacted, and says so.
    BOOST_CHECK_THROW((void)ro.compact(), IndexError);
}

BOOST_AUTO_TEST_CASE(a_scan_reads_a_bounded_window_from_an_item_on)
{
    test::TempDir dir;
    auto idx = open_index(dir / "idx");
    for (std::uint64_t seq = 1; seq <= 10; ++seq) {
        idx.put(make_record(seq, "00000001", Verdict::duplicated), false);
    }
    const auto window = idx.scan(4, 3);
    BOOST_TEST_REQUIRE(window.size() == 3U);
    BOOST_TEST(window.front().seq == 4U);
    BOOST_TEST(window.back().seq == 6U);
    BOOST_TEST(idx.scan(9, 100).size() == 2U);
    BOOST_TEST(idx.scan(11, 100).empty());
}

BOOST_AUTO_TEST_CASE(the_recent_control_entries_come_oldest_first_with_their_numbers)
{
    test::TempDir dir;
    auto idx = open_index(dir / "idx");
    const index::EntryBody first = index::VanishedItem{1};
    const index::EntryBody second = index::ExpireItems{{2, 3}, 99};
    idx.put(make_record(1, "00000001", Verdict::duplicated), true, {1, nullptr, {}});
    idx.put_batch({}, true, {2, &first, {}});
    idx.put_batch({}, true, {3, &second, {}});
    const auto last = idx.recent_control_entries(1);
    BOOST_TEST_REQUIRE(last.size() == 1U);
    BOOST_TEST(last.front().seq == 3U);
    BOOST_TEST((std::get<index::ExpireItems>(last.front().body) == std::get<index::ExpireItems>(second)));
    const auto both = idx.recent_control_entries(10);
    BOOST_TEST_REQUIRE(both.size() == 2U);
    BOOST_TEST(both.front().seq == 2U);
    BOOST_TEST(std::holds_alternative<index::VanishedItem>(both.front().body));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(hash_index_free_space)

BOOST_AUTO_TEST_CASE(a_write_below_the_free_space_reserve_fails_and_changes_nothing)
{
    test::TempDir dir;
    auto idx = open_index(dir / "idx");
    idx.put(make_record(1, "00000001", Verdict::kept), true);
    const auto before = as_vector(idx.counts());
    // No file system has an exabyte free: every write is refused.
    idx.set_min_free_space(1ULL << 60);
    BOOST_CHECK_THROW(idx.put(make_record(2, "00000001", Verdict::kept), true), index::IndexWriteError);
    BOOST_TEST(as_vector(idx.counts()) == before);
    BOOST_TEST(idx.next_seq() == 2U);
    BOOST_TEST(!idx.get(2).has_value());
    BOOST_TEST(seqs(idx.kept_with_key(Key::from_hex("00000001"))) == std::vector<std::uint64_t>{1});
    const auto problem = HashIndex::space_problem(dir / "idx", 1ULL << 60);
    BOOST_TEST_REQUIRE(problem.has_value());
    BOOST_TEST(problem->find("index_min_free") != std::string::npos, *problem);

    // With the reserve met again, the same write goes through.
    idx.set_min_free_space(1);
    BOOST_TEST(idx.resume());
    idx.put(make_record(2, "00000001", Verdict::kept), true);
    BOOST_TEST(seqs(idx.kept_with_key(Key::from_hex("00000001"))) == (std::vector<std::uint64_t>{1, 2}));
}

BOOST_AUTO_TEST_CASE(free_space_of_a_directory_not_yet_created_is_read_from_its_parent)
{
    test::TempDir dir;
    BOOST_TEST(!HashIndex::space_problem(dir / "not" / "yet" / "there", 1).has_value());
    BOOST_TEST(HashIndex::space_problem(dir / "not" / "yet" / "there", 1ULL << 60).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
