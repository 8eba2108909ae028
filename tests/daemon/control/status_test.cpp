// What `ndrd status` reports, against a real index: the counts are the
// index's, the parameters the configuration's, and a running daemon's live
// figures appear only when there is one.
#define BOOST_TEST_MODULE status
#include <boost/test/unit_test.hpp>

#include <sstream>

#include "daemon/control/status.hpp"
#include "daemon/route/overrides.hpp"
#include "daemon/route/rebalancer.hpp"
#include "daemon/telemetry/json.hpp"
#include "index_fixtures.hpp"
#include "route_fixtures.hpp"

using namespace ndrd;
using daemon::Json;
using index::RouteState;
using index::Verdict;

namespace {

// Three kept items, two duplicates and a rejected file; a rebalance to two
// working items and a release; then a vanished item and a move still planned.
void populate(test::Deployment& d)
{
    const std::vector<Verdict> verdicts{Verdict::kept,       Verdict::kept,       Verdict::kept,
                                        Verdict::duplicated, Verdict::duplicated, Verdict::rejected};
    std::uint64_t seq = 0;
    for (const auto verdict : verdicts) {
        ++seq;
        auto rec = test::make_record(seq, verdict == Verdict::rejected ? "" : "0000000" + std::to_string(seq), verdict);
        rec.source = "item_" + std::to_string(seq) + ".jpg";
        d.add_settled(rec);
    }
    daemon::Rebalancer rebalancer(d.index(), d.relocator(), {2});
    (void)rebalancer.run();
    daemon::apply_override(d.index(), d.relocator(), index::Override::released, 4);
    auto gone = test::make_record(++seq, "00000007", Verdict::kept, RouteState::vanished);
    d.index().put(gone, true);
    auto moving = test::make_record(++seq, "00000008", Verdict::kept, RouteState::planned);
    moving.source = "moving.jpg";
    d.add_planned(moving, "on its way");
}

Json status_of(test::Deployment& d, const daemon::LiveStatus* live = nullptr)
{
    return daemon::status_json(d.index(), d.config(), live);
}

} // namespace

BOOST_AUTO_TEST_SUITE(status)

BOOST_AUTO_TEST_CASE(counts_are_the_indexs_counts)
{
    test::Deployment d;
    populate(d);
    const auto& c = d.index().counts();

    const Json s = status_of(d);

    BOOST_TEST(s.at("ok").get<bool>());
    BOOST_TEST(s.at("items").get<std::uint64_t>() == 8U);
    const std::vector<std::pair<const char*, std::uint64_t>> expected{{"kept", c.kept},
                                                                      {"duplicated", c.duplicated},
                                                                      {"rejected", c.rejected},
                                                                      {"vanished", c.vanished},
                                                                      {"cut", c.cut},
                                                                      {"restored", c.restored},
                                                                      {"released", c.released},
                                                                      {"marked_duplicate", c.marked_duplicate},
                                                                      {"pending_moves", c.planned},
                                                                      {"in_working", c.in_working},
                                                                      {"in_duplicated", c.in_duplicated},
                                                                      {"in_rejected", c.in_rejected}};
    for (const auto& [field, value] : expected) {
        BOOST_TEST(s.at(field).get<std::uint64_t>() == value, field);
    }
    // And the index's counts are what happened above.
    BOOST_TEST(c.vanished == 1U);
    BOOST_TEST(c.planned == 1U);
    BOOST_TEST(c.released == 1U);
    BOOST_TEST(c.rejected == 1U);
    BOOST_TEST(c.in_rejected == 1U);
    BOOST_TEST(c.cut == 1U);
}

BOOST_AUTO_TEST_CASE(parameters_come_from_the_index_and_the_configuration)
{
    test::Deployment d;
    auto cfg = d.config();
    cfg.num_cut = 40;
    cfg.gradient.sim_threshold = 0.75;

    const Json s = daemon::status_json(d.index(), cfg, nullptr);

    BOOST_TEST(s.at("index_dir").get<std::string>() == cfg.index_dir.string());
    BOOST_TEST(s.at("index_bytes").get<std::uint64_t>() > 0U);
    BOOST_TEST(s.at("algorithm").get<std::string>() == "gradient");
    BOOST_TEST(s.at("block_shape") == Json::array({8, 8}));
    BOOST_TEST(s.at("hash_dim").get<int>() == 32);
    BOOST_TEST(s.at("exif_orientation").get<std::string>() == "ignore");
    BOOST_TEST(s.at("sim_threshold").get<double>() == 0.75);
    BOOST_TEST(s.at("num_cut").get<std::uint64_t>() == 40U);
    BOOST_TEST(s.at("working_subset").get<std::string>() == "train");
    BOOST_TEST(s.at("duplicated_subset").get<std::string>() == "duplicated");
    BOOST_TEST(status_of(d).at("num_cut").is_null());
}

BOOST_AUTO_TEST_CASE(live_figures_appear_only_for_a_running_daemon)
{
    test::Deployment d;
    daemon::LiveStatus live;
    live.queue_depth = 5;
    live.uptime_seconds = 12.5;
    live.last_rebalance = "working subset 3 -> 2";
    live.paused = true;
    live.stuck_moves = 2;
    live.files_per_second = 1.5;
    live.latency_p50_seconds = 0.25;

    const Json running = status_of(d, &live);
    const Json stopped = status_of(d);

    BOOST_TEST(running.at("daemon").get<bool>());
    BOOST_TEST(running.at("queue_depth").get<std::uint64_t>() == 5U);
    BOOST_TEST(running.at("uptime_seconds").get<double>() == 12.5);
    BOOST_TEST(running.at("last_rebalance").get<std::string>() == live.last_rebalance);
    BOOST_TEST(running.at("paused").get<bool>());
    BOOST_TEST(running.at("stuck_moves").get<std::uint64_t>() == 2U);
    BOOST_TEST(running.at("files_per_second").get<double>() == 1.5);
    BOOST_TEST(running.at("latency_p50_seconds").get<double>() == 0.25);
    BOOST_TEST(running.at("latency_p99_seconds").is_null());
    BOOST_TEST(!stopped.at("daemon").get<bool>());
    for (const char* field : {"queue_depth", "uptime_seconds", "paused", "stuck_moves", "files_per_second"}) {
        BOOST_TEST(!stopped.contains(field), field);
    }
}

BOOST_AUTO_TEST_CASE(the_rendering_for_people_shows_the_same_counts)
{
    test::Deployment d;
    populate(d);
    const auto& c = d.index().counts();

    const std::string text = daemon::format_status(daemon::status_json(d.index(), d.config(), nullptr));

    // The line that starts with `label`, or "" when there is none.
    const auto line = [&](const std::string& label) {
        std::istringstream in(text);
        for (std::string l; std::getline(in, l);) {
            if (l.starts_with(label)) return l;
        }
        return std::string();
    };
    BOOST_TEST(line("daemon:").find("not running") != std::string::npos, text);
    BOOST_TEST(line("items:").find(" 8") != std::string::npos, text);
    const auto decisions = line("decisions:");
    BOOST_TEST(decisions.find(std::to_string(c.kept) + " kept") != std::string::npos, text);
    BOOST_TEST(decisions.find(std::to_string(c.duplicated) + " duplicated") != std::string::npos, text);
    BOOST_TEST(decisions.find(std::to_string(c.vanished) + " vanished") != std::string::npos, text);
    BOOST_TEST(line("pending moves:").find(std::to_string(c.planned)) != std::string::npos, text);
}

BOOST_AUTO_TEST_CASE(expired_items_retention_and_the_size_per_item_are_shown)
{
    test::Deployment d;
    populate(d);
    d.index().put(d.index().get(5).value(), true); // a rewrite changes no count
    auto expired = d.index().get(5).value();
    expired.state = RouteState::expired;
    expired.feature.clear();
    expired.expired_ms = 1;
    d.index().put(expired, true);
    auto cfg = d.config();
    cfg.retention.duplicated = std::chrono::hours(24 * 30);

    const Json s = daemon::status_json(d.index(), cfg, nullptr);
    BOOST_TEST(s.at("expired").get<std::uint64_t>() == 1U);
    BOOST_TEST(s.at("replaced").get<std::uint64_t>() == 0U);
    BOOST_TEST(s.at("retention_duplicated").get<std::uint64_t>() == 30U * 86400U);
    BOOST_TEST(s.at("retention_rejected").is_null());
    BOOST_TEST(s.at("index_bytes_per_item").get<std::uint64_t>() == s.at("index_bytes").get<std::uint64_t>() / 8U);

    daemon::LiveStatus live;
    live.retention_deleted_files = 3;
    live.retention_freed_bytes = 5U << 20U;
    const std::string text = daemon::format_status(daemon::status_json(d.index(), cfg, &live));
    BOOST_TEST(text.find("1 expired") != std::string::npos, text);
    BOOST_TEST(text.find("duplicated after 30d, rejected kept forever") != std::string::npos, text);
    BOOST_TEST(text.find("bytes per item") != std::string::npos, text);
    BOOST_TEST(text.find("retention deleted 3 file(s), 5 MiB") != std::string::npos, text);
}

BOOST_AUTO_TEST_SUITE_END()
