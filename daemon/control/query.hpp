// "Would this image be kept?" without ingesting it: the decision rule applied
// to a hashed image against the index, as a JSON object. The daemon answers
// it over the control socket (live index, live threshold); `ndrd query`
// falls back to a read-only snapshot when no daemon runs.
#pragma once

#include <string>

#include <boost/property_tree/ptree.hpp>

#include "index/hash/feature.hpp"
#include "index/hash/key.hpp"
#include "index/store/hash_index.hpp"

namespace ndrd::daemon {

// {"ok", "key", "decision": "kept"|"duplicated", "similarity", "matched_item",
//  "matched_source", "matched_location"} (matches null when none).
std::string query_json(const index::HashIndex& index, const index::Feature& feature, const index::Key& key,
                       const index::MatchRule& rule);

// The control request for a hashed image, and its reading on the daemon
// side (throws std::runtime_error on a malformed request).
std::string query_request(const index::Feature& feature, const index::Key& key);
void parse_query_request(const boost::property_tree::ptree& request, index::Feature& feature, index::Key& key);

} // namespace ndrd::daemon
