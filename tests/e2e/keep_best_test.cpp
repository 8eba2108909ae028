// keep: best end to end: a 320-pixel thumbnail arrives, then the 4000-pixel
// photo it was made from. With `best` the running daemon moves the thumbnail
// out of the working subset and keeps the photo, matched and exported as a
// replacement; with `first` (Datumaro's rule) the thumbnail stays kept.
#define BOOST_TEST_MODULE e2e_keep_best
#include <boost/test/unit_test.hpp>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "e2e_support.hpp"

using namespace ndrd;
using namespace ndrd::e2e;

namespace {

// A 4000 x 2667 photo (a reference picture enlarged) and its 320 x 213
// thumbnail, both JPEG.
struct Pair {
    std::string full;
    std::string thumb;
};

std::string jpeg(const cv::Mat& img, int quality)
{
    std::vector<unsigned char> out;
    cv::imencode(".jpg", img, out, {cv::IMWRITE_JPEG_QUALITY, quality});
    return {out.begin(), out.end()};
}

const Pair& photo_and_thumbnail()
{
    static const Pair pair = [] {
        const cv::Mat picture = cv::imread(test::reference_image("chelsea.png").string(), cv::IMREAD_COLOR);
        cv::Mat full;
        cv::resize(picture, full, {4000, 2667}, 0, 0, cv::INTER_CUBIC);
        cv::Mat thumb;
        cv::resize(full, thumb, {320, 213}, 0, 0, cv::INTER_AREA);
        return Pair{jpeg(full, 90), jpeg(thumb, 80)};
    }();
    return pair;
}

ConfigOptions keeping(const std::string& keep)
{
    ConfigOptions o;
    o.compat = "off";
    o.extra = "keep: " + keep + "\n";
    return o;
}

std::map<std::string, test::CsvRow> rows_by_source(const Layout& l)
{
    const auto csv = run_ndrd({"export", "--config", l.config.string()});
    BOOST_TEST_REQUIRE(csv.code() == 0, csv.err);
    std::map<std::string, test::CsvRow> out;
    for (auto& row : test::parse_csv_rows(csv.out)) {
        out[row.at("source")] = std::move(row);
    }
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(keep_best)

BOOST_AUTO_TEST_CASE(the_full_image_replaces_its_thumbnail_in_a_running_daemon)
{
    test::TempDir dir;
    const Layout l = make_layout(dir / "best");
    write_config(l, keeping("best"));
    Daemon d(l);
    BOOST_TEST_REQUIRE(d.wait_ready(), d.log());

    test::write_file(l.ingest / "thumb.jpg", photo_and_thumbnail().thumb);
    BOOST_TEST_REQUIRE(eventually([&] { return fs::exists(l.output / "train" / "thumb.jpg"); }), d.log());
    test::write_file(l.ingest / "full.jpg", photo_and_thumbnail().full);
    BOOST_TEST_REQUIRE(eventually([&] { return fs::exists(l.output / "duplicated" / "thumb.jpg"); }), d.log());
    BOOST_TEST(fs::exists(l.output / "train" / "full.jpg"));
    BOOST_TEST(!fs::exists(l.output / "train" / "thumb.jpg"));
    BOOST_TEST(d.log().find("is a better copy than item 1 (thumb.jpg)") != std::string::npos, d.log());
    BOOST_TEST((d.stop() == std::optional<ExitStatus>(0)));

    const auto rows = rows_by_source(l);
    BOOST_TEST_REQUIRE(rows.size() == 2U);
    const auto thumb_row = test::mismatches(rows.at("thumb.jpg"), {{"item", "1"},
                                                                   {"location", "duplicated/thumb.jpg"},
                                                                   {"decision", "duplicated"},
                                                                   {"state", "done"},
                                                                   {"matched_item", "2"},
                                                                   {"pixels", "68160"},
                                                                   {"replaced_item", ""},
                                                                   {"replaced_by_item", "2"}});
    BOOST_TEST(thumb_row.empty(), thumb_row);
    const auto full_row = test::mismatches(rows.at("full.jpg"), {{"item", "2"},
                                                                 {"location", "train/full.jpg"},
                                                                 {"decision", "kept"},
                                                                 {"pixels", "10668000"},
                                                                 {"replaced_item", "1"},
                                                                 {"replaced_by_item", ""}});
    BOOST_TEST(full_row.empty(), full_row);
    BOOST_TEST(rows.at("thumb.jpg").at("best_similarity") == rows.at("full.jpg").at("best_similarity"));

    const auto v = run_ndrd({"verify", "--config", l.config.string()});
    BOOST_TEST(v.code() == 0, v.out << v.err);
    const auto status = run_ndrd({"status", "--config", l.config.string()});
    BOOST_TEST(status.out.find("replaced") != std::string::npos, status.out);
}

BOOST_AUTO_TEST_CASE(with_keep_first_the_thumbnail_stays_and_the_full_image_is_its_duplicate)
{
    test::TempDir dir;
    const auto rows =
        once_rows(dir / "first", keeping("first"),
                  {{"a_thumb.jpg", photo_and_thumbnail().thumb}, {"b_full.jpg", photo_and_thumbnail().full}});
    BOOST_TEST_REQUIRE(rows.size() == 2U);
    BOOST_TEST(rows[0].at("decision") == "kept");
    BOOST_TEST(rows[0].at("location") == "train/a_thumb.jpg");
    BOOST_TEST(rows[1].at("decision") == "duplicated");
    BOOST_TEST(rows[1].at("matched_item") == "1");
    BOOST_TEST(rows[1].at("replaced_item").empty());
}

BOOST_AUTO_TEST_CASE(with_keep_best_a_thumbnail_after_its_photo_changes_nothing)
{
    test::TempDir dir;
    const auto rows =
        once_rows(dir / "later", keeping("best"),
                  {{"a_full.jpg", photo_and_thumbnail().full}, {"b_thumb.jpg", photo_and_thumbnail().thumb}});
    BOOST_TEST_REQUIRE(rows.size() == 2U);
    BOOST_TEST(rows[0].at("decision") == "kept");
    BOOST_TEST(rows[0].at("replaced_by_item").empty());
    BOOST_TEST(rows[1].at("decision") == "duplicated");
    BOOST_TEST(rows[1].at("location") == "duplicated/b_thumb.jpg");
}

BOOST_AUTO_TEST_CASE(keep_best_is_refused_with_compat_datumaro)
{
    test::TempDir dir;
    const Layout l = make_layout(dir / "refused");
    ConfigOptions o;
    o.extra = "keep: best\n";
    write_config(l, o);
    const auto r = run_ndrd({"check", "--config", l.config.string()});
    BOOST_TEST(r.code() == 78, r.out << r.err);
    BOOST_TEST(r.err.find("keep") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_SUITE_END()
