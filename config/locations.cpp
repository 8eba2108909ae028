// Configuration file lookup and the base directory (see locations.hpp).
#include "config/locations.hpp"

#include <algorithm>
#include <cstdlib>

#include "config/config.hpp"

namespace ndrd::config {

namespace fs = std::filesystem;

namespace {

// The unit instance name a file in /etc/ndrd stands for: its stem when the
// file is NAME.yaml directly in that directory.
std::optional<std::string> packaged_name(const fs::path& config_file)
{
    std::error_code ec;
    const fs::path file = fs::absolute(config_file, ec).lexically_normal();
    if (ec || file.parent_path() != fs::path(kConfigDir) || file.extension() != ".yaml") return std::nullopt;
    std::string name = file.stem().string();
    if (name.empty() || name.front() == '.') return std::nullopt;
    return name;
}

} // namespace

fs::path default_config_path()
{
    const char* env = std::getenv("NDRD_CONFIG"); // NOLINT(concurrency-mt-unsafe): read before any thread starts
    if (env != nullptr && *env != '\0') return env;
    return fs::path(kConfigDir) / "ndrd.yaml";
}

fs::path instance_config_path(std::string_view name)
{
    const bool plain = !name.empty() && name.front() != '.' && name.find('/') == std::string_view::npos &&
                       std::ranges::none_of(name, [](char c) { return c == '\0'; });
    if (!plain) {
        throw ConfigError("instance name '" + std::string(name) +
                          "' must be a plain file name (no '/', not starting with '.')");
    }
    return fs::path(kConfigDir) / (std::string(name) + ".yaml");
}

std::optional<std::string> packaged_unit(const fs::path& config_file)
{
    const auto name = packaged_name(config_file);
    if (!name) return std::nullopt;
    return *name == "ndrd" ? "ndrd.service" : "ndrd@" + *name + ".service";
}

std::optional<fs::path> packaged_state_dir(const fs::path& config_file)
{
    const auto name = packaged_name(config_file);
    if (!name) return std::nullopt;
    return fs::path(kStateRoot) / (*name == "ndrd" ? "ndrd" : "ndrd-" + *name);
}

std::optional<fs::path> old_instance_dir(const fs::path& config_file)
{
    const auto name = packaged_name(config_file);
    if (!name || *name == "ndrd") return std::nullopt;
    return fs::path(kStateRoot) / "ndrd" / *name;
}

fs::path default_base(const fs::path& config_file)
{
    if (auto state = packaged_state_dir(config_file)) return *state;
    std::error_code ec;
    fs::path file = fs::absolute(config_file, ec);
    if (ec) file = config_file;
    return file.lexically_normal().parent_path();
}

bool is_within(const fs::path& outer, const fs::path& inner)
{
    return std::mismatch(outer.begin(), outer.end(), inner.begin(), inner.end()).first == outer.end();
}

fs::path resolve(const fs::path& base, const fs::path& p)
{
    if (p.empty() || p.is_absolute() || base.empty()) return p.lexically_normal();
    return (base / p).lexically_normal();
}

} // namespace ndrd::config
