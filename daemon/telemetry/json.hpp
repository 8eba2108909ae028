// The little JSON the CLI and the control socket speak: a writer for flat
// objects and arrays, and parsing through Boost.PropertyTree.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/property_tree/ptree.hpp>

namespace ndrd::daemon {

// JSON string literal for `s`, quotes included. Bytes that are not UTF-8
// (file names need not be) become U+FFFD, so the output is always valid JSON.
std::string json_string(std::string_view s);

// Builds one JSON object, field by field, in insertion order.
class JsonObject {
public:
    JsonObject& add(std::string_view key, std::string_view value);
    JsonObject& add(std::string_view key, const char* value) { return add(key, std::string_view(value)); }
    JsonObject& add(std::string_view key, std::uint64_t value);
    JsonObject& add(std::string_view key, double value);
    JsonObject& add(std::string_view key, bool value);
    JsonObject& add_raw(std::string_view key, std::string_view json); // an already-encoded value
    JsonObject& add(std::string_view key, const std::vector<std::string>& values);
    [[nodiscard]] std::string str() const { return body_ + "}"; }

private:
    void key(std::string_view k);
    std::string body_ = "{";
};

// Throws std::runtime_error with the parser's message on invalid JSON.
boost::property_tree::ptree parse_json(const std::string& text);

} // namespace ndrd::daemon
