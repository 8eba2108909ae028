// exif_orientation end to end: the eight EXIF orientations of one photo are
// one kept image and seven duplicates with `apply`; with `ignore` the tags
// change nothing (decisions as for the same pixels without tags); and the
// setting is fixed in the index (exit 78 when the configuration changes it).
#define BOOST_TEST_MODULE e2e_orientation
#include <boost/test/unit_test.hpp>

#include <opencv2/imgcodecs.hpp>

#include "e2e_support.hpp"
#include "oriented_images.hpp"

using namespace ndrd;
using namespace ndrd::e2e;

namespace {

// Exact keys and no flips or turns: only the orientation can make the eight
// files one image.
ConfigOptions plain_matching(const std::string& orientation)
{
    ConfigOptions o;
    o.compat = "off";
    o.probe_radius = 0;
    o.invariance = "[]";
    o.extra = "exif_orientation: " + orientation + "\n";
    return o;
}

// The photo stored in the eight ways a camera may store it, o1.jpg..o8.jpg,
// tagged or not.
std::vector<std::pair<std::string, std::string>> eight_files(bool tagged)
{
    const cv::Mat photo = cv::imread(test::reference_image("chelsea.png").string(), cv::IMREAD_COLOR);
    std::vector<std::pair<std::string, std::string>> files;
    for (int tag = 1; tag <= 8; ++tag) {
        std::string bytes = test::jpeg_with_orientation(photo, tag, 92);
        if (!tagged) {
            std::vector<unsigned char> plain;
            cv::imencode(".jpg", test::stored_for(photo, tag), plain, {cv::IMWRITE_JPEG_QUALITY, 92});
            bytes.assign(plain.begin(), plain.end());
        }
        files.emplace_back("o" + std::to_string(tag) + ".jpg", bytes);
    }
    return files;
}

// `once` over `files` on a fresh layout: "kept" or "duplicated of N" per source.
std::map<std::string, std::string> decisions(const fs::path& root, const ConfigOptions& o,
                                             const std::vector<std::pair<std::string, std::string>>& files)
{
    std::map<std::string, std::string> out;
    for (const auto& row : once_rows(root, o, files)) {
        out[row.at("source")] =
            row.at("decision") + (row.at("matched_item").empty() ? "" : " of " + row.at("matched_item"));
    }
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(exif_orientation)

BOOST_AUTO_TEST_CASE(with_apply_the_eight_orientations_of_a_photo_are_one_image)
{
    test::TempDir dir;
    const auto d = decisions(dir / "apply", plain_matching("apply"), eight_files(true));
    BOOST_TEST_REQUIRE(d.size() == 8U);
    BOOST_TEST(d.at("o1.jpg").starts_with("kept"), d.at("o1.jpg"));
    for (int tag = 2; tag <= 8; ++tag) {
        const std::string name = "o" + std::to_string(tag) + ".jpg";
        BOOST_TEST(d.at(name) == "duplicated of 1", name << ": " << d.at(name));
    }
}

BOOST_AUTO_TEST_CASE(with_ignore_the_tags_change_nothing)
{
    test::TempDir dir;
    const auto tagged = decisions(dir / "tagged", plain_matching("ignore"), eight_files(true));
    const auto untagged = decisions(dir / "untagged", plain_matching("ignore"), eight_files(false));
    BOOST_TEST(tagged == untagged);
    std::size_t kept = 0;
    for (const auto& [name, decision] : tagged)
        kept += decision.starts_with("kept") ? 1 : 0;
    BOOST_TEST(kept > 1U, "the quarter-turned pixels are other images without the tag");
}

BOOST_AUTO_TEST_CASE(the_setting_is_fixed_when_the_index_is_created)
{
    test::TempDir dir;
    const Layout l = make_layout(dir / "fixed");
    write_config(l, plain_matching("ignore"));
    BOOST_TEST_REQUIRE(run_ndrd({"once", "--config", l.config.string()}).code() == 0);
    write_config(l, plain_matching("apply"));
    const auto r = run_ndrd({"once", "--config", l.config.string()});
    BOOST_TEST(r.code() == 78);
    BOOST_TEST(r.err.find("exif_orientation apply") != std::string::npos, r.err);
    const auto check = run_ndrd({"check", "--config", l.config.string()});
    BOOST_TEST(check.code() == 1);
    BOOST_TEST(check.out.find("exif_orientation") != std::string::npos, check.out);
}

BOOST_AUTO_TEST_SUITE_END()
