// "Would this image be kept?" without ingesting it: the decision rule applied
// to a hashed image against the index, as a JSON object. The daemon answers
// it over the control socket (live index, live threshold); `ndrd query`
// falls back to a read-only snapshot when no daemon runs.
#pragma once

#include "daemon/telemetry/json.hpp"
#include "index/hash/feature.hpp"
#include "index/hash/key.hpp"
#include "index/store/hash_index.hpp"

namespace ndrd::daemon {

// {"ok", "key", "decision": "kept"|"duplicated", "similarity",
//  "matched_variant", "matched_item", "matched_source", "matched_location"}
// (matches null when none).
Json query_json(const index::HashIndex& index, const index::Feature& feature, const index::Key& key,
                const index::MatchRule& rule);

// A hashed image as the client sends it to the daemon.
struct QueryRequest {
    index::Feature feature;
    index::Key key;
};

// The control request for a hashed image: {"command": "query", "key",
// "degenerate", "feature"}, every double as it was computed.
Json query_request(const index::Feature& feature, const index::Key& key);

// Its reading on the daemon side. Throws RequestError naming the field that
// is missing, of the wrong type, or (for "key") not hexadecimal.
QueryRequest parse_query_request(const Json& request);

// The daemon's answer to a query request: query_json, once the request is
// read and its feature and key have the index's sizes (RequestError if not).
Json answer_query(const index::HashIndex& index, const Json& request, const index::MatchRule& rule);

} // namespace ndrd::daemon
