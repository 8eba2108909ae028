// Where ndrd finds its configuration file, and the one directory relative
// paths in it resolve against, whoever runs the command and from wherever.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace ndrd::config {

// The packaged units' configurations: ndrd.service reads ndrd.yaml here,
// ndrd@NAME.service reads NAME.yaml.
inline constexpr std::string_view kConfigDir = "/etc/ndrd";
// Their state directories: /var/lib/ndrd and /var/lib/ndrd-NAME.
inline constexpr std::string_view kStateRoot = "/var/lib";

// $NDRD_CONFIG when set and not empty, else /etc/ndrd/ndrd.yaml.
[[nodiscard]] std::filesystem::path default_config_path();

// /etc/ndrd/NAME.yaml. Throws ConfigError for a name that is not a plain
// file name (empty, '/', leading '.').
[[nodiscard]] std::filesystem::path instance_config_path(std::string_view name);

// The packaged unit that reads `config_file`, for a file directly in
// /etc/ndrd: "ndrd.service" for ndrd.yaml, "ndrd@NAME.service" for
// NAME.yaml; nullopt for any other file.
[[nodiscard]] std::optional<std::string> packaged_unit(const std::filesystem::path& config_file);

// The state directory of that unit (/var/lib/ndrd, /var/lib/ndrd-NAME).
[[nodiscard]] std::optional<std::filesystem::path> packaged_state_dir(const std::filesystem::path& config_file);

// Where the data of the instance `config_file` configures lived before
// 0.2.0 (/var/lib/ndrd/NAME, inside ndrd.service's state directory);
// nullopt for any file but an instance's configuration.
[[nodiscard]] std::optional<std::filesystem::path> old_instance_dir(const std::filesystem::path& config_file);

// The directory relative paths in `config_file` resolve against when the
// file sets no base_dir: its packaged unit's state directory, else the
// file's own directory. Absolute.
[[nodiscard]] std::filesystem::path default_base(const std::filesystem::path& config_file);

// Whether `inner` is `outer` or lies below it, comparing path elements
// (so /srv/data2 is not inside /srv/data). Both lexically normal.
[[nodiscard]] bool is_within(const std::filesystem::path& outer, const std::filesystem::path& inner);

// `p` against `base` when relative; lexically normal either way.
[[nodiscard]] std::filesystem::path resolve(const std::filesystem::path& base, const std::filesystem::path& p);

} // namespace ndrd::config
