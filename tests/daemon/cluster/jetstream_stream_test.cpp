// The decision stream shared on a real nats-server: replicas of two hosts
// reach the decisions one host reaches applying the stream in order; an
// append repeated after a crash is applied once; an index built otherwise,
// a single host's index, or one behind a trimmed stream is refused with the
// way out named; a replica made from a snapshot joins a trimmed stream.
#define BOOST_TEST_MODULE jetstream_stream
#include <boost/test/unit_test.hpp>

#include <memory>
#include <string>
#include <vector>

#include "daemon/cluster/jetstream_stream.hpp"
#include "daemon/route/decisions.hpp"
#include "daemon/route/router.hpp"
#include "index_fixtures.hpp"
#include "log_options.hpp"
#include "nats_server.hpp"
#include "reference_data.hpp"
#include "test_support.hpp"

using namespace ndrd;
namespace fs = std::filesystem;
namespace utf = boost::unit_test;

namespace {

const daemon::Areas areas{"train", "duplicated", "rejected"};

daemon::JetStreamLogOptions options_for(const e2e::NatsServer& server)
{
    return test::log_options({server.url()});
}

// One host of a cluster: its index (a replica) and its way into the stream.
struct Replica {
    test::TempDir tmp;
    index::HashIndex index;
    daemon::Router router{tmp / "ingest", tmp / "output"};
    daemon::Relocator relocator{index, router, areas};
    daemon::Decisions decisions;

    Replica(const e2e::NatsServer& server, const std::string& instance, const fs::path& index_dir = {})
        : index(index_dir.empty() ? test::open_index(tmp / "index") : test::open_index(index_dir)),
          decisions(index, relocator, index::Rules{},
                    std::make_unique<daemon::JetStreamStream>(daemon::JetStreamLog(options_for(server)), index),
                    instance)
    {
    }
};

index::HashedItem hashed(const std::string& name, const index::Projection& projection)
{
    index::ItemRecord rec;
    test::hash_reference_image(rec, name, projection);
    index::HashedItem h;
    h.digest = std::string(16, static_cast<char>(name.size())) + name; // distinct per name, not the bytes'
    h.key = rec.key;
    h.feature = rec.feature;
    h.size = 1000;
    h.source = name;
    return h;
}

// What every replica must agree on for an item (host facts aside).
struct Decided {
    std::uint64_t seq;
    std::string source;
    std::string origin;
    index::Verdict verdict;
    index::Subset subset;
    std::uint64_t matched;
    std::optional<double> similarity;
    friend bool operator==(const Decided&, const Decided&) = default;
};

std::vector<Decided> decisions_of(const index::HashIndex& idx, bool with_origin = true)
{
    std::vector<Decided> out;
    for (const auto& r : test::all_records(idx)) {
        out.push_back({r.seq, r.source, with_origin ? r.origin : std::string(), r.verdict, r.subset, r.matched_seq,
                       r.best_similarity});
    }
    return out;
}

template <class F> std::string message_of(F&& f)
{
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "(nothing thrown)";
}

} // namespace

BOOST_AUTO_TEST_SUITE(jetstream_stream, *utf::precondition(e2e::nats_server_installed))

BOOST_AUTO_TEST_CASE(replicas_of_two_hosts_decide_as_one_host_applying_the_stream_in_order)
{
    test::TempDir dir;
    e2e::NatsServer server(dir.path() / "nats");
    Replica a(server, "host-a");
    Replica b(server, "host-b");
    const auto names = test::reference_image_names();
    for (std::size_t i = 0; i < names.size(); ++i) {
        Replica& host = i % 2 == 0 ? a : b;
        const auto applied = host.decisions.submit(hashed(names[i], host.index.projection()));
        BOOST_TEST_REQUIRE(applied.records.size() == 1U);
        BOOST_TEST(applied.records.front().origin == (i % 2 == 0 ? "host-a" : "host-b"));
    }
    (void)a.decisions.catch_up();
    (void)b.decisions.catch_up();
    BOOST_TEST(a.index.applied_entry() == b.index.applied_entry());
    BOOST_TEST(a.index.applied_entry() == names.size() + 1); // the header, then one entry an image
    const auto on_a = decisions_of(a.index);
    BOOST_TEST_REQUIRE(on_a.size() == names.size());
    BOOST_TEST((on_a == decisions_of(b.index)));
    std::size_t duplicates = 0;
    for (const auto& d : on_a) {
        duplicates += d.verdict == index::Verdict::duplicated ? 1 : 0;
    }
    BOOST_TEST(duplicates > 10U); // the reference set is made of near-duplicate families

    // One host applying the stream's entries in order, in process.
    test::TempDir single_dir;
    index::HashIndex single = test::open_index(single_dir / "index");
    daemon::Router router(single_dir / "ingest", single_dir / "output");
    daemon::Relocator relocator(single, router, areas);
    daemon::Decider decider(single, relocator, index::Rules{});
    daemon::InProcessStream in_process(single);
    in_process.subscribe([&](const index::Entry& e) { decider.apply(e); }, {});
    daemon::JetStreamLog log(options_for(server));
    for (std::uint64_t seq = 2; seq <= log.last_sequence(); ++seq) {
        (void)in_process.append(index::decode_entry(log.read(seq).value()), {});
    }
    BOOST_TEST((decisions_of(single, false) == decisions_of(a.index, false)));
}

BOOST_AUTO_TEST_CASE(an_append_repeated_after_a_crash_is_applied_once)
{
    test::TempDir dir;
    e2e::NatsServer server(dir.path() / "nats");
    Replica a(server, "host-a");
    const auto first = a.decisions.submit(hashed("coins.png", a.index.projection()), std::nullopt, "host-a/coins");
    BOOST_TEST(first.records.size() == 1U);
    const auto again = a.decisions.submit(hashed("coins.png", a.index.projection()), std::nullopt, "host-a/coins");
    BOOST_TEST(again.entry == first.entry);
    BOOST_TEST(again.records.empty());
    BOOST_TEST(a.index.next_seq() == 2U);

    // Made from the entry and the file's facts, the id is the same for the
    // same file, and differs for a new file under the same name.
    const daemon::HostFacts facts{1, 2, 3};
    const auto x = a.decisions.submit(hashed("astronaut.png", a.index.projection()), facts);
    const auto y = a.decisions.submit(hashed("astronaut.png", a.index.projection()), facts);
    const auto z = a.decisions.submit(hashed("astronaut.png", a.index.projection()), daemon::HostFacts{1, 9, 3});
    BOOST_TEST(y.entry == x.entry);
    BOOST_TEST(z.entry == x.entry + 1);
}

BOOST_AUTO_TEST_CASE(a_file_gone_on_one_host_stops_being_a_reference_on_every_replica_at_once)
{
    test::TempDir dir;
    e2e::NatsServer server(dir.path() / "nats");
    Replica a(server, "host-a");
    Replica b(server, "host-b");
    (void)a.decisions.submit(hashed("chelsea.png", a.index.projection()));
    const auto gone = a.decisions.submit(index::VanishedItem{1});
    BOOST_TEST(gone.records.size() == 1U);
    // Decided on b after the vanished entry: nothing left to match.
    const auto near = b.decisions.submit(hashed("chelsea__jpeg_q95.jpg", b.index.projection()));
    BOOST_TEST_REQUIRE(near.records.size() == 1U);
    BOOST_TEST((near.records.front().verdict == index::Verdict::kept));
    (void)a.decisions.catch_up();
    for (const Replica* r : {&a, &b}) {
        BOOST_TEST((r->index.get(1)->state == index::RouteState::vanished));
    }
    BOOST_TEST((decisions_of(a.index) == decisions_of(b.index)));
}

BOOST_AUTO_TEST_CASE(an_expire_entry_expires_the_items_on_every_replica)
{
    test::TempDir dir;
    e2e::NatsServer server(dir.path() / "nats");
    Replica a(server, "host-a");
    Replica b(server, "host-b");
    (void)a.decisions.submit(hashed("chelsea.png", a.index.projection()));
    (void)a.decisions.submit(hashed("chelsea__jpeg_q95.jpg", a.index.projection())); // item 2, a duplicate
    const auto expired = a.decisions.submit(index::ExpireItems{{1, 2}, 1234});       // the kept item is no candidate
    BOOST_TEST_REQUIRE(expired.records.size() == 1U);
    BOOST_TEST(expired.records.front().seq == 2U);
    (void)b.decisions.catch_up();
    for (const Replica* r : {&a, &b}) {
        const auto rec = r->index.get(2).value();
        BOOST_TEST((rec.state == index::RouteState::expired));
        BOOST_TEST(rec.feature.empty());
        BOOST_TEST(rec.expired_ms == 1234);
        BOOST_TEST(r->index.counts().expired == 1U);
    }
    BOOST_TEST((decisions_of(a.index) == decisions_of(b.index)));
}

BOOST_AUTO_TEST_CASE(an_index_of_other_parameters_or_of_a_single_host_is_refused)
{
    test::TempDir dir;
    e2e::NatsServer server(dir.path() / "nats");
    Replica a(server, "host-a");
    (void)a.decisions.submit(hashed("coins.png", a.index.projection()));

    test::TempDir other_dir;
    index::IndexParams params = test::default_params();
    params.hash_dim = 16;
    auto other =
        index::HashIndex::open(other_dir / "index", params, [] { return index::Projection::generate(7, 768, 16); });
    const std::string mismatch =
        message_of([&] { daemon::JetStreamStream s(daemon::JetStreamLog(options_for(server)), other); });
    BOOST_TEST(mismatch.find("hash_dim=16") != std::string::npos, mismatch);
    BOOST_TEST(mismatch.find("hash_dim=32") != std::string::npos, mismatch);
    BOOST_CHECK_THROW(daemon::JetStreamStream(daemon::JetStreamLog(options_for(server)), other),
                      daemon::StreamMismatch);

    test::TempDir single_dir;
    auto single = test::open_index(single_dir / "index");
    daemon::Router router(single_dir / "ingest", single_dir / "output");
    daemon::Relocator relocator(single, router, areas);
    daemon::Decisions alone(single, relocator);
    (void)alone.submit(hashed("coins.png", single.projection()));
    const std::string lone =
        message_of([&] { daemon::JetStreamStream s(daemon::JetStreamLog(options_for(server)), single); });
    BOOST_TEST(lone.find("single host") != std::string::npos, lone);
}

BOOST_AUTO_TEST_CASE(behind_a_trimmed_stream_a_replica_starts_from_a_snapshot_and_converges)
{
    test::TempDir dir;
    e2e::NatsServer server(dir.path() / "nats");
    Replica a(server, "host-a");
    const auto names = test::reference_image_names();
    const std::size_t half = names.size() / 2;
    for (std::size_t i = 0; i < half; ++i) {
        (void)a.decisions.submit(hashed(names[i], a.index.projection()));
    }
    a.index.checkpoint(dir.path() / "snapshot");
    for (std::size_t i = half; i < names.size(); ++i) {
        (void)a.decisions.submit(hashed(names[i], a.index.projection()));
    }
    daemon::JetStreamLog log(options_for(server));
    log.trim_before(half + 1); // the snapshot applied up to entry half + 1

    test::TempDir fresh_dir;
    auto fresh = test::open_index(fresh_dir / "index");
    const std::string behind =
        message_of([&] { daemon::JetStreamStream s(daemon::JetStreamLog(options_for(server)), fresh); });
    BOOST_TEST(behind.find("ndrd snapshot") != std::string::npos, behind);
    BOOST_TEST(behind.find("retention") != std::string::npos, behind);

    Replica joined(server, "host-d", dir.path() / "snapshot");
    BOOST_TEST(joined.index.applied_entry() == half + 1);
    (void)joined.decisions.catch_up();
    BOOST_TEST(joined.index.applied_entry() == a.index.applied_entry());
    BOOST_TEST((decisions_of(joined.index) == decisions_of(a.index)));
}

BOOST_AUTO_TEST_SUITE_END()
