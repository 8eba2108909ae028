// "Would this image be kept?" against a real index: a near-duplicate is
// answered duplicated with the item it matched, a new image kept with no
// match, and the control request carries the feature without losing a bit.
#define BOOST_TEST_MODULE query
#include <boost/test/unit_test.hpp>

#include "daemon/control/query.hpp"
#include "daemon/telemetry/json.hpp"
#include "index/hash/key.hpp"
#include "index_fixtures.hpp"
#include "reference_data.hpp"
#include "route_fixtures.hpp"

using namespace ndrd;
using daemon::Json;
using index::Verdict;

namespace {

// Datumaro's 32-bit key for a reference image (keys.csv).
std::string golden_key(const std::string& image)
{
    for (const auto& row : test::read_csv(test::reference() / "keys.csv")) {
        if (row.at(0) == image) return row.at(1);
    }
    throw std::runtime_error("no key for " + image);
}

// coins__bright8.png indexed as item 1 at train/a_coins.png. In Datumaro's
// decisions (h32_t0.5) coins__crop3.png is its duplicate, similarity 0.7544.
struct Indexed {
    test::Deployment d;
    Indexed()
    {
        auto rec = test::make_record(1, "00000000", Verdict::kept);
        test::hash_reference_image(rec, "coins__bright8.png", d.index().projection());
        rec.source = "a_coins.png";
        d.add_settled(rec);
    }

    Json ask(const std::string& image, double threshold)
    {
        const auto feature = test::feature_of(image);
        const auto key = index::compute_key(feature, d.index().projection());
        index::MatchRule rule;
        rule.sim_threshold = threshold;
        return daemon::query_json(d.index(), feature, key, rule);
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(query)

BOOST_AUTO_TEST_CASE(a_near_duplicate_is_answered_duplicated_with_the_item_it_matched)
{
    Indexed indexed;

    const Json answer = indexed.ask("coins__crop3.png", 0.5);

    BOOST_TEST(answer.at("ok").get<bool>());
    BOOST_TEST(answer.at("decision").get<std::string>() == "duplicated");
    BOOST_TEST(answer.at("key").get<std::string>() == golden_key("coins__crop3.png"));
    BOOST_TEST(answer.at("similarity").get<double>() == 0.75441602017779485, boost::test_tools::tolerance(1e-5));
    BOOST_TEST(answer.at("matched_item").get<std::uint64_t>() == 1U);
    BOOST_TEST(answer.at("matched_source").get<std::string>() == "a_coins.png");
    BOOST_TEST(answer.at("matched_location").get<std::string>() == "train/a_coins.png");
    // Asking ingests nothing.
    BOOST_TEST(indexed.d.index().next_seq() == 2U);
}

BOOST_AUTO_TEST_CASE(a_new_image_is_answered_kept_with_no_match)
{
    Indexed indexed;

    const Json answer = indexed.ask("camera.png", 0.5);

    BOOST_TEST(answer.at("decision").get<std::string>() == "kept");
    BOOST_TEST(answer.at("key").get<std::string>() == golden_key("camera.png"));
    for (const char* field : {"similarity", "matched_item", "matched_source", "matched_location"}) {
        BOOST_TEST(answer.at(field).is_null(), field);
    }
}

BOOST_AUTO_TEST_CASE(the_threshold_of_the_rule_decides)
{
    Indexed indexed;

    const Json answer = indexed.ask("coins__crop3.png", 0.9);

    BOOST_TEST(answer.at("decision").get<std::string>() == "kept");
    BOOST_TEST(answer.at("similarity").get<double>() == 0.75441602017779485, boost::test_tools::tolerance(1e-5));
}

BOOST_AUTO_TEST_CASE(the_request_carries_feature_and_key_exactly_through_its_text)
{
    auto feature = test::feature_of("coins__crop3.png");
    feature.degenerate = true; // the flag travels too
    const auto key = index::compute_key(feature, test::golden_projection(32));

    // As the control socket carries it: one line of text.
    const Json request = daemon::parse_json(daemon::json_text(daemon::query_request(feature, key)));
    const auto read = daemon::parse_query_request(request);

    BOOST_TEST(request.at("command").get<std::string>() == "query");
    BOOST_TEST(read.feature.values == feature.values, boost::test_tools::per_element()); // bit for bit
    BOOST_TEST(read.key.hex() == key.hex());
    BOOST_TEST(read.feature.degenerate);
}

BOOST_AUTO_TEST_CASE(the_daemons_answer_to_a_request_is_the_query_answer)
{
    Indexed indexed;
    const auto feature = test::feature_of("coins__crop3.png");
    const auto key = index::compute_key(feature, indexed.d.index().projection());

    const Json answer = daemon::answer_query(indexed.d.index(), daemon::query_request(feature, key), {});

    BOOST_TEST(answer.at("decision").get<std::string>() == "duplicated");
    BOOST_TEST(answer.at("matched_item").get<std::uint64_t>() == 1U);
}

BOOST_AUTO_TEST_CASE(a_request_missing_a_field_or_of_the_wrong_size_is_refused_naming_the_field)
{
    Indexed indexed;
    const auto feature = test::feature_of("coins__crop3.png");
    const Json valid = daemon::query_request(feature, index::compute_key(feature, indexed.d.index().projection()));
    const auto refusal = [&](const Json& request) {
        try {
            (void)daemon::answer_query(indexed.d.index(), request, {});
        } catch (const daemon::RequestError& e) {
            return std::string(e.what());
        }
        BOOST_ERROR("no RequestError for " << request.dump());
        return std::string();
    };
    for (const char* field : {"key", "feature"}) {
        Json request = valid;
        request.erase(field);
        BOOST_TEST(refusal(request).find(field) != std::string::npos, field);
    }
    Json short_key = valid;
    short_key["key"] = "0a";
    BOOST_TEST(refusal(short_key).find("key") != std::string::npos);
    Json short_feature = valid;
    short_feature["feature"] = std::vector<double>{0.5, 0.5};
    BOOST_TEST(refusal(short_feature).find("feature") != std::string::npos);
    Json not_hex = valid;
    not_hex["key"] = "zzzzzzzz";
    BOOST_TEST(refusal(not_hex).find("key") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
