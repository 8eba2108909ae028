// Several ndrd daemons sharing one decision stream on real nats-servers
// (loopback): a picture dropped into two hosts' directories at the same
// instant is kept once, every replica holds the same decisions, and they
// are the decisions one host reaches on the same files in stream order;
// daemons killed at random moments lose and double nothing; a stream out of
// reach pauses ingestion and nothing is lost; with three servers the
// stream's leader can die; a rebalance gives the cluster num_cut in all.
#define BOOST_TEST_MODULE e2e_cluster
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "daemon/cluster/jetstream_log.hpp"
#include "live.hpp"
#include "nats_server.hpp"

using namespace ndrd;
using namespace ndrd::e2e;
using nlohmann::json;
namespace utf = boost::unit_test;

namespace {

std::string cluster_yaml(const std::vector<std::string>& urls, const std::string& instance, int replicas = 1)
{
    std::string list;
    for (const auto& u : urls) {
        list += (list.empty() ? "" : ", ") + u;
    }
    return "cluster:\n  servers: [" + list + "]\n  stream: e2e\n  instance: " + instance +
           "\n  replicas: " + std::to_string(replicas) + "\n";
}

// Daemons named h0, h1, ... on the servers `urls`, each with its own
// ingest, output and index directories.
// Daemon h<i> on the servers `urls`, with its own ingest, output and index
// directories (not started).
std::unique_ptr<Live> member(std::size_t i, const std::vector<std::string>& urls, int replicas = 1,
                             const std::string& extra = {})
{
    ConfigOptions o;
    o.log_level = "info";
    o.extra = cluster_yaml(urls, "h" + std::to_string(i), replicas) + extra;
    return std::make_unique<Live>(o);
}

// Daemons h0 .. h<n-1>: `extra` goes into every configuration, `first_extra`
// into h0's.
std::vector<std::unique_ptr<Live>> members(std::size_t n, const std::vector<std::string>& urls, int replicas = 1,
                                           const std::string& extra = {}, const std::string& first_extra = {})
{
    std::vector<std::unique_ptr<Live>> out;
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(member(i, urls, replicas, extra + (i == 0 ? first_extra : "")));
    }
    return out;
}

void start_all(const std::vector<std::unique_ptr<Live>>& ms)
{
    for (const auto& m : ms) {
        m->start();
    }
}

// One nats-server and `n` members on it, started.
struct Site {
    test::TempDir dir;
    NatsServer server{dir.path() / "nats"};
    std::vector<std::unique_ptr<Live>> ms;

    explicit Site(std::size_t n, const std::string& extra = {}, const std::string& first_extra = {})
        : ms(members(n, {server.url()}, 1, extra, first_extra))
    {
        start_all(ms);
    }
};

std::vector<json> exported(const Layout& layout)
{
    const auto r = run_ndrd({"export", "--config", layout.config.string(), "--format", "jsonl"});
    BOOST_REQUIRE_MESSAGE(r.code() == 0, r.err);
    std::vector<json> rows;
    for (const auto& line : lines_of(r.out)) {
        rows.push_back(parse_json_line(line));
    }
    return rows;
}

// What every replica must agree on for an item: the decision, not where
// the file lies on its own host.
json decided(const json& row)
{
    json d;
    for (const char* k : {"item", "source", "instance", "subset", "decision", "key", "reason", "matched_item",
                          "best_similarity", "match", "override", "size_bytes"}) {
        d[k] = row.at(k);
    }
    return d;
}

std::vector<json> decisions_of(const Layout& layout)
{
    std::vector<json> out;
    for (const auto& row : exported(layout)) {
        out.push_back(decided(row));
    }
    return out;
}

// Every ingest directory empty and every replica holding `items` items.
bool settled(const std::vector<std::unique_ptr<Live>>& ms, std::size_t items)
{
    for (const auto& m : ms) {
        if (!entries_under(m->layout().ingest).empty() || exported(m->layout()).size() != items) return false;
    }
    return true;
}

void require_settled(const std::vector<std::unique_ptr<Live>>& ms, std::size_t items,
                     std::chrono::seconds timeout = std::chrono::seconds(60))
{
    const bool ok = eventually([&] { return settled(ms, items); }, timeout, std::chrono::milliseconds(250));
    if (!ok) {
        for (const auto& m : ms) {
            BOOST_TEST_MESSAGE("ingest " << m->layout().ingest << ":\n"
                                         << listing(m->layout().ingest) << "items " << exported(m->layout()).size()
                                         << "\nlog:\n"
                                         << m->log());
        }
    }
    BOOST_REQUIRE_MESSAGE(ok, "the cluster did not settle on " << items << " items within " << timeout.count() << " s");
}

void check_replicas_agree(const std::vector<std::unique_ptr<Live>>& ms)
{
    const auto first = decisions_of(ms.front()->layout());
    for (std::size_t i = 1; i < ms.size(); ++i) {
        const auto other = decisions_of(ms[i]->layout());
        BOOST_TEST_REQUIRE(other.size() == first.size());
        for (std::size_t k = 0; k < first.size(); ++k) {
            BOOST_TEST(other[k] == first[k],
                       "replica h" << i << " item " << k + 1 << ": " << other[k].dump() << " vs " << first[k].dump());
        }
    }
}

// Each member's output holds exactly its own items, each once.
void check_own_files(const std::vector<std::unique_ptr<Live>>& ms)
{
    const auto rows = exported(ms.front()->layout());
    for (std::size_t i = 0; i < ms.size(); ++i) {
        const std::string name = "h" + std::to_string(i);
        std::size_t own = 0;
        for (const auto& row : rows) {
            own += row.at("instance") == name ? 1 : 0;
        }
        BOOST_TEST(files_under(ms[i]->layout().output).size() == own, name << " output:\n"
                                                                           << listing(ms[i]->layout().output));
    }
}

void drop_at_once(const std::vector<fs::path>& targets, const std::string& bytes, const fs::path& staging)
{
    std::vector<fs::path> staged;
    for (std::size_t i = 0; i < targets.size(); ++i) {
        staged.push_back(staging / (std::to_string(i) + "_" + targets[i].filename().string()));
        test::write_file(staged.back(), bytes);
    }
    for (std::size_t i = 0; i < targets.size(); ++i) {
        fs::rename(staged[i], targets[i]);
    }
}

// One host's `ndrd once`, fed the cluster's files in its stream order (the
// files named so that the ingest scan takes them in that order), decides
// every item as the cluster did. `bytes_of` maps "<instance>/<source>" to
// the file's bytes.
void check_one_host_agrees(const std::vector<json>& rows, const std::map<std::string, std::string>& bytes_of)
{
    test::TempDir single_dir;
    const Layout single = make_layout(single_dir.path());
    ConfigOptions o;
    o.log_level = "info";
    write_config(single, o);
    for (const auto& row : rows) {
        char prefix[24];
        std::snprintf(prefix, sizeof prefix, "%06llu_",
                      static_cast<unsigned long long>(row.at("item").get<std::uint64_t>()));
        const auto source = row.at("source").get<std::string>();
        const std::string flat = fs::path(source).filename().string();
        test::write_file(single.ingest / (prefix + flat),
                         bytes_of.at(row.at("instance").get<std::string>() + "/" + source));
    }
    const auto r = run_ndrd({"once", "--config", single.config.string()}, std::chrono::minutes(5));
    BOOST_REQUIRE_MESSAGE(r.code() == 0, r.err);
    const auto alone = exported(single);
    BOOST_TEST_REQUIRE(alone.size() == rows.size());
    for (std::size_t k = 0; k < rows.size(); ++k) {
        for (const char* f : {"decision", "subset", "matched_item", "best_similarity", "key", "match"}) {
            BOOST_TEST(alone[k].at(f) == rows[k].at(f), "item " << k + 1 << " " << f);
        }
    }
}

} // namespace

BOOST_AUTO_TEST_SUITE(cluster, *utf::precondition(nats_server_installed))

BOOST_AUTO_TEST_CASE(a_picture_dropped_on_two_hosts_at_once_is_kept_once_and_replicas_decide_as_one_host)
{
    Site site(3);
    auto& ms = site.ms;
    const auto names = test::reference_image_names();
    // Every reference image into h0 and h1 at the same instant; h2 gets a
    // bad file and copies of three of them a little later.
    for (const auto& name : names) {
        drop_at_once({ms[0]->ingest(name), ms[1]->ingest(name)}, image(name), ms[0]->scratch(""));
    }
    const std::vector<std::string> later = {"coins.png", "astronaut.png", "camera.png"};
    for (const auto& name : later) {
        test::write_file(ms[2]->ingest("again_" + name), image(name));
    }
    test::write_file(ms[2]->ingest("broken.jpg"), undecodable());
    const std::size_t items = 2 * names.size() + later.size() + 1;
    require_settled(ms, items);
    for (auto& m : ms) {
        m->stop();
    }
    check_replicas_agree(ms);
    check_own_files(ms);

    // Each picture is kept at most once in the cluster: of its two copies,
    // the one later in the stream is the other's duplicate.
    const auto rows = exported(ms.front()->layout());
    std::map<std::string, std::vector<json>> by_source;
    for (const auto& row : rows) {
        by_source[row.at("source").get<std::string>()].push_back(row);
    }
    for (const auto& name : names) {
        const auto& copies = by_source[name];
        BOOST_TEST_REQUIRE(copies.size() == 2U, name);
        BOOST_TEST(copies[1].at("decision") == "duplicated", name << ": " << copies[1].dump());
        BOOST_TEST(copies[0].at("instance") != copies[1].at("instance"));
    }

    // One host fed the same files in stream order decides alike.
    std::map<std::string, std::string> bytes_of; // "h<i>/<source>" -> bytes
    for (const auto& name : names) {
        bytes_of["h0/" + name] = bytes_of["h1/" + name] = image(name);
    }
    for (const auto& name : later) {
        bytes_of["h2/again_" + name] = image(name);
    }
    bytes_of["h2/broken.jpg"] = undecodable();
    check_one_host_agrees(rows, bytes_of);
}

BOOST_AUTO_TEST_CASE(daemons_killed_at_random_moments_lose_and_double_nothing)
{
    Site site(2);
    auto& ms = site.ms;
    const auto names = test::reference_image_names();
    std::mt19937 rng(20261206);
    std::size_t dropped = 0;
    std::thread feeder([&] {
        for (const auto& name : names) {
            for (int copy = 0; copy < 2; ++copy) {
                test::write_file(ms[copy]->ingest(std::to_string(copy) + "_" + name), image(name));
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(15));
        }
    });
    for (int kill = 0; kill < 10; ++kill) {
        std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 300)(rng)));
        ms[0]->crash();
        ms[0]->start();
    }
    feeder.join();
    dropped = 2 * names.size();
    require_settled(ms, dropped);
    for (auto& m : ms) {
        m->stop();
    }
    check_replicas_agree(ms);
    check_own_files(ms);
    std::set<std::string> seen;
    for (const auto& row : exported(ms[1]->layout())) {
        const std::string key = row.at("instance").get<std::string>() + "/" + row.at("source").get<std::string>();
        BOOST_TEST(seen.insert(key).second, key << " decided twice");
    }
    BOOST_TEST(seen.size() == dropped);
}

BOOST_AUTO_TEST_CASE(a_stream_out_of_reach_pauses_ingestion_and_nothing_is_lost)
{
    const int metrics_port = free_loopback_port();
    Site site(2, {}, "metrics:\n  listen: 127.0.0.1:" + std::to_string(metrics_port) + "\n");
    auto& ms = site.ms;
    const auto names = test::reference_image_names();
    for (std::size_t i = 0; i < 10; ++i) {
        test::write_file(ms[0]->ingest(names[i]), image(names[i]));
    }
    require_settled(ms, 10);
    site.server.kill();
    for (std::size_t i = 10; i < 30; ++i) {
        test::write_file(ms[i % 2]->ingest(names[i]), image(names[i]));
    }
    // Nothing is decided while the stream is out of reach: the files wait
    // in the ingest directories, and the log says why.
    BOOST_TEST(eventually([&] { return ms[0]->log().find("ingestion paused") != std::string::npos; },
                          std::chrono::seconds(20)),
               ms[0]->log());
    BOOST_TEST(entries_under(ms[0]->layout().ingest).size() + entries_under(ms[1]->layout().ingest).size() >= 18U);
    BOOST_TEST(eventually(
        [&] { return http_response(metrics_port, "/metrics").find("ndrd_ingestion_paused 1") != std::string::npos; }));
    site.server.restart();
    require_settled(ms, 30);
    const std::string metrics = http_response(metrics_port, "/metrics");
    for (const char* line : {"ndrd_cluster_lag_entries 0", "ndrd_cluster_stream_reachable 1", "ndrd_ingestion_paused 0",
                             "ndrd_cluster_append_seconds_count"}) {
        BOOST_TEST(metrics.find(line) != std::string::npos, line << " not in\n" << metrics);
    }
    const auto status = run_ndrd({"status", "--config", ms[0]->layout().config.string()});
    BOOST_TEST(status.out.find("cluster:       instance h") != std::string::npos, status.out);
    BOOST_TEST(status.out.find("(lag 0)") != std::string::npos, status.out);
    for (auto& m : ms) {
        m->stop();
    }
    check_replicas_agree(ms);
    check_own_files(ms);
}

BOOST_AUTO_TEST_CASE(with_three_servers_the_streams_leader_can_die_mid_run)
{
    test::TempDir dir;
    NatsCluster nats(dir.path() / "nats", 3);
    auto ms = members(3, nats.urls(), 3);
    start_all(ms);
    const auto names = test::reference_image_names();
    for (std::size_t i = 0; i < 15; ++i) {
        test::write_file(ms[i % 3]->ingest(names[i]), image(names[i]));
    }
    require_settled(ms, 15);
    const std::size_t leader = nats.wait_for_stream_leader("e2e");
    BOOST_TEST(nats.stream_replicas("e2e").size() == 3U);
    nats.kill(leader);
    for (std::size_t i = 15; i < 45; ++i) {
        test::write_file(ms[i % 3]->ingest(names[i]), image(names[i]));
    }
    require_settled(ms, 45);
    nats.restart(leader);
    for (auto& m : ms) {
        m->stop();
    }
    check_replicas_agree(ms);
    check_own_files(ms);
}

BOOST_AUTO_TEST_CASE(a_rebalance_brings_the_clusters_working_subset_to_num_cut_with_one_plan)
{
    Site site(3, "num_cut: 10\n");
    auto& ms = site.ms;
    const auto names = test::reference_image_names();
    for (std::size_t i = 0; i < names.size(); ++i) {
        test::write_file(ms[i % 3]->ingest(names[i]), image(names[i]));
    }
    require_settled(ms, names.size());
    const auto r = run_ndrd({"rebalance", "--config", ms[1]->layout().config.string()});
    BOOST_TEST_REQUIRE(r.code() == 0, r.err);
    const auto working = [&] {
        std::size_t n = 0;
        for (const auto& m : ms) {
            n += entries_under(m->layout().output / "train").size(); // names only: files move meanwhile
        }
        return n;
    };
    BOOST_TEST(eventually([&] { return working() == 10U; }, std::chrono::seconds(20)), working());
    for (auto& m : ms) {
        m->stop();
    }
    check_replicas_agree(ms);
    check_own_files(ms);
    std::size_t in_working = 0;
    for (const auto& row : exported(ms[2]->layout())) {
        in_working += row.at("subset") == "working" ? 1 : 0;
    }
    BOOST_TEST(in_working == 10U);
}

BOOST_AUTO_TEST_CASE(after_the_stream_is_trimmed_a_new_member_joins_from_a_snapshot)
{
    Site site(3);
    auto& ms = site.ms;
    const auto& server = site.server;
    const auto names = test::reference_image_names();
    for (std::size_t i = 0; i < 30; ++i) {
        test::write_file(ms[i % 3]->ingest(names[i]), image(names[i]));
    }
    require_settled(ms, 30);
    auto joiner = member(3, {server.url()});
    const auto snap =
        run_ndrd({"snapshot", "--config", ms[0]->layout().config.string(), joiner->layout().index.string()});
    BOOST_TEST_REQUIRE(snap.code() == 0, snap.err);
    const auto at = parse_json_line(lines_of(snap.out).back()).at("applied_entry").get<std::uint64_t>();
    for (std::size_t i = 30; i < 45; ++i) {
        test::write_file(ms[1]->ingest(names[i]), image(names[i]));
    }
    require_settled(ms, 45);
    daemon::JetStreamLogOptions o;
    o.servers = {server.url()};
    o.stream = "e2e";
    daemon::JetStreamLog(o).trim_before(at + 1);

    // An empty index cannot replay what is gone: refused, the way out named.
    const auto fresh = member(4, {server.url()});
    const auto refused = run_ndrd({"once", "--config", fresh->layout().config.string()});
    BOOST_TEST(refused.code() == 78, refused.err);
    BOOST_TEST(refused.err.find("ndrd snapshot") != std::string::npos, refused.err);

    joiner->start();
    ms.push_back(std::move(joiner));
    require_settled(ms, 45);
    for (auto& m : ms) {
        m->stop();
    }
    check_replicas_agree(ms);
    check_own_files(ms);
}

// The acceptance run at full size, on a corpus of at least 600 images named
// in NDRD_CLUSTER_CORPUS (bench/make_corpus.sh makes one); skipped without.
boost::test_tools::assertion_result corpus_given(utf::test_unit_id /*unused*/)
{
    const char* dir = std::getenv("NDRD_CLUSTER_CORPUS");
    boost::test_tools::assertion_result r(dir != nullptr && fs::is_directory(dir));
    if (!r) r.message() << "NDRD_CLUSTER_CORPUS names no directory of images (the full-size acceptance run)";
    return r;
}

BOOST_AUTO_TEST_CASE(six_hundred_images_three_servers_three_daemons_through_kills_and_an_outage,
                     *utf::precondition(corpus_given))
{
    std::vector<fs::path> corpus;
    for (const auto& e : fs::directory_iterator(std::getenv("NDRD_CLUSTER_CORPUS"))) {
        if (e.is_regular_file()) corpus.push_back(e.path());
    }
    std::sort(corpus.begin(), corpus.end());
    BOOST_TEST_REQUIRE(corpus.size() >= 600U);
    corpus.resize(600);
    test::TempDir dir;
    NatsCluster nats(dir.path() / "nats", 3);
    auto ms = members(3, nats.urls(), 3);
    start_all(ms);
    std::map<std::string, std::string> bytes_of;
    std::size_t items = 0;
    std::thread feeder([&] {
        for (std::size_t i = 0; i < corpus.size(); ++i) {
            const std::string bytes = test::read_file(corpus[i]);
            const std::string name = corpus[i].filename().string();
            if (i % 12 == 0) { // 50 pictures dropped into two directories at the same instant
                const std::size_t a = i % 3;
                const std::size_t b = (i + 1) % 3;
                drop_at_once({ms[a]->ingest(name), ms[b]->ingest(name)}, bytes, dir.path());
                bytes_of["h" + std::to_string(a) + "/" + name] = bytes_of["h" + std::to_string(b) + "/" + name] = bytes;
                items += 2;
            } else {
                test::write_file(ms[i % 3]->ingest(name), bytes);
                bytes_of["h" + std::to_string(i % 3) + "/" + name] = bytes;
                items += 1;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(60));
        }
    });
    std::mt19937 rng(600);
    for (int kill = 0; kill < 10; ++kill) { // h1 SIGKILLed at random moments
        std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(300, 1500)(rng)));
        ms[1]->crash();
        ms[1]->start();
        if (kill == 4) { // the stream's leader dies mid-run
            const std::size_t leader = nats.wait_for_stream_leader("e2e");
            nats.kill(leader);
            std::this_thread::sleep_for(std::chrono::seconds(2));
            nats.restart(leader);
        }
    }
    nats.stop_all(); // the whole cluster gone for 30 s
    std::this_thread::sleep_for(std::chrono::seconds(30));
    nats.start_all();
    feeder.join();
    require_settled(ms, items, std::chrono::seconds(600));
    for (auto& m : ms) {
        m->stop();
    }
    check_replicas_agree(ms);
    check_own_files(ms);
    const auto rows = exported(ms[0]->layout());
    std::map<std::string, std::size_t> kept_copies;
    for (const auto& row : rows) {
        kept_copies[row.at("source").get<std::string>()] += row.at("decision") == "kept" ? 1 : 0;
    }
    std::size_t twins_kept_once = 0;
    for (std::size_t i = 0; i < corpus.size(); i += 12) {
        const std::size_t kept = kept_copies[corpus[i].filename().string()];
        BOOST_TEST(kept <= 1U, corpus[i].filename());
        twins_kept_once += kept == 1 ? 1 : 0;
    }
    std::size_t kept = 0;
    for (const auto& row : rows) {
        kept += row.at("decision") == "kept" ? 1 : 0;
    }
    BOOST_TEST_MESSAGE(rows.size() << " items on every replica, " << kept << " kept; of the 50 pictures dropped twice, "
                                   << twins_kept_once << " kept once, the rest duplicates of earlier pictures");
    check_one_host_agrees(rows, bytes_of);
}

BOOST_AUTO_TEST_SUITE_END()
