// Queries against the index (see query.hpp).
#include "daemon/control/query.hpp"

#include <cstdio>
#include <stdexcept>

#include "daemon/telemetry/json.hpp"

namespace ndrd::daemon {

std::string query_json(const index::HashIndex& index, const index::Feature& feature, const index::Key& key,
                       const index::MatchRule& rule)
{
    const auto d = index.judge(feature, key, rule);
    JsonObject o;
    o.add("ok", true).add("key", key.hex()).add("decision", d.duplicate ? "duplicated" : "kept");
    if (d.best_similarity) {
        o.add("similarity", *d.best_similarity);
    } else {
        o.add_raw("similarity", "null");
    }
    if (d.variant) {
        o.add("matched_variant", std::string(index::name(*d.variant)));
    } else {
        o.add_raw("matched_variant", "null");
    }
    const auto matched = d.matched_seq != 0 ? index.get(d.matched_seq) : std::nullopt;
    if (matched) {
        o.add("matched_item", matched->seq)
            .add("matched_source", matched->source)
            .add("matched_location", matched->location);
    } else {
        o.add_raw("matched_item", "null").add_raw("matched_source", "null").add_raw("matched_location", "null");
    }
    return o.str();
}

std::string query_request(const index::Feature& feature, const index::Key& key)
{
    std::string out = R"({"command": "query", "key": )" + json_string(key.hex()) +
                      ", \"degenerate\": " + (feature.degenerate ? "true" : "false") + ", \"feature\": [";
    char buf[40];
    for (std::size_t i = 0; i < feature.values.size(); ++i) {
        // 17 significant digits: the daemon sees exactly the doubles we computed.
        std::snprintf(buf, sizeof buf, "%s%.17g", i ? ", " : "", feature.values[i]);
        out += buf;
    }
    return out + "]}";
}

void parse_query_request(const boost::property_tree::ptree& request, index::Feature& feature, index::Key& key)
{
    const auto hex = request.get_optional<std::string>("key");
    const auto values = request.get_child_optional("feature");
    if (!hex || !values) {
        throw std::runtime_error(R"(query needs "key" and "feature")");
    }
    key = index::Key::from_hex(*hex);
    feature.values.clear();
    for (const auto& v : *values) {
        feature.values.push_back(v.second.get_value<double>());
    }
    feature.degenerate = request.get<bool>("degenerate", false);
}

} // namespace ndrd::daemon
