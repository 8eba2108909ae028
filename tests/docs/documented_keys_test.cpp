// The documented configuration keys are the ones the code accepts, and the
// documented reload behaviour of each is the code's: docs/configuration.md's
// table, the commented default config/ndrd.yaml and the ndrd.yaml(5) source.
#define BOOST_TEST_MODULE documented_keys
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "config/config.hpp"
#include "daemon/reload.hpp"
#include "test_support.hpp"

using namespace ndrd;

namespace {

std::string read(const std::string& relative)
{
    std::ifstream in(std::string(NDRD_SOURCE_DIR) + "/" + relative);
    BOOST_TEST_REQUIRE(static_cast<bool>(in), "cannot read " << relative);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The rows "| `key` | live|restart | ..." of docs/configuration.md.
std::map<std::string, std::string> documented()
{
    std::map<std::string, std::string> rows;
    const std::regex row(R"(^\| `([a-z_.]+)` \| *(live|restart) *\|)");
    std::istringstream in(read("docs/configuration.md"));
    for (std::string line; std::getline(in, line);) {
        std::smatch m;
        if (std::regex_search(line, m, row)) rows[m[1]] = m[2];
    }
    return rows;
}

std::set<std::string> accepted()
{
    const auto keys = config::known_keys();
    return {keys.begin(), keys.end()};
}

// "cluster" in the code's lists stands for every cluster.* key.
std::string reload_class(const std::string& key)
{
    const auto in = [](const std::vector<std::string>& list, const std::string& k) {
        return std::ranges::find(list, k) != list.end();
    };
    const std::string section = key.substr(0, key.find('.'));
    if (in(daemon::restart_keys(), key) || in(daemon::restart_keys(), section)) return "restart";
    if (in(daemon::live_keys(), key)) return "live";
    return "unclassified";
}

} // namespace

BOOST_AUTO_TEST_SUITE(documented_keys)

BOOST_AUTO_TEST_CASE(the_configuration_reference_lists_exactly_the_accepted_keys)
{
    std::set<std::string> in_docs;
    for (const auto& [key, reload] : documented())
        in_docs.insert(key);
    BOOST_TEST(in_docs == accepted(), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(every_key_is_live_or_restart_as_the_reference_says)
{
    for (const auto& key : accepted()) {
        BOOST_TEST_CONTEXT(key)
        {
            BOOST_TEST(reload_class(key) != "unclassified");
            const auto docs = documented();
            const auto it = docs.find(key);
            if (it != docs.end()) BOOST_TEST(it->second == reload_class(key));
        }
    }
}

BOOST_AUTO_TEST_CASE(the_default_configuration_and_the_man_page_name_every_key)
{
    const std::string yaml = read("config/ndrd.yaml");
    const std::string man = read("docs/man/ndrd.yaml.5.scd");
    for (const auto& key : accepted()) {
        // ndrd.yaml writes a key under its section, possibly commented out (cluster).
        const std::string leaf = key.substr(key.rfind('.') + 1);
        BOOST_TEST_CONTEXT(key)
        {
            BOOST_TEST(std::regex_search(yaml, std::regex("(^|\n)#? *" + leaf + ":")));
            BOOST_TEST(man.find(key) != std::string::npos);
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
