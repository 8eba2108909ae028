// Retention on real files and a real index: a step deletes exactly the
// duplicated and rejected files that are due, journaled as an expire entry
// first; the working subset, cut references and another item's file stay;
// files of items expired before a crash are deleted on recovery, once.
#define BOOST_TEST_MODULE retention
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <thread>

#include "daemon/route/decisions.hpp"
#include "daemon/route/retention.hpp"
#include "index_fixtures.hpp"
#include "route_fixtures.hpp"

using namespace ndrd;
using daemon::Retention;
using daemon::RetentionBatch;
using index::RouteState;
using index::Subset;
using index::Verdict;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t hour_ms = std::int64_t{3600} * 1000;

config::RetentionParams ages(std::optional<std::chrono::seconds> duplicated,
                             std::optional<std::chrono::seconds> rejected)
{
    config::RetentionParams p;
    p.duplicated = duplicated;
    p.rejected = rejected;
    return p;
}

// An item settled at <area>/<name> now, `later_ms` from now by its record
// (its routed_ms). Retention's clock is then moved on rather than the
// records' put back: a file's own change time must precede its expiry.
index::ItemRecord settle(test::Deployment& d, std::uint64_t seq, Verdict verdict, std::int64_t later_ms = 0,
                         std::optional<Subset> subset = std::nullopt)
{
    auto rec = test::make_record(seq, "0000000" + std::to_string(seq % 10), verdict);
    rec.source = "item_" + std::to_string(seq) + ".jpg";
    if (subset) rec.subset = *subset;
    if (verdict == Verdict::rejected) {
        rec.feature.clear();
        rec.reason = "not a decodable image";
    }
    rec.routed_ms = index::unix_ms_now() + later_ms;
    return d.add_settled(rec);
}

bool on_disk(const test::Deployment& d, const index::ItemRecord& rec)
{
    std::error_code ec;
    return fs::exists(d.output() / rec.location, ec);
}

struct Fixture {
    test::Deployment d;
    daemon::Decisions decisions{d.index(), d.relocator()};

    Retention retention(const config::RetentionParams& p)
    {
        return {d.index(), d.router(), d.relocator().areas(), decisions, p};
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(retention)

BOOST_FIXTURE_TEST_CASE(a_step_deletes_the_due_duplicated_and_rejected_files_only, Fixture)
{
    const auto kept = settle(d, 1, Verdict::kept);
    const auto old_dup = settle(d, 2, Verdict::duplicated);
    const auto old_rej = settle(d, 3, Verdict::rejected);
    const auto young_dup = settle(d, 4, Verdict::duplicated, 9 * hour_ms);
    const auto cut = settle(d, 5, Verdict::kept, 0, Subset::duplicated); // a reference still
    const auto restored = settle(d, 6, Verdict::duplicated, 0, Subset::working);
    const auto kept_bytes = test::read_file(d.output() / kept.location);

    auto r = retention(ages(1h, 1h));
    const auto now = index::unix_ms_now() + 2 * hour_ms;
    const RetentionBatch b = r.step(now);
    BOOST_TEST(b.expired == 2U);
    BOOST_TEST(b.duplicated == 1U);
    BOOST_TEST(b.rejected == 1U);
    BOOST_TEST(b.bytes == old_dup.size + old_rej.size);
    BOOST_TEST(!b.more);
    BOOST_TEST(b.wrapped);
    BOOST_TEST(!on_disk(d, old_dup));
    BOOST_TEST(!on_disk(d, old_rej));
    for (const auto& stays : {kept, young_dup, cut, restored}) {
        BOOST_TEST(on_disk(d, stays), stays.location);
        BOOST_TEST((d.index().get(stays.seq)->state == RouteState::done), stays.location);
    }
    BOOST_TEST(test::read_file(d.output() / kept.location) == kept_bytes);

    // Journaled: the records stay, expired, without their features; the
    // counts say so.
    for (const auto& gone : {old_dup, old_rej}) {
        const auto rec = d.index().get(gone.seq).value();
        BOOST_TEST((rec.state == RouteState::expired));
        BOOST_TEST(rec.feature.empty());
        BOOST_TEST(rec.expired_ms > 0);
        BOOST_TEST(rec.location == gone.location);
    }
    const auto& c = d.index().counts();
    BOOST_TEST(c.expired == 2U);
    BOOST_TEST(c.in_duplicated == 2U); // the young duplicate and the cut reference
    BOOST_TEST(c.in_rejected == 0U);
    BOOST_TEST(c.duplicated == 3U); // decisions stand
    BOOST_TEST(d.index().recent_control_entries(1).size() == 1U);

    // The young duplicate, once its hour has passed.
    const RetentionBatch later = r.step(now + 9 * hour_ms);
    BOOST_TEST(later.duplicated == 1U);
    BOOST_TEST(!on_disk(d, young_dup));
    BOOST_TEST(on_disk(d, cut));
    BOOST_TEST(on_disk(d, restored));
    BOOST_TEST(on_disk(d, kept));
}

BOOST_FIXTURE_TEST_CASE(each_area_has_its_own_age_and_null_keeps_files, Fixture)
{
    const auto dup = settle(d, 1, Verdict::duplicated);
    const auto rej = settle(d, 2, Verdict::rejected);
    const auto now = index::unix_ms_now() + 2 * hour_ms;
    auto r = retention(ages(std::nullopt, 3h));
    BOOST_TEST(r.step(now).expired == 0U);
    r.set_params(ages(std::nullopt, 1h));
    const auto b = r.step(now);
    BOOST_TEST(b.rejected == 1U);
    BOOST_TEST(b.duplicated == 0U);
    BOOST_TEST(on_disk(d, dup));
    BOOST_TEST(!on_disk(d, rej));
    r.set_params({});
    BOOST_TEST(r.step(now + 100 * hour_ms).expired == 0U);
    BOOST_TEST(on_disk(d, dup));
}

BOOST_FIXTURE_TEST_CASE(many_due_files_go_in_batches, Fixture)
{
    const std::uint64_t n = Retention::batch_items + 6;
    for (std::uint64_t seq = 1; seq <= n; ++seq) {
        (void)settle(d, seq, Verdict::duplicated);
    }
    auto r = retention(ages(1h, std::nullopt));
    const auto now = index::unix_ms_now() + 2 * hour_ms;
    const auto first = r.step(now);
    BOOST_TEST(first.expired == Retention::batch_items);
    BOOST_TEST(first.more);
    const auto second = r.step(now);
    BOOST_TEST(second.expired == 6U);
    BOOST_TEST(!second.more);
    BOOST_TEST(d.index().counts().expired == n);
    BOOST_TEST(test::files_under(d.area(Subset::duplicated)).empty());
}

BOOST_FIXTURE_TEST_CASE(a_quiet_sweep_rests_until_the_next_file_falls_due, Fixture)
{
    const auto young = settle(d, 1, Verdict::duplicated);
    auto r = retention(ages(1h, std::nullopt));
    const auto now = index::unix_ms_now();
    BOOST_TEST(r.step(now).wrapped);
    // Resting: nothing is read, and nothing is missed once the file is due.
    BOOST_TEST(!r.step(now + 1000).wrapped);
    const auto due = r.step(now + hour_ms + 1000);
    BOOST_TEST(due.duplicated == 1U);
    BOOST_TEST(!on_disk(d, young));
}

BOOST_FIXTURE_TEST_CASE(a_file_that_is_not_the_items_is_not_deleted, Fixture)
{
    const auto dup = settle(d, 1, Verdict::duplicated);
    // Something else now has the name (another inode, other bytes).
    fs::remove(d.output() / dup.location);
    test::write_file(d.output() / dup.location, "an operator's own file");
    auto r = retention(ages(1h, std::nullopt));
    const auto b = r.step(index::unix_ms_now() + 2 * hour_ms);
    BOOST_TEST(b.expired == 1U); // the item's record is expired: its file is gone
    BOOST_TEST(b.files() == 0U);
    BOOST_TEST(test::read_file(d.output() / dup.location) == "an operator's own file");
}

BOOST_FIXTURE_TEST_CASE(recovery_deletes_the_files_of_items_expired_before_a_crash, Fixture)
{
    const auto dup = settle(d, 1, Verdict::duplicated);
    const auto rej = settle(d, 2, Verdict::rejected);
    const auto kept = settle(d, 3, Verdict::kept);
    // The entry is durable, then the process dies before deleting anything.
    const auto applied = decisions.submit(index::ExpireItems{{1, 2, 3}, index::unix_ms_now() + 2 * hour_ms});
    BOOST_TEST(applied.records.size() == 2U);
    BOOST_TEST(on_disk(d, dup));
    BOOST_TEST(on_disk(d, rej));

    auto r = retention(ages(std::nullopt, std::nullopt)); // turned off since: the records still say expired
    const auto b = r.recover();
    BOOST_TEST(b.files() == 2U);
    BOOST_TEST(!on_disk(d, dup));
    BOOST_TEST(!on_disk(d, rej));
    BOOST_TEST(on_disk(d, kept));
    // Again: nothing left to do, nothing fails.
    BOOST_TEST(r.recover().files() == 0U);
}

BOOST_FIXTURE_TEST_CASE(a_later_file_under_an_expired_items_name_is_left_alone, Fixture)
{
    const auto dup = settle(d, 1, Verdict::duplicated, -2 * hour_ms);
    auto r = retention(ages(1h, std::nullopt));
    std::this_thread::sleep_for(700ms); // the file's change time, on the real clock, before its expiry
    BOOST_TEST(r.step(index::unix_ms_now()).duplicated == 1U);
    // A new item routed to the freed name (a byte-identical re-import under
    // the same name; its inode may even be the one freed).
    auto again = test::make_record(2, "00000002", Verdict::duplicated);
    again.source = dup.source;
    again.routed_ms = index::unix_ms_now();
    again = d.add_settled(again);
    BOOST_TEST(again.location == dup.location);
    BOOST_TEST(r.recover().files() == 0U);
    r.set_params(ages(1h, std::nullopt)); // no rest: the sweep reads item 1 again
    BOOST_TEST(r.step(index::unix_ms_now()).files() == 0U);
    BOOST_TEST(on_disk(d, again));
}

BOOST_AUTO_TEST_SUITE_END()
