// Queries against the index (see query.hpp).
#include "daemon/control/query.hpp"

#include <stdexcept>
#include <string>
#include <vector>

namespace ndrd::daemon {

Json query_json(const index::HashIndex& index, const index::Feature& feature, const index::Key& key,
                const index::MatchRule& rule)
{
    const auto d = index.judge(feature, key, rule);
    Json o;
    o["ok"] = true;
    o["key"] = key.hex();
    o["decision"] = d.duplicate ? "duplicated" : "kept";
    o["similarity"] = d.best_similarity ? Json(*d.best_similarity) : Json(nullptr);
    o["matched_variant"] = d.variant ? Json(std::string(index::name(*d.variant))) : Json(nullptr);
    const auto matched = d.matched_seq != 0 ? index.get(d.matched_seq) : std::nullopt;
    o["matched_item"] = matched ? Json(matched->seq) : Json(nullptr);
    o["matched_source"] = matched ? Json(matched->source) : Json(nullptr);
    o["matched_location"] = matched ? Json(matched->location) : Json(nullptr);
    return o;
}

Json query_request(const index::Feature& feature, const index::Key& key)
{
    Json o;
    o["command"] = "query";
    o["key"] = key.hex();
    o["degenerate"] = feature.degenerate;
    // Written as the shortest text that reads back as the same double: the
    // daemon judges exactly the feature computed here.
    o["feature"] = feature.values;
    return o;
}

QueryRequest parse_query_request(const Json& request)
{
    QueryRequest q;
    try {
        q.key = index::Key::from_hex(field<std::string>(request, "key"));
    } catch (const std::invalid_argument& e) {
        throw RequestError(std::string("bad request: \"key\": ") + e.what());
    }
    q.feature.values = field<std::vector<double>>(request, "feature");
    q.feature.degenerate = field_or<bool>(request, "degenerate", false);
    return q;
}

Json answer_query(const index::HashIndex& index, const Json& request, const index::MatchRule& rule)
{
    const QueryRequest q = parse_query_request(request);
    const auto& params = index.params();
    if (q.feature.values.size() != static_cast<std::size_t>(params.grid.feature_dim())) {
        throw RequestError("bad request: \"feature\" has " + std::to_string(q.feature.values.size()) +
                           " values; this index's have " + std::to_string(params.grid.feature_dim()));
    }
    const auto key_bytes = static_cast<std::size_t>((params.hash_dim + 7) / 8);
    if (q.key.bytes.size() != key_bytes) {
        throw RequestError("bad request: \"key\" has " + std::to_string(2 * q.key.bytes.size()) +
                           " hex digits; this index's keys have " + std::to_string(2 * key_bytes));
    }
    return query_json(index, q.feature, q.key, rule);
}

} // namespace ndrd::daemon
