// `ndrd hash` prints Datumaro's feature (to 1e-5 per component) and, given
// the golden projection, Datumaro's key for every reference image.
#define BOOST_TEST_MODULE e2e_hash
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>

#include "e2e_support.hpp"

using namespace ndrd;
using namespace ndrd::e2e;

namespace {

// Runs `ndrd hash [extra...] --feature <every reference image>` and returns
// the parsed lines, checked to be one per file in argument order.
std::vector<nlohmann::json> hash_all(const std::vector<std::string>& names, const std::vector<std::string>& extra)
{
    std::vector<std::string> args{"hash"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.emplace_back("--feature");
    for (const auto& n : names)
        args.push_back(test::reference_image(n).string());
    const auto r = run_ndrd(args);
    BOOST_TEST_INFO("stderr: " << r.err);
    BOOST_REQUIRE_EQUAL(r.code(), 0);
    const auto lines = lines_of(r.out);
    BOOST_REQUIRE_EQUAL(lines.size(), names.size());
    std::vector<nlohmann::json> out;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        out.push_back(parse_json_line(lines[i]));
        BOOST_REQUIRE_EQUAL(out.back().value("file", ""), test::reference_image(names[i]).string());
    }
    return out;
}

void check_features(const std::vector<std::string>& names, const std::vector<nlohmann::json>& lines)
{
    const auto reference = reference_features();
    BOOST_REQUIRE_EQUAL(reference.size(), 65U);
    int checked = 0;
    for (std::size_t i = 0; i < names.size(); ++i) {
        BOOST_TEST_CONTEXT(names[i])
        {
            const auto& ref = reference.at(names[i]);
            const auto& line = lines[i];
            BOOST_REQUIRE(line.contains("feature"));
            const auto f = line.at("feature").get<std::vector<double>>();
            BOOST_REQUIRE_EQUAL(f.size(), 768U);
            const bool datumaro_nan = std::any_of(ref.begin(), ref.end(), [](double v) { return std::isnan(v); });
            if (datumaro_nan) {
                // Datumaro divides 0 by 0; ndrd flags the image instead.
                BOOST_CHECK_EQUAL(names[i], "synth_black.png");
                BOOST_CHECK(line.value("degenerate", false));
                continue;
            }
            BOOST_CHECK(!line.value("degenerate", false));
            double worst = 0;
            std::size_t worst_at = 0;
            for (std::size_t k = 0; k < 768; ++k) {
                const double d = std::abs(f[k] - ref[k]);
                if (!(d <= worst)) { // NaN counts as worst
                    worst = d;
                    worst_at = k;
                }
            }
            BOOST_CHECK_MESSAGE(worst <= 1e-5, "feature component " << worst_at << " is " << f[worst_at]
                                                                    << ", Datumaro " << ref[worst_at] << " (diff "
                                                                    << worst << ")");
            ++checked;
        }
    }
    BOOST_CHECK_EQUAL(checked, 64);
}

std::string projection_config(const test::TempDir& dir, int hash_dim)
{
    const Layout layout = make_layout(dir.path());
    ConfigOptions opt;
    opt.hash_dim = hash_dim;
    opt.projection = test::reference() / ("projection_768x" + std::to_string(hash_dim) + ".txt");
    test::write_file(layout.config, config_text(layout, opt));
    return layout.config.string();
}

bool is_hex(const std::string& s, std::size_t n)
{
    return s.size() == n &&
           std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

} // namespace

BOOST_AUTO_TEST_SUITE(hash_matches_datumaro)

BOOST_AUTO_TEST_CASE(features_without_config)
{
    const auto names = test::reference_image_names();
    BOOST_REQUIRE_EQUAL(names.size(), 65U);
    const auto lines = hash_all(names, {});
    check_features(names, lines);
    for (std::size_t i = 0; i < names.size(); ++i) {
        // The built-in default: 32 bits from the seed-0 projection.
        BOOST_CHECK_MESSAGE(is_hex(lines[i].value("key", ""), 8), names[i] << ": key is not 8 hex digits");
        BOOST_CHECK(!lines[i].contains("error"));
    }
}

BOOST_AUTO_TEST_CASE(features_and_32_bit_keys_with_golden_projection)
{
    test::TempDir dir;
    const auto config = projection_config(dir, 32);
    const auto names = test::reference_image_names();
    const auto lines = hash_all(names, {"--config", config});
    check_features(names, lines);
    const auto keys = reference_keys();
    for (std::size_t i = 0; i < names.size(); ++i) {
        BOOST_TEST_CONTEXT(names[i])
        {
            BOOST_REQUIRE(lines[i].contains("key"));
            const auto key = lines[i].at("key").get<std::string>();
            if (keys.at(names[i]).key32 == "nan") {
                // NaN >= 0 is false for every bit: Datumaro's all-zero key.
                BOOST_CHECK_EQUAL(key, "00000000");
            } else {
                BOOST_CHECK_EQUAL(key, keys.at(names[i]).key32);
            }
        }
    }
    // `hash` reads an index, it never creates one.
    BOOST_CHECK(!fs::exists(dir / "index"));
}

BOOST_AUTO_TEST_CASE(keys_16_bit_with_golden_projection)
{
    test::TempDir dir;
    const auto config = projection_config(dir, 16);
    const auto names = test::reference_image_names();
    std::vector<std::string> args{"hash", "--config", config};
    for (const auto& n : names)
        args.push_back(test::reference_image(n).string());
    const auto r = run_ndrd(args);
    BOOST_REQUIRE_EQUAL(r.code(), 0);
    const auto lines = lines_of(r.out);
    BOOST_REQUIRE_EQUAL(lines.size(), names.size());
    const auto keys = reference_keys();
    for (std::size_t i = 0; i < names.size(); ++i) {
        const auto line = parse_json_line(lines[i]);
        const auto want = keys.at(names[i]).key16 == "nan" ? std::string("0000") : keys.at(names[i]).key16;
        BOOST_CHECK_MESSAGE(line.value("key", "") == want,
                            names[i] << ": key " << line.value("key", "<none>") << ", Datumaro " << want);
        BOOST_CHECK(!line.contains("feature")); // only with --feature
    }
}

BOOST_AUTO_TEST_CASE(existing_index_supplies_the_projection)
{
    // An index built with the golden projection; then hash with a config that
    // names no projection: the index's must be used, giving Datumaro's keys.
    test::TempDir dir;
    const Layout layout = make_layout(dir.path());
    write_config(layout, ConfigOptions{});
    BOOST_REQUIRE_EQUAL(run_ndrd({"once", "--config", layout.config.string()}).code(), 0);
    ConfigOptions no_projection;
    no_projection.projection.reset();
    write_config(layout, no_projection);
    const auto r =
        run_ndrd({"hash", "--config", layout.config.string(), test::reference_image("astronaut.png").string(),
                  test::reference_image("rocket.jpg").string()});
    BOOST_REQUIRE_EQUAL(r.code(), 0);
    const auto lines = lines_of(r.out);
    BOOST_REQUIRE_EQUAL(lines.size(), 2U);
    const auto keys = reference_keys();
    BOOST_CHECK_EQUAL(parse_json_line(lines[0]).value("key", ""), keys.at("astronaut.png").key32);
    BOOST_CHECK_EQUAL(parse_json_line(lines[1]).value("key", ""), keys.at("rocket.jpg").key32);
}

BOOST_AUTO_TEST_CASE(undecodable_file_reports_error_and_exit_1)
{
    const std::string good = test::reference_image("coins.png").string();
    const std::string bad = (test::reference() / "images_undecodable/truncated.jpg").string();
    const auto r = run_ndrd({"hash", good, bad, good});
    BOOST_CHECK_EQUAL(r.code(), 1);
    const auto lines = lines_of(r.out);
    BOOST_REQUIRE_EQUAL(lines.size(), 3U); // the bad file does not stop the others
    const auto first = parse_json_line(lines[0]);
    const auto middle = parse_json_line(lines[1]);
    const auto last = parse_json_line(lines[2]);
    BOOST_CHECK_EQUAL(middle.value("file", ""), bad);
    BOOST_CHECK(!middle.value("error", "").empty());
    BOOST_CHECK(!middle.contains("key"));
    BOOST_CHECK(first.contains("key") && !first.contains("error"));
    BOOST_CHECK(last.contains("key") && last.value("key", "") == first.value("key", ""));

    const auto alone = run_ndrd({"hash", bad});
    BOOST_CHECK_EQUAL(alone.code(), 1);
    BOOST_CHECK(parse_json_line(lines_of(alone.out).at(0)).contains("error"));

    const auto missing = run_ndrd({"hash", "/nonexistent/nothing.png"});
    BOOST_CHECK_EQUAL(missing.code(), 1);
    BOOST_CHECK(parse_json_line(lines_of(missing.out).at(0)).contains("error"));
}

BOOST_AUTO_TEST_CASE(no_file_is_a_usage_error)
{
    BOOST_CHECK_EQUAL(run_ndrd({"hash"}).code(), 64);
}

BOOST_AUTO_TEST_SUITE_END()
