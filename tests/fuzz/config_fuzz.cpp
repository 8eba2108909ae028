// libFuzzer target: arbitrary text through the YAML config loader. Anything
// but a ConfigError (or a valid config) is a bug.
#include <cstdint>
#include <string>

#include "config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string text(reinterpret_cast<const char*>(data), size); // NOLINT
    try {
        (void)ndrd::config::parse_config(text, "fuzz.yaml");
    } catch (const ndrd::config::ConfigError&) {
        // rejected with a message: expected
    }
    return 0;
}
