// The effective configuration as YAML: every key with the value in force
// (defaults filled in, paths resolved), for `ndrd check --print`.
#pragma once

#include <string>

#include "config/config.hpp"

namespace ndrd::config {

// A YAML document that parse_config() reads back to the same Config, but
// for the cluster token, a secret, printed as "(set)".
[[nodiscard]] std::string to_yaml(const Config& cfg);

} // namespace ndrd::config
