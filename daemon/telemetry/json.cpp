// JSON text and typed request fields (see json.hpp).
#include "daemon/telemetry/json.hpp"

#include <cstdint>
#include <vector>

namespace ndrd::daemon {

namespace {

// nlohmann's own text for a scalar, with stray bytes as U+FFFD instead of
// the exception its strict default throws.
void append_scalar(std::string& out, const Json& value)
{
    out += value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

void append(std::string& out, const Json& value)
{
    if (value.is_object()) {
        out += '{';
        for (auto it = value.begin(); it != value.end(); ++it) {
            if (it != value.begin()) out += ", ";
            append_scalar(out, Json(it.key()));
            out += ": ";
            append(out, it.value());
        }
        out += '}';
    } else if (value.is_array()) {
        out += '[';
        for (auto it = value.begin(); it != value.end(); ++it) {
            if (it != value.begin()) out += ", ";
            append(out, *it);
        }
        out += ']';
    } else {
        append_scalar(out, value);
    }
}

// What a field holds, for an error message: "a string", "the number -1".
std::string describe(const Json& value)
{
    if (value.is_number()) return "the number " + value.dump();
    if (value.is_null()) return "null";
    const std::string type = value.type_name();
    return (type == "array" || type == "object" ? "an " : "a ") + type;
}

std::string quoted(std::string_view name)
{
    return "\"" + std::string(name) + "\"";
}

// `what` names the value: "\"item\"", or "\"feature\"[3]" for an element.
[[noreturn]] void wrong_type(const std::string& what, std::string_view expected, const Json& value)
{
    throw RequestError("bad request: " + what + " must be " + std::string(expected) + ", not " + describe(value));
}

// How each field type is checked, named and read.
template <class T> struct FieldType;

template <> struct FieldType<std::string> {
    static constexpr std::string_view expected = "a string";
    static std::string read(const Json& v, std::string_view name)
    {
        if (!v.is_string()) wrong_type(quoted(name), expected, v);
        return v.get<std::string>();
    }
};

template <> struct FieldType<std::uint64_t> {
    static constexpr std::string_view expected = "a non-negative integer";
    static std::uint64_t read(const Json& v, std::string_view name)
    {
        if (!v.is_number_unsigned()) wrong_type(quoted(name), expected, v);
        return v.get<std::uint64_t>();
    }
};

template <> struct FieldType<bool> {
    static constexpr std::string_view expected = "true or false";
    static bool read(const Json& v, std::string_view name)
    {
        if (!v.is_boolean()) wrong_type(quoted(name), expected, v);
        return v.get<bool>();
    }
};

template <> struct FieldType<std::vector<double>> {
    static constexpr std::string_view expected = "an array of numbers";
    static std::vector<double> read(const Json& v, std::string_view name)
    {
        if (!v.is_array()) wrong_type(quoted(name), expected, v);
        std::vector<double> out;
        out.reserve(v.size());
        for (const auto& item : v) {
            if (!item.is_number()) {
                wrong_type(quoted(name) + "[" + std::to_string(out.size()) + "]", "a number", item);
            }
            out.push_back(item.get<double>());
        }
        return out;
    }
};

const Json* find_field(const Json& request, std::string_view name)
{
    if (!request.is_object()) return nullptr;
    const auto it = request.find(name);
    return it == request.end() ? nullptr : &*it;
}

} // namespace

std::string json_text(const Json& value)
{
    std::string out;
    append(out, value);
    return out;
}

Json parse_json(std::string_view text)
{
    try {
        return Json::parse(text);
    } catch (const Json::parse_error& e) {
        // what() opens with the exception's id ("[json.exception.parse_error.101] "),
        // which says nothing to the person who sent the line.
        const std::string_view what = e.what();
        const auto id_end = what.starts_with('[') ? what.find("] ") : std::string_view::npos;
        throw RequestError("invalid JSON: " +
                           std::string(id_end == std::string_view::npos ? what : what.substr(id_end + 2)));
    }
}

template <class T> T field(const Json& request, std::string_view name)
{
    const Json* value = find_field(request, name);
    if (value == nullptr) {
        throw RequestError("bad request: " + quoted(name) + " is missing; it must be " +
                           std::string(FieldType<T>::expected));
    }
    return FieldType<T>::read(*value, name);
}

template <class T> T field_or(const Json& request, std::string_view name, T fallback)
{
    const Json* value = find_field(request, name);
    return value == nullptr ? std::move(fallback) : FieldType<T>::read(*value, name);
}

template std::string field<std::string>(const Json&, std::string_view);
template std::uint64_t field<std::uint64_t>(const Json&, std::string_view);
template bool field<bool>(const Json&, std::string_view);
template std::vector<double> field<std::vector<double>>(const Json&, std::string_view);
template std::string field_or<std::string>(const Json&, std::string_view, std::string);
template std::uint64_t field_or<std::uint64_t>(const Json&, std::string_view, std::uint64_t);
template bool field_or<bool>(const Json&, std::string_view, bool);
template std::vector<double> field_or<std::vector<double>>(const Json&, std::string_view, std::vector<double>);

} // namespace ndrd::daemon
