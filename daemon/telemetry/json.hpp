// JSON as ndrd prints it and reads it, through nlohmann::json: the one-line
// text of every answer, and type-checked fields of control-socket requests.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace ndrd::daemon {

// Objects keep their fields in the order they were added: the documented
// output lists them in that order, and people read them in it.
using Json = nlohmann::ordered_json;

// `value` as one line of JSON text, with ", " and ": " between items as ndrd
// has always printed it (operators' scripts look for `"cut": []`). Bytes of
// a string that are not UTF-8 (file names need not be) become U+FFFD, so the
// text is valid JSON whatever the name; the index and the disk keep the bytes.
std::string json_text(const Json& value);

// A request line that is not a JSON object, or a field of it that is missing
// or of the wrong type. The message names the field and what it must be.
class RequestError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Parses one line of JSON. Throws RequestError("invalid JSON: ...").
Json parse_json(std::string_view text);

// The field `name` of a request object, type-checked; throws RequestError
// when it is missing or of another type. T is one of std::string,
// std::uint64_t (a non-negative integer), bool, or std::vector<double>.
template <class T> T field(const Json& request, std::string_view name);

// The same, with `fallback` when the field is absent. A field present with
// the wrong type is still an error, not the fallback.
template <class T> T field_or(const Json& request, std::string_view name, T fallback);

} // namespace ndrd::daemon
