// The Prometheus endpoint of a running daemon, scraped over real TCP: the
// exposition parses line by line, counters match what was routed and
// rejected and why, histograms are cumulative with a count per routed file,
// gauges follow the subsets, the process_* family and the build are there,
// a refused reload shows, and a reload moves the endpoint.
#define BOOST_TEST_MODULE e2e_metrics
#include <boost/test/unit_test.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <ctime>
#include <limits>
#include <map>
#include <regex>

#include "live.hpp"
#include "prometheus_text.hpp"

using namespace ndrd;
using namespace ndrd::e2e;

namespace {

// GET /metrics; the whole response, or "" if nobody listens.
std::string scrape(int port)
{
    return http_response(port, "/metrics");
}

// Every sample line of the exposition, "name{labels}" -> value; fails the
// test on a line that is neither a comment nor a well-formed sample.
std::map<std::string, double> samples(const std::string& response)
{
    const auto body_at = response.find("\r\n\r\n");
    BOOST_REQUIRE(body_at != std::string::npos);
    BOOST_TEST(response.rfind("HTTP/1.", 0) == 0);
    BOOST_TEST(response.find(" 200 ") != std::string::npos);
    BOOST_TEST(response.find("text/plain; version=0.0.4") != std::string::npos);
    static const std::regex sample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})?) (\S+)$)");
    std::map<std::string, double> out;
    for (const auto& line : lines_of(response.substr(body_at + 4))) {
        if (line.empty() || line.starts_with("# HELP ") || line.starts_with("# TYPE ")) continue;
        std::smatch m;
        BOOST_TEST_REQUIRE(std::regex_match(line, m, sample), "not a sample line: " << line);
        out[m[1]] = m[3] == "+Inf" ? std::numeric_limits<double>::infinity() : std::stod(m[3]);
    }
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(metrics)

BOOST_AUTO_TEST_CASE(scrape_counts_decisions_rejections_latency_and_follows_reload)
{
    const int port = free_loopback_port();
    ConfigOptions opt;
    opt.extra = "metrics:\n  listen: 127.0.0.1:" + std::to_string(port) + "\n";
    Live live(opt);
    live.start();
    const std::string original = image("coins.png");
    const std::string copy = image("coins__jpeg_q70.jpg");
    const std::string junk = "plain text, not an image\n";
    test::write_file(live.ingest("a.png"), original);
    live.expect("train/a.png", original, live.ingest("a.png"));
    test::write_file(live.ingest("b.jpg"), copy);
    live.expect("duplicated/b.jpg", copy, live.ingest("b.jpg"));
    test::write_file(live.ingest("c.jpg"), junk);
    live.expect("rejected/c.jpg", junk, live.ingest("c.jpg"));

    const std::string response = scrape(port);
    const auto m = samples(response);
    BOOST_TEST(m.at(R"(ndrd_files_routed_total{decision="kept"})") == 1.0);
    BOOST_TEST(m.at(R"(ndrd_files_routed_total{decision="duplicated"})") == 1.0);
    BOOST_TEST(m.at(R"(ndrd_files_routed_total{decision="rejected"})") == 1.0);
    BOOST_TEST(m.at(R"(ndrd_rejections_total{reason="unsupported_format"})") == 1.0);
    BOOST_TEST(m.at("ndrd_event_to_routed_seconds_count") == 3.0);
    BOOST_TEST(m.at(R"(ndrd_event_to_routed_seconds_bucket{le="+Inf"})") == 3.0);
    BOOST_TEST(m.at("ndrd_event_to_routed_seconds_sum") > 0.0);
    BOOST_TEST(m.at("ndrd_hash_duration_seconds_count") == 3.0);
    // Buckets are cumulative, in le order, and +Inf is the count.
    const auto exposition = test::parse_exposition(response.substr(response.find("\r\n\r\n") + 4));
    for (const char* family : {"ndrd_event_to_routed_seconds", "ndrd_hash_duration_seconds"}) {
        for (const auto& problem : test::histogram_problems(exposition, family)) {
            BOOST_ERROR(problem);
        }
    }
    BOOST_TEST(m.at(R"(ndrd_subset_files{subset="working"})") == 1.0);
    BOOST_TEST(m.at(R"(ndrd_subset_files{subset="duplicated"})") == 1.0);
    BOOST_TEST(m.at(R"(ndrd_subset_files{subset="rejected"})") == 1.0);
    BOOST_TEST(m.at("ndrd_index_items") == 3.0);
    BOOST_TEST(m.at("ndrd_index_size_bytes") > 0.0);
    BOOST_TEST(m.at("ndrd_queue_depth") == 0.0);
    BOOST_TEST(m.at("ndrd_ingestion_paused") == 0.0);
    const double rebalances = m.at("ndrd_rebalances_total");
    // The process as every Prometheus client exports it, the build, and
    // what an alert on a stalled daemon or a failed reload needs.
    BOOST_TEST(m.at("process_cpu_seconds_total") > 0.0);
    BOOST_TEST(m.at("process_resident_memory_bytes") > 1e6);
    BOOST_TEST(m.at("process_virtual_memory_bytes") >= m.at("process_resident_memory_bytes"));
    BOOST_TEST(m.at("process_open_fds") > 3.0);
    BOOST_TEST(m.at("process_max_fds") >= m.at("process_open_fds"));
    const auto now = static_cast<double>(std::time(nullptr));
    BOOST_TEST(std::abs(m.at("process_start_time_seconds") - m.at("ndrd_start_time_seconds")) <= 2.0);
    BOOST_TEST(m.at("process_start_time_seconds") <= now);
    BOOST_TEST(m.at(R"(ndrd_build_info{version=")" NDRD_TEST_VERSION R"("})") == 1.0);
    BOOST_TEST(m.at("ndrd_config_last_reload_successful") == 1.0);
    BOOST_TEST(m.at("ndrd_last_routed_timestamp_seconds") > now - 60);

    const auto r = run_ndrd({"rebalance", "--config", live.layout().config.string()});
    BOOST_TEST(r.code() == 0, r.err);
    BOOST_TEST(samples(scrape(port)).at("ndrd_rebalances_total") == rebalances + 1);

    // A refused reload shows, and the next good one clears it.
    test::write_file(live.layout().config, "gradient: [\n");
    live.signal(SIGHUP);
    BOOST_TEST(eventually([&] { return samples(scrape(port)).at("ndrd_config_last_reload_successful") == 0.0; }));

    // Reload to another port: the old one goes quiet, the new one answers.
    const int moved = free_loopback_port();
    opt.extra = "metrics:\n  listen: 127.0.0.1:" + std::to_string(moved) + "\n";
    write_config(live.layout(), opt);
    live.signal(SIGHUP);
    BOOST_TEST(eventually([&] { return !scrape(moved).empty(); }), live.log());
    BOOST_TEST(scrape(port).empty());
    const auto after = samples(scrape(moved));
    BOOST_TEST(after.at(R"(ndrd_files_routed_total{decision="kept"})") == 1.0);
    BOOST_TEST(after.at("ndrd_config_last_reload_successful") == 1.0);
    BOOST_TEST(after.at("ndrd_config_last_reload_success_timestamp_seconds") >= now);
    live.stop_and_check();
}

BOOST_AUTO_TEST_CASE(a_port_in_use_is_logged_and_the_daemon_still_ingests)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0); // NOLINT
    BOOST_REQUIRE(::listen(fd, 1) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len); // NOLINT
    ConfigOptions opt;
    opt.extra = "metrics:\n  listen: 127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "\n";
    Live live(opt);
    live.start();
    BOOST_TEST(live.log().find("cannot bind") != std::string::npos, live.log());
    const std::string bytes = image("camera.png");
    test::write_file(live.ingest("camera.png"), bytes);
    live.expect("train/camera.png", bytes, live.ingest("camera.png"));
    live.stop_and_check();
    ::close(fd);
}

BOOST_AUTO_TEST_SUITE_END()
