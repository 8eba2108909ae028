// The JSON the CLI and the control socket print: control characters and
// quotes escaped, UTF-8 kept, and file names that are not UTF-8 still
// producing valid JSON (their stray bytes shown as U+FFFD).
#define BOOST_TEST_MODULE json
#include <boost/test/unit_test.hpp>

#include "daemon/telemetry/json.hpp"

using ndrd::daemon::json_string;
using ndrd::daemon::JsonObject;
using ndrd::daemon::parse_json;

BOOST_AUTO_TEST_SUITE(json)

BOOST_AUTO_TEST_CASE(quotes_backslashes_and_control_characters_are_escaped)
{
    BOOST_TEST(json_string("a\"b\\c") == R"("a\"b\\c")");
    BOOST_TEST(json_string("line\nbreak\ttab\r") == R"("line\nbreak\ttab\r")");
    BOOST_TEST(json_string(std::string("\x01\x1f\x7f", 3)) == R"("\u0001\u001f\u007f")");
}

BOOST_AUTO_TEST_CASE(valid_utf8_passes_through_unchanged)
{
    const std::string name = "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x93\xB7.jpg"; // café 日本 📷
    BOOST_TEST(json_string(name) == "\"" + name + "\"");
}

BOOST_AUTO_TEST_CASE(bytes_that_are_not_utf8_become_replacement_characters)
{
    // A Latin-1 name, a truncated sequence, an overlong '/', an encoded
    // surrogate, and a code point above U+10FFFF: one U+FFFD per stray byte.
    BOOST_TEST(json_string("caf\xE9.jpg") == R"("caf\ufffd.jpg")");
    BOOST_TEST(json_string("\xE6\x97") == R"("\ufffd\ufffd")");
    BOOST_TEST(json_string("\xC0\xAF") == R"("\ufffd\ufffd")");
    BOOST_TEST(json_string("\xED\xA0\x80") == R"("\ufffd\ufffd\ufffd")");
    BOOST_TEST(json_string("\xF4\x90\x80\x80x") == R"("\ufffd\ufffd\ufffd\ufffdx")");
}

BOOST_AUTO_TEST_CASE(an_object_with_a_hostile_name_parses_back)
{
    const std::string hostile = "evil\n\"name\xff\xfe\".jpg";
    const std::string text = JsonObject().add("file", hostile).add("n", std::uint64_t{3}).str();
    BOOST_TEST(text.find('\n') == std::string::npos);
    const auto tree = parse_json(text);
    BOOST_TEST(tree.get<std::uint64_t>("n") == 3U);
    BOOST_TEST(tree.get<std::string>("file") == "evil\n\"name\xEF\xBF\xBD\xEF\xBF\xBD\".jpg");
}

BOOST_AUTO_TEST_SUITE_END()
