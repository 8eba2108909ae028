// Thumbnails: bounded edge, cached by item and digest, the next place tried
// when the first is empty, and the placeholder (never an error) for a file
// that is gone or does not decode.
#define BOOST_TEST_MODULE thumbnails
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>

#include <opencv2/imgcodecs.hpp>

#include "daemon/report/thumbnails.hpp"
#include "test_support.hpp"

BOOST_TEST_DONT_PRINT_LOG_VALUE(ndrd::daemon::ThumbnailResult)

using namespace ndrd;
using namespace ndrd::daemon;
namespace fs = std::filesystem;

namespace {

ThumbnailJob job(std::uint64_t seq, std::vector<fs::path> candidates, std::string digest = "0123456789abcdef")
{
    return {seq, std::move(digest), 100, std::move(candidates)};
}

cv::Mat read_back(const test::TempDir& dir, const Thumbnail& t)
{
    return cv::imread((dir.path() / t.href).string(), cv::IMREAD_UNCHANGED);
}

} // namespace

BOOST_AUTO_TEST_SUITE(thumbnails)

BOOST_AUTO_TEST_CASE(a_thumbnail_is_bounded_and_made_once)
{
    test::TempDir dir;
    const ThumbnailMaker maker(dir.path(), 64, 64'000'000);
    const auto j = job(7, {test::reference_image("astronaut.png")});
    const Thumbnail first = maker.make(j);
    BOOST_TEST(first.result == ThumbnailResult::made);
    BOOST_TEST(first.href == "thumbs/" + ThumbnailMaker::file_name(j));
    const cv::Mat img = read_back(dir, first);
    BOOST_TEST_REQUIRE(!img.empty());
    BOOST_TEST(std::max(img.cols, img.rows) == 64);
    BOOST_TEST(img.channels() == 3);
    const Thumbnail again = maker.make(j);
    BOOST_TEST(again.result == ThumbnailResult::cached);
    BOOST_TEST(again.href == first.href);
    // Other content under the same item (a record rewritten) is another thumbnail.
    BOOST_TEST(ThumbnailMaker::file_name(job(7, {}, "fedcba9876543210")) != ThumbnailMaker::file_name(j));
    BOOST_TEST(ThumbnailMaker::file_name(job(7, {}, "")) == "7-s100.jpg");
}

BOOST_AUTO_TEST_CASE(the_next_place_is_tried_when_the_file_is_not_where_it_was)
{
    test::TempDir dir;
    const ThumbnailMaker maker(dir.path(), 48, 64'000'000);
    const Thumbnail t = maker.make(job(3, {dir.path() / "gone.png", test::reference_image("camera.png")}));
    BOOST_TEST(t.result == ThumbnailResult::made);
    BOOST_TEST(!read_back(dir, t).empty());
}

BOOST_AUTO_TEST_CASE(a_missing_or_undecodable_file_gets_the_placeholder)
{
    test::TempDir dir;
    const ThumbnailMaker maker(dir.path(), 48, 64'000'000);
    const Thumbnail gone = maker.make(job(1, {dir.path() / "gone.jpg"}));
    BOOST_TEST(gone.result == ThumbnailResult::missing);
    BOOST_TEST(gone.href == std::string(kPlaceholder));
    const Thumbnail bad = maker.make(job(2, {test::reference() / "images_undecodable" / "truncated.jpg"}));
    BOOST_TEST(bad.result == ThumbnailResult::undecodable);
    BOOST_TEST(bad.href == std::string(kPlaceholder));
    BOOST_TEST(test::entries_under(dir.path() / "thumbs").empty(), "nothing half-written is left");
}

BOOST_AUTO_TEST_CASE(sixteen_bit_images_become_eight_bit_thumbnails)
{
    test::TempDir dir;
    cv::Mat deep(100, 80, CV_16UC3, cv::Scalar(60000, 30000, 1000));
    BOOST_TEST_REQUIRE(cv::imwrite((dir.path() / "deep.png").string(), deep));
    const ThumbnailMaker maker(dir.path() / "site", 40, 64'000'000);
    const Thumbnail t = maker.make(job(4, {dir.path() / "deep.png"}));
    BOOST_TEST_REQUIRE(t.result == ThumbnailResult::made);
    const cv::Mat img = cv::imread((dir.path() / "site" / t.href).string(), cv::IMREAD_UNCHANGED);
    BOOST_TEST(img.depth() == CV_8U);
    BOOST_TEST(img.rows == 40);
    BOOST_TEST(std::abs(img.at<cv::Vec3b>(20, 16)[0] - 233) <= 3); // 60000 / 257
}

BOOST_AUTO_TEST_CASE(many_jobs_on_several_threads_come_back_in_order)
{
    test::TempDir dir;
    const ThumbnailMaker maker(dir.path(), 32, 64'000'000);
    std::vector<ThumbnailJob> jobs;
    const auto names = test::reference_image_names();
    for (std::size_t i = 0; i < 12; ++i) {
        jobs.push_back(job(i + 1, {test::reference_image(names[i])}));
    }
    jobs.push_back(job(99, {dir.path() / "gone.png"}));
    std::size_t last_done = 0, last_total = 0;
    const auto out = make_thumbnails(maker, jobs, 3, [&](std::size_t done, std::size_t total) {
        last_done = done;
        last_total = total;
    });
    BOOST_TEST_REQUIRE(out.size() == jobs.size());
    for (std::size_t i = 0; i + 1 < jobs.size(); ++i) {
        BOOST_TEST(out[i].href == "thumbs/" + ThumbnailMaker::file_name(jobs[i]));
    }
    BOOST_TEST(out.back().result == ThumbnailResult::missing);
    BOOST_TEST(last_done == jobs.size());
    BOOST_TEST(last_total == jobs.size());
}

BOOST_AUTO_TEST_SUITE_END()
