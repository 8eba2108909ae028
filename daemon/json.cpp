// Minimal JSON (see json.hpp).
#include "daemon/json.hpp"

#include <cmath>
#include <cstdio>
#include <sstream>
#include <stdexcept>

#include <boost/property_tree/json_parser.hpp>

namespace ndrd::daemon {

std::string json_string(std::string_view s)
{
    std::string out = "\"";
    for (const char ch : s) {
        switch (ch) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        case '\r': out += "\\r"; break;
        default:
            if (static_cast<unsigned char>(ch) < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(ch)));
                out += buf;
            } else {
                out += ch;
            }
        }
    }
    return out + "\"";
}

void JsonObject::key(std::string_view k)
{
    if (body_.size() > 1) body_ += ", ";
    body_ += json_string(k) + ": ";
}

JsonObject& JsonObject::add(std::string_view k, std::string_view value)
{
    key(k);
    body_ += json_string(value);
    return *this;
}

JsonObject& JsonObject::add(std::string_view k, std::uint64_t value)
{
    key(k);
    body_ += std::to_string(value);
    return *this;
}

JsonObject& JsonObject::add(std::string_view k, double value)
{
    key(k);
    if (!std::isfinite(value)) {
        body_ += "null";
        return *this;
    }
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", value);
    body_ += buf;
    return *this;
}

JsonObject& JsonObject::add(std::string_view k, bool value)
{
    key(k);
    body_ += value ? "true" : "false";
    return *this;
}

JsonObject& JsonObject::add_raw(std::string_view k, std::string_view json)
{
    key(k);
    body_ += json;
    return *this;
}

JsonObject& JsonObject::add(std::string_view k, const std::vector<std::string>& values)
{
    key(k);
    body_ += "[";
    for (std::size_t i = 0; i < values.size(); ++i) {
        body_ += (i ? ", " : "") + json_string(values[i]);
    }
    body_ += "]";
    return *this;
}

boost::property_tree::ptree parse_json(const std::string& text)
{
    boost::property_tree::ptree tree;
    std::istringstream in(text);
    try {
        boost::property_tree::read_json(in, tree);
    } catch (const boost::property_tree::json_parser_error& e) {
        throw std::runtime_error("invalid JSON: " + e.message());
    }
    return tree;
}

} // namespace ndrd::daemon
