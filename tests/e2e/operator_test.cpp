// The operator's view of a running daemon: `ndrd status` live (rate and
// latency of the last minute), `ndrd query` answered by the daemon with its
// live index and threshold without ingesting anything, and `ndrd export` as
// CSV and JSON lines while the daemon keeps running.
#define BOOST_TEST_MODULE e2e_operator
#include <boost/test/unit_test.hpp>

#include <regex>

#include "live.hpp"

using namespace ndrd;
using namespace ndrd::e2e;

namespace {

RunResult ndrd_cmd(const Live& live, std::vector<std::string> args)
{
    args.insert(args.begin() + 1, {"--config", live.layout().config.string()});
    return run_ndrd(args);
}

// `ndrd export` in both formats, with a_coins.png (item 1) routed and the
// file named notes,"v2".jpg (item 2) rejected.
void check_export(const Live& live)
{
    const auto csv = ndrd_cmd(live, {"export", "--format", "csv"});
    BOOST_TEST(csv.code() == 0, csv.err);
    BOOST_TEST(csv.out.rfind("item,source,location,subset,decision,state,key,reason,matched_item,best_similarity,"
                             "match,override,size_bytes,ingested_ms,routed_ms,instance,pixels,replaced_item,"
                             "replaced_by_item,expired_ms\r\n",
                             0) == 0,
               csv.out);
    const auto rows = test::parse_csv_rows(csv.out);
    BOOST_TEST_REQUIRE(rows.size() == 2U, csv.out);
    const auto first_row = test::mismatches(rows[0], {{"item", "1"},
                                                      {"source", "a_coins.png"},
                                                      {"location", "train/a_coins.png"},
                                                      {"subset", "working"},
                                                      {"decision", "kept"},
                                                      {"state", "done"},
                                                      {"key", decision_of("h32_t0.5", "coins__bright8.png")->key},
                                                      {"reason", ""},
                                                      {"matched_item", ""},
                                                      {"best_similarity", ""}});
    BOOST_TEST(first_row.empty(), first_row);
    // The name with a comma and quotes survives the quoting RFC 4180 asks for.
    const auto second_row = test::mismatches(rows[1], {{"item", "2"},
                                                       {"source", "notes,\"v2\".jpg"},
                                                       {"location", "rejected/notes,\"v2\".jpg"},
                                                       {"decision", "rejected"},
                                                       {"key", ""}});
    BOOST_TEST(second_row.empty(), second_row);

    const auto jsonl = ndrd_cmd(live, {"export", "--format", "jsonl"});
    BOOST_TEST(jsonl.code() == 0, jsonl.err);
    const auto items = lines_of(jsonl.out);
    BOOST_TEST_REQUIRE(items.size() == 2U, jsonl.out);
    const auto first = parse_json_line(items[0]);
    BOOST_TEST(first.at("item").get<std::uint64_t>() == 1U);
    BOOST_TEST(first.at("subset").get<std::string>() == "working");
    BOOST_TEST(first.at("decision").get<std::string>() == "kept");
    const auto second = parse_json_line(items[1]);
    BOOST_TEST(second.at("source").get<std::string>() == "notes,\"v2\".jpg");
    BOOST_TEST(second.at("decision").get<std::string>() == "rejected");
    BOOST_TEST(second.at("key").is_null());
    BOOST_TEST(second.at("reason").get<std::string>().find("not a JPEG, PNG") != std::string::npos);
    // The CSV and JSON lines tell the same story.
    BOOST_TEST(second.at("reason").get<std::string>() == rows[1].at("reason"));
}

} // namespace

BOOST_AUTO_TEST_SUITE(operator_interface)

BOOST_AUTO_TEST_CASE(status_query_and_export_against_a_running_daemon)
{
    const auto crop = decision_of("h32_t0.5", "coins__crop3.png");
    BOOST_REQUIRE(crop && crop->decision == "duplicated" && crop->matched_file == "coins__bright8.png");
    ConfigOptions opt; // threshold 0.5
    Live live(opt);
    live.start();
    const std::string original = image("coins__bright8.png");
    const std::string rejected = "not an image at all\n";
    test::write_file(live.ingest("a_coins.png"), original);
    live.expect("train/a_coins.png", original, live.ingest("a_coins.png"));
    test::write_file(live.ingest("notes,\"v2\".jpg"), rejected);
    live.expect("rejected/notes,\"v2\".jpg", rejected, live.ingest("notes,\"v2\".jpg"));

    // status, live
    const auto status = ndrd_cmd(live, {"status"});
    BOOST_TEST(status.code() == 0, status.err);
    BOOST_TEST(status.out.find("daemon:        running") != std::string::npos, status.out);
    // Figures for a person: "up 9.1 s", not the JSON's "up 9.0526307690000003 s".
    BOOST_TEST(std::regex_search(status.out, std::regex(R"(running, up [0-9]+\.[0-9] s, queue)")), status.out);
    // Two files routed within the last minute: a rate and real latencies.
    std::smatch last_minute;
    BOOST_TEST_REQUIRE(std::regex_search(status.out, last_minute,
                                         std::regex(R"(last minute: +([0-9.e+-]+) files/s, event-to-routed latency )"
                                                    R"(p50 ([0-9.e+-]+) s, p99 ([0-9.e+-]+) s)")),
                       status.out);
    const double rate = std::stod(last_minute[1]);
    const double p50 = std::stod(last_minute[2]);
    const double p99 = std::stod(last_minute[3]);
    BOOST_TEST(rate > 0.0);
    BOOST_TEST(p50 > 0.0);
    BOOST_TEST(p99 >= p50);
    BOOST_TEST(status.out.find("1 kept, 0 duplicated, 1 rejected") != std::string::npos, status.out);

    // query: the file on disk now says 0.9, but the daemon runs at 0.5 and
    // it is the daemon that answers.
    opt.sim_threshold = 0.9;
    write_config(live.layout(), opt);
    const fs::path elsewhere = live.scratch("queries");
    fs::create_directories(elsewhere);
    test::write_file(elsewhere / "crop.png", image("coins__crop3.png"));
    test::write_file(elsewhere / "camera.png", image("camera.png"));
    const auto q = ndrd_cmd(live, {"query", (elsewhere / "crop.png").string(), (elsewhere / "camera.png").string(),
                                   (elsewhere / "missing.png").string()});
    BOOST_TEST(q.code() == 1, q.err); // one file could not be hashed
    const auto lines = lines_of(q.out);
    BOOST_TEST_REQUIRE(lines.size() == 3U, q.out);
    const auto dup = parse_json_line(lines[0]);
    BOOST_TEST(dup.at("decision").get<std::string>() == "duplicated");
    BOOST_TEST(dup.at("matched_source").get<std::string>() == "a_coins.png");
    BOOST_TEST(dup.at("matched_location").get<std::string>() == "train/a_coins.png");
    BOOST_TEST(dup.at("matched_item").get<std::uint64_t>() == 1U);
    BOOST_TEST(dup.at("key").get<std::string>() == crop->key);
    BOOST_TEST(dup.at("similarity").get<double>() == 0.75441602017779485, boost::test_tools::tolerance(1e-5));
    const auto unique = parse_json_line(lines[1]);
    BOOST_TEST(unique.at("decision").get<std::string>() == "kept");
    BOOST_TEST(unique.at("matched_item").is_null());
    const auto missing = parse_json_line(lines[2]);
    BOOST_TEST(missing.contains("error"));
    // Nothing was ingested or moved.
    BOOST_TEST(fs::exists(elsewhere / "crop.png"));
    BOOST_TEST(ndrd_cmd(live, {"status"}).out.find("items:         2\n") != std::string::npos);

    check_export(live); // while the daemon runs
    BOOST_TEST(ndrd_cmd(live, {"export", "--format", "xml"}).code() == 64);
    live.stop_and_check();

    // With the daemon gone, query reads the index and the file's 0.9.
    const auto offline = ndrd_cmd(live, {"query", (elsewhere / "crop.png").string()});
    BOOST_TEST(offline.code() == 0, offline.err);
    BOOST_TEST(parse_json_line(lines_of(offline.out).at(0)).at("decision").get<std::string>() == "kept", offline.out);
}

BOOST_AUTO_TEST_SUITE_END()
