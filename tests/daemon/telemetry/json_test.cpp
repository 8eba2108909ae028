// The JSON the CLI and the control socket speak: one line per answer, fields
// in the order they were added, file names that are not UTF-8 still giving
// valid JSON (stray bytes as U+FFFD), and requests whose fields are checked
// with errors that name the field.
#define BOOST_TEST_MODULE json
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <vector>

#include "daemon/telemetry/json.hpp"

using ndrd::daemon::field;
using ndrd::daemon::field_or;
using ndrd::daemon::Json;
using ndrd::daemon::json_text;
using ndrd::daemon::parse_json;
using ndrd::daemon::RequestError;

namespace {

const std::string replacement = "\xEF\xBF\xBD"; // U+FFFD in UTF-8

// The message `fn` throws as RequestError; fails the test if it does not.
template <class Fn> std::string request_error(Fn fn)
{
    try {
        fn();
    } catch (const RequestError& e) {
        return e.what();
    }
    BOOST_FAIL("no RequestError");
    return {};
}

} // namespace

BOOST_AUTO_TEST_SUITE(json_text_output)

BOOST_AUTO_TEST_CASE(quotes_backslashes_and_control_characters_are_escaped)
{
    BOOST_TEST(json_text(Json("a\"b\\c")) == R"("a\"b\\c")");
    BOOST_TEST(json_text(Json("line\nbreak\ttab\r")) == R"("line\nbreak\ttab\r")");
    BOOST_TEST(json_text(Json(std::string("\x01\x1f", 2))) == R"("\u0001\u001f")");
}

BOOST_AUTO_TEST_CASE(valid_utf8_passes_through_unchanged)
{
    const std::string name = "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x93\xB7.jpg"; // café 日本 📷
    BOOST_TEST(json_text(Json(name)) == "\"" + name + "\"");
}

BOOST_AUTO_TEST_CASE(bytes_that_are_not_utf8_become_replacement_characters)
{
    // A Latin-1 name, a sequence cut short, an overlong '/', an encoded
    // surrogate, and a code point above U+10FFFF.
    const auto text = [](const std::string& s) {
        return json_text(Json(s));
    };
    BOOST_TEST(text("caf\xE9.jpg") == "\"caf" + replacement + ".jpg\"");
    BOOST_TEST(text("\xE6\x97x") == "\"" + replacement + "x\"");
    BOOST_TEST(text("\xC0\xAF") == "\"" + replacement + replacement + "\"");
    BOOST_TEST(text("\xED\xA0\x80") == "\"" + replacement + replacement + replacement + "\"");
    BOOST_TEST(text("\xF4\x90\x80\x80x") == "\"" + replacement + replacement + replacement + replacement + "x\"");
}

BOOST_AUTO_TEST_CASE(keys_that_are_not_utf8_are_replaced_too)
{
    Json o;
    o["caf\xE9"] = 1;
    BOOST_TEST(json_text(o) == "{\"caf" + replacement + "\": 1}");
}

BOOST_AUTO_TEST_CASE(objects_keep_their_order_with_a_space_after_separators)
{
    Json o;
    o["working_before"] = 10;
    o["working_after"] = 3;
    o["target"] = nullptr;
    o["restored"] = Json::array();
    o["cut"] = std::vector<std::string>{"a.jpg", "b.jpg"};
    o["nested"] = {{"ok", true}, {"x", 0.5}};
    BOOST_TEST(json_text(o) == R"({"working_before": 10, "working_after": 3, "target": null, "restored": [], )"
                               R"("cut": ["a.jpg", "b.jpg"], "nested": {"ok": true, "x": 0.5}})");
}

BOOST_AUTO_TEST_CASE(numbers_read_back_exactly)
{
    const std::vector<double> values = {0.1, 1.0 / 3.0, -2.5e-300, 123456789.123456789, 0.0};
    const Json back = parse_json(json_text(Json{{"feature", values}}));
    BOOST_TEST(field<std::vector<double>>(back, "feature") == values, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(an_object_with_a_hostile_name_parses_back)
{
    const std::string hostile = "evil\n\"name\xff\xfe\".jpg";
    const std::string text = json_text(Json{{"file", hostile}, {"n", 3}});
    BOOST_TEST(text.find('\n') == std::string::npos);
    const Json back = parse_json(text);
    BOOST_TEST(field<std::uint64_t>(back, "n") == 3U);
    BOOST_TEST(field<std::string>(back, "file") == "evil\n\"name" + replacement + replacement + "\".jpg");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(request_fields)

BOOST_AUTO_TEST_CASE(text_that_is_not_json_is_a_request_error)
{
    BOOST_TEST(request_error([] { (void)parse_json(R"({"command": )"); }).starts_with("invalid JSON: "));
    BOOST_TEST(request_error([] { (void)parse_json(""); }).starts_with("invalid JSON: "));
}

BOOST_AUTO_TEST_CASE(fields_of_the_right_type_are_read)
{
    const Json r = parse_json(R"({"command": "release", "item": 7, "degenerate": true, "feature": [1, -0.5]})");
    BOOST_TEST(field<std::string>(r, "command") == "release");
    BOOST_TEST(field<std::uint64_t>(r, "item") == 7U);
    BOOST_TEST(field<bool>(r, "degenerate"));
    BOOST_TEST(field<std::vector<double>>(r, "feature") == (std::vector<double>{1.0, -0.5}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_missing_field_is_named_with_the_type_it_needs)
{
    const Json r = parse_json(R"({"command": "release"})");
    BOOST_TEST(request_error([&] { (void)field<std::uint64_t>(r, "item"); }) ==
               R"(bad request: "item" is missing; it must be a non-negative integer)");
    BOOST_TEST(request_error([&] { (void)field<std::string>(Json::array(), "command"); }) ==
               R"(bad request: "command" is missing; it must be a string)");
}

BOOST_AUTO_TEST_CASE(a_field_of_the_wrong_type_is_named_with_what_it_holds)
{
    const Json r =
        parse_json(R"({"command": 3, "item": "12", "neg": -1, "frac": 2.5, "degenerate": null, "feature": {}})");
    BOOST_TEST(request_error([&] { (void)field<std::string>(r, "command"); }) ==
               R"(bad request: "command" must be a string, not the number 3)");
    BOOST_TEST(request_error([&] { (void)field<std::uint64_t>(r, "item"); }) ==
               R"(bad request: "item" must be a non-negative integer, not a string)");
    BOOST_TEST(request_error([&] { (void)field<std::uint64_t>(r, "neg"); }) ==
               R"(bad request: "neg" must be a non-negative integer, not the number -1)");
    BOOST_TEST(request_error([&] { (void)field<std::uint64_t>(r, "frac"); }) ==
               R"(bad request: "frac" must be a non-negative integer, not the number 2.5)");
    BOOST_TEST(request_error([&] { (void)field<bool>(r, "degenerate"); }) ==
               R"(bad request: "degenerate" must be true or false, not null)");
    BOOST_TEST(request_error([&] { (void)field<std::vector<double>>(r, "feature"); }) ==
               R"(bad request: "feature" must be an array of numbers, not an object)");
}

BOOST_AUTO_TEST_CASE(an_array_element_of_the_wrong_type_is_named_by_its_index)
{
    const Json r = parse_json(R"({"feature": [0.5, 1, "2"]})");
    BOOST_TEST(request_error([&] { (void)field<std::vector<double>>(r, "feature"); }) ==
               R"(bad request: "feature"[2] must be a number, not a string)");
}

BOOST_AUTO_TEST_CASE(an_absent_optional_field_takes_its_fallback_but_a_wrong_one_is_an_error)
{
    const Json r = parse_json(R"({"degenerate": "yes"})");
    BOOST_TEST(field_or<bool>(Json::object(), "degenerate", true));
    BOOST_TEST(request_error([&] { (void)field_or<bool>(r, "degenerate", false); }) ==
               R"(bad request: "degenerate" must be true or false, not a string)");
}

BOOST_AUTO_TEST_SUITE_END()
