// Minimal JSON (see json.hpp).
#include "daemon/telemetry/json.hpp"

#include <cmath>
#include <cstdio>
#include <sstream>
#include <stdexcept>

#include <boost/property_tree/json_parser.hpp>

namespace ndrd::daemon {

namespace {

// Length of the well-formed UTF-8 sequence starting at s[i] (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF), or 0.
std::size_t utf8_sequence(std::string_view s, std::size_t i)
{
    const auto byte = [&](std::size_t k) {
        return static_cast<unsigned char>(s[k]);
    };
    const unsigned char b0 = byte(i);
    std::size_t n = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        n = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        n = 3;
        lo = b0 == 0xE0 ? 0xA0 : 0x80;
        hi = b0 == 0xED ? 0x9F : 0xBF;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        n = 4;
        lo = b0 == 0xF0 ? 0x90 : 0x80;
        hi = b0 == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    if (i + n > s.size() || byte(i + 1) < lo || byte(i + 1) > hi) {
        return 0;
    }
    for (std::size_t k = 2; k < n; ++k) {
        if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) {
            return 0;
        }
    }
    return n;
}

void append_escape(std::string& out, unsigned code)
{
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\u%04x", code);
    out += buf;
}

} // namespace

std::string json_string(std::string_view s)
{
    std::string out = "\"";
    for (std::size_t i = 0; i < s.size();) {
        const char ch = s[i];
        const auto u = static_cast<unsigned char>(ch);
        if (u >= 0x80) {
            // File names are bytes, not always UTF-8. A byte that does not
            // start a valid sequence becomes U+FFFD, as strict parsers
            // (ours, jq, browsers) would make of it anyway; the index and
            // the file system keep the exact name.
            if (const std::size_t n = utf8_sequence(s, i); n > 0) {
                out.append(s.substr(i, n));
                i += n;
            } else {
                append_escape(out, 0xFFFDU);
                ++i;
            }
            continue;
        }
        switch (ch) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        case '\r': out += "\\r"; break;
        default:
            if (u < 0x20 || u == 0x7F) {
                append_escape(out, u);
            } else {
                out += ch;
            }
        }
        ++i;
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
