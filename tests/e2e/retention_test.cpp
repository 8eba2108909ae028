// Retention with the real daemon: with `duplicated: 1s`, a duplicate's file
// is deleted about a second after it was routed, its record stays (expired),
// a byte-identical re-import of it is still a duplicate, the working subset
// is not touched, and `ndrd compact` (the daemon's, or on the index when
// none runs) gives the dropped features' space back.
#define BOOST_TEST_MODULE e2e_retention
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include "live.hpp"

using namespace ndrd;
using namespace ndrd::e2e;
using namespace std::chrono_literals;

namespace {

RunResult ndrd_cmd(const Layout& l, std::vector<std::string> args)
{
    args.insert(args.begin() + 1, {"--config", l.config.string()});
    return run_ndrd(args);
}

nlohmann::json status_of(const Layout& l)
{
    const auto r = ndrd_cmd(l, {"status", "--json"});
    BOOST_TEST_REQUIRE(r.code() == 0, r.err);
    return parse_json_line(r.out);
}

std::vector<test::CsvRow> exported(const Layout& l)
{
    const auto r = ndrd_cmd(l, {"export"});
    BOOST_TEST_REQUIRE(r.code() == 0, r.err);
    return test::parse_csv_rows(r.out);
}

std::optional<test::CsvRow> row_of(const Layout& l, const std::string& source)
{
    for (auto& row : exported(l)) {
        if (row.at("source") == source) return row;
    }
    return std::nullopt;
}

struct stat stat_of(const fs::path& p)
{
    struct stat st {};
    BOOST_TEST_REQUIRE(::lstat(p.c_str(), &st) == 0, p);
    return st;
}

} // namespace

BOOST_AUTO_TEST_SUITE(retention)

BOOST_AUTO_TEST_CASE(old_duplicates_go_their_records_stay_and_compaction_gives_the_space_back)
{
    test::TempDir dir;
    const Layout l = make_layout(dir.path());
    ConfigOptions o;
    o.compat = "off"; // the exact-copy rule
    o.extra = "retention:\n  duplicated: 1s\n";
    write_config(l, o);
    const std::string kept = image("astronaut.png");
    const std::string near = image("astronaut__blur.jpg"); // its near-duplicate (similarity 0.986)
    test::write_file(l.ingest / "a_astronaut.png", kept);
    auto daemon = std::make_unique<Daemon>(l);
    BOOST_REQUIRE_MESSAGE(daemon->wait_ready(), daemon->log());
    const fs::path kept_file = l.output / "train" / "a_astronaut.png";
    BOOST_REQUIRE_MESSAGE(eventually([&] { return file_has(kept_file, kept); }), daemon->log());
    const struct stat kept_before = stat_of(kept_file);

    // The near-duplicate is routed, then deleted once a second old; its
    // record stays, expired.
    test::write_file(l.ingest / "b_blur.jpg", near);
    BOOST_REQUIRE_MESSAGE(eventually([&] {
                              return daemon->log().find("routed b_blur.jpg -> duplicated/b_blur.jpg") !=
                                     std::string::npos;
                          }),
                          daemon->log());
    BOOST_REQUIRE_MESSAGE(eventually([&] { return !fs::exists(l.output / "duplicated" / "b_blur.jpg"); }, 10s),
                          daemon->log());
    // The batch's line follows its deletions.
    BOOST_TEST(eventually([&] {
                   return daemon->log().find("retention: deleted 1 file(s) older than 1s from duplicated/") !=
                          std::string::npos;
               }),
               daemon->log());
    auto s = status_of(l);
    BOOST_TEST(s.at("expired").get<std::uint64_t>() == 1U);
    BOOST_TEST(s.at("duplicated").get<std::uint64_t>() == 1U); // the decision stands
    BOOST_TEST(s.at("in_duplicated").get<std::uint64_t>() == 0U);
    BOOST_TEST(s.at("retention_deleted_files").get<std::uint64_t>() == 1U);
    const auto expired = row_of(l, "b_blur.jpg");
    BOOST_REQUIRE(expired);
    const auto expired_row = test::mismatches(
        *expired, {{"state", "expired"}, {"decision", "duplicated"}, {"subset", "duplicated"}, {"matched_item", "1"}});
    BOOST_TEST(expired_row.empty(), expired_row);
    BOOST_TEST(!expired->at("expired_ms").empty());

    // The same bytes again: still a duplicate of the kept image, recognised
    // by their digest though the feature is gone.
    test::write_file(l.ingest / "c_blur_again.jpg", near);
    BOOST_REQUIRE_MESSAGE(
        eventually([&] { return daemon->log().find("routed c_blur_again.jpg") != std::string::npos; }), daemon->log());
    const auto again = row_of(l, "c_blur_again.jpg");
    BOOST_REQUIRE(again);
    const auto again_row = test::mismatches(
        *again, {{"decision", "duplicated"}, {"subset", "duplicated"}, {"matched_item", "1"}, {"match", "exact_copy"}});
    BOOST_TEST(again_row.empty(), again_row);

    // Enough duplicates that their features are measurable on disk beside
    // the index's fixed part (its projection alone is 192 KiB): 400 copies,
    // each holding a whole feature until it expires.
    constexpr std::uint64_t copies = 400;
    fs::create_directories(l.ingest / "copies");
    for (std::uint64_t i = 0; i < copies; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "copy_%03llu.jpg", static_cast<unsigned long long>(i));
        test::write_file(l.ingest / "copies" / name, near);
    }
    const std::uint64_t all_expired = copies + 2;
    BOOST_REQUIRE_MESSAGE(
        eventually([&] { return status_of(l).at("expired").get<std::uint64_t>() == all_expired; }, 90s, 200ms),
        daemon->log());
    BOOST_TEST(test::files_under(l.output / "duplicated").empty());

    // The working subset is as it was: the same file, untouched.
    const struct stat kept_after = stat_of(kept_file);
    BOOST_TEST(file_has(kept_file, kept));
    BOOST_TEST(kept_after.st_ino == kept_before.st_ino);
    BOOST_TEST(kept_after.st_mtim.tv_sec == kept_before.st_mtim.tv_sec);
    BOOST_TEST(kept_after.st_mtim.tv_nsec == kept_before.st_mtim.tv_nsec);
    BOOST_TEST(status_of(l).at("in_working").get<std::uint64_t>() == 1U);

    const auto stopped = daemon->stop();
    BOOST_TEST((stopped && *stopped == 0), daemon->log());
    daemon.reset();

    // No daemon: `ndrd compact` works on the index itself.
    const auto before = status_of(l).at("index_bytes").get<std::uint64_t>();
    const auto compact = ndrd_cmd(l, {"compact"});
    BOOST_TEST_REQUIRE(compact.code() == 0, compact.err);
    const auto answer = parse_json_line(compact.out);
    BOOST_TEST(answer.at("ok").get<bool>());
    BOOST_TEST(answer.at("bytes_after").get<std::uint64_t>() < answer.at("bytes_before").get<std::uint64_t>());
    const auto after_status = status_of(l);
    const auto after = after_status.at("index_bytes").get<std::uint64_t>();
    BOOST_TEST_MESSAGE("index size: " << before << " bytes before compaction, " << after << " after ("
                                      << after_status.at("index_bytes_per_item").get<std::uint64_t>()
                                      << " bytes per item)");
    BOOST_TEST(after < before);
    // The expired items' features (768 float32 each) are not on disk any more.
    BOOST_TEST(after < all_expired * 768 * sizeof(float) / 2, after);
    BOOST_TEST(after_status.at("expired").get<std::uint64_t>() == all_expired);

    // The index and the disk agree: no expired item is missed as a file.
    const auto verify = ndrd_cmd(l, {"verify"});
    BOOST_TEST(verify.code() == 0, verify.out << verify.err);

    // With the daemon running, the command goes to it and waits for it.
    daemon = std::make_unique<Daemon>(l, "daemon-again");
    BOOST_REQUIRE_MESSAGE(daemon->wait_ready(), daemon->log());
    const auto live = ndrd_cmd(l, {"compact"});
    BOOST_TEST_REQUIRE(live.code() == 0, live.err);
    BOOST_TEST(parse_json_line(live.out).at("ok").get<bool>());
    BOOST_TEST(daemon->log().find("compacted the index") != std::string::npos, daemon->log());
    BOOST_TEST(file_has(kept_file, kept));
    const auto stopped_again = daemon->stop();
    BOOST_TEST((stopped_again && *stopped_again == 0), daemon->log());
}

BOOST_AUTO_TEST_SUITE_END()
