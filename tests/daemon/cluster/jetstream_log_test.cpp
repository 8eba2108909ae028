// The shared decision log on a real nats-server (JetStream, loopback): two
// hosts' appends get one order that both read back; a publish repeated with
// the same message id is stored once; what was acknowledged survives the
// server being killed; an unreachable server is named in the error.
#define BOOST_TEST_MODULE jetstream_log
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "daemon/cluster/jetstream_log.hpp"
#include "index/hash/entry.hpp"
#include "log_options.hpp"
#include "nats_server.hpp"
#include "test_support.hpp"

using namespace ndrd;
namespace utf = boost::unit_test;

namespace {

daemon::JetStreamLogOptions options_for(const e2e::NatsServer& server)
{
    return test::log_options({server.url()});
}

} // namespace

BOOST_AUTO_TEST_SUITE(jetstream_log, *utf::precondition(e2e::nats_server_installed))

BOOST_AUTO_TEST_CASE(two_hosts_appends_get_one_order_that_both_read)
{
    test::TempDir dir;
    e2e::NatsServer server(dir.path() / "nats");
    daemon::JetStreamLog a(options_for(server));
    daemon::JetStreamLog b(options_for(server)); // finds the stream a created
    BOOST_TEST(a.last_sequence() == 0U);
    BOOST_TEST(a.first_sequence() == 0U);

    std::vector<std::string> written;
    for (int i = 0; i < 20; ++i) {
        daemon::JetStreamLog& host = i % 2 == 0 ? a : b;
        const std::string id = (i % 2 == 0 ? "a/" : "b/") + std::to_string(i);
        written.push_back("entry " + std::to_string(i) + std::string(1, '\0') + "binary");
        BOOST_TEST(host.append(id, written.back()) == static_cast<std::uint64_t>(i + 1));
    }
    for (daemon::JetStreamLog* host : {&a, &b}) {
        BOOST_TEST(host->first_sequence() == 1U);
        BOOST_TEST(host->last_sequence() == written.size());
        for (std::size_t seq = 1; seq <= written.size(); ++seq) {
            const auto got = host->read(seq);
            BOOST_TEST_REQUIRE(got.has_value());
            BOOST_TEST(*got == written[seq - 1]);
        }
        BOOST_TEST(!host->read(written.size() + 1).has_value());
    }
}

BOOST_AUTO_TEST_CASE(a_repeated_message_id_is_stored_once)
{
    test::TempDir dir;
    e2e::NatsServer server(dir.path() / "nats");
    daemon::JetStreamLog log(options_for(server));
    BOOST_TEST(log.append("host-1/7", "first") == 1U);
    BOOST_TEST(log.append("host-1/8", "second") == 2U);
    // The same id again, as after a crash between the publish and its ack:
    // the server answers with the first copy's sequence and stores nothing.
    BOOST_TEST(log.append("host-1/7", "first") == 1U);
    BOOST_TEST(log.last_sequence() == 2U);
}

BOOST_AUTO_TEST_CASE(entries_cross_the_log_bit_for_bit)
{
    test::TempDir dir;
    e2e::NatsServer server(dir.path() / "nats");
    daemon::JetStreamLog log(options_for(server));
    index::HashedItem h;
    h.digest = std::string(16, '\x01');
    h.key.bytes = std::string("\x80\x00", 2);
    h.feature = {0.5F, -0.0F, 1.0F / 3.0F};
    h.size = 4096;
    h.source = "cam/1.jpg";
    const std::string bytes = index::encode_entry(h);
    const std::uint64_t seq = log.append("host/1", bytes);
    const auto back = log.read(seq);
    BOOST_TEST_REQUIRE(back.has_value());
    BOOST_TEST(*back == bytes);
    const auto item = std::get<index::HashedItem>(index::decode_entry(*back));
    BOOST_TEST(item.source == h.source);
}

BOOST_AUTO_TEST_CASE(what_was_acknowledged_survives_a_killed_server)
{
    test::TempDir dir;
    e2e::NatsServer server(dir.path() / "nats");
    {
        daemon::JetStreamLog log(options_for(server));
        for (int i = 1; i <= 5; ++i) {
            BOOST_TEST(log.append("h/" + std::to_string(i), "e" + std::to_string(i)) == static_cast<std::uint64_t>(i));
        }
    }
    server.kill();
    server.restart();
    daemon::JetStreamLog log(options_for(server));
    BOOST_TEST(log.last_sequence() == 5U);
    for (int i = 1; i <= 5; ++i) {
        BOOST_TEST(log.read(static_cast<std::uint64_t>(i)).value_or("") == "e" + std::to_string(i));
    }
    BOOST_TEST(log.append("h/6", "e6") == 6U);
}

BOOST_AUTO_TEST_CASE(an_unreachable_server_is_named_in_the_error)
{
    test::TempDir dir;
    e2e::NatsServer server(dir.path() / "nats");
    const std::string url = server.url();
    server.kill();
    daemon::JetStreamLogOptions o;
    o.servers = {url};
    o.timeout_ms = 500;
    try {
        daemon::JetStreamLog log(o);
        BOOST_FAIL("connected to a server that was killed");
    } catch (const daemon::LogUnavailable& e) {
        BOOST_TEST(std::string(e.what()).find(url) != std::string::npos, e.what());
    }
}

BOOST_AUTO_TEST_SUITE_END()
