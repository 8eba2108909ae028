// The daemon's configuration: one value type, loaded from YAML and validated
// before anything on disk is touched.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ndrd::config {

// A configuration the daemon cannot run with. The message names the file,
// the key and (where known) the line; the CLI maps it to exit code 78.
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class OverSample { random, similarity };
// Full decode, or JPEG decoded at 1/2, 1/4 or 1/8 scale (libjpeg's DCT
// scaling) while every grid block keeps at least 16x16 decoded pixels.
enum class DecodeScale { off, automatic };
// Pixels as stored (Datumaro), or turned upright by the EXIF orientation tag.
enum class ExifOrientation { ignore, apply };
enum class UnderSample { uniform, inverse };
enum class LogLevel { error, warning, info, debug };
// `datumaro` reproduces Datumaro's decisions bit for bit: exact keys only, no
// flips or rotations, and a byte-identical copy judged like any other image.
enum class Compat { off, datumaro };
// Which image of a near-duplicate group is kept: the first to arrive
// (Datumaro), or the best copy (more pixels, then larger file, then earlier).
enum class Keep { first, best };

// The flips and rotations gradient.invariance may name, in the order they
// are tried (the first of equally similar matches wins).
inline constexpr std::array<std::string_view, 7> kInvarianceNames = {"hflip",  "vflip",     "rot90",     "rot180",
                                                                     "rot270", "transpose", "transverse"};
inline constexpr int kDefaultProbeRadius = 2;

struct GradientParams {
    int grid_rows = 8; // block_shape[0]: rows of the block grid
    int grid_cols = 8; // block_shape[1]
    int hash_dim = 32;
    double sim_threshold = 0.5;
    std::optional<std::filesystem::path> projection; // feature_dim x hash_dim text matrix
    // Kept items whose key is within this Hamming distance are candidates
    // (0 = Datumaro's exact key).
    int probe_radius = kDefaultProbeRadius;
    // Names from kInvarianceNames, in that order, without repeats.
    std::vector<std::string> invariance;

    [[nodiscard]] int feature_dim() const { return grid_rows * grid_cols * 12; }
    bool operator==(const GradientParams&) const = default;
};

struct RebalanceParams {
    std::chrono::seconds interval{600};
    std::optional<std::uint64_t> after_items; // rebalance after N newly routed items
    bool operator==(const RebalanceParams&) const = default;
};

enum class WatchMode { inotify, poll };

struct WatchParams {
    WatchMode mode = WatchMode::inotify;
    // Poll mode's scan period; also used when inotify runs out of watches.
    std::chrono::seconds poll_interval{5};
    bool operator==(const WatchParams&) const = default;
};

// Ingest-directory housekeeping.
struct IngestParams {
    // Remove subdirectories of ingest_dir that stayed empty for
    // empty_dir_grace (date-partitioned camera trees would pile up).
    bool remove_empty_dirs = false;
    std::chrono::seconds empty_dir_grace{600};
    bool operator==(const IngestParams&) const = default;
};

// How long files stay in the duplicated and rejected areas before retention
// deletes them (their records stay, state expired); nullopt = forever.
struct RetentionParams {
    std::optional<std::chrono::seconds> duplicated;
    std::optional<std::chrono::seconds> rejected;
    [[nodiscard]] bool enabled() const { return duplicated || rejected; }
    bool operator==(const RetentionParams&) const = default;
};

struct MetricsParams {
    // host:port for the Prometheus endpoint (GET /metrics); nullopt = off.
    std::optional<std::string> listen;
    bool operator==(const MetricsParams&) const = default;
};

// Several hosts sharing one decision stream on NATS JetStream; absent, a
// single host with its in-process stream.
struct ClusterParams {
    std::vector<std::string> servers;                 // nats:// or tls:// URLs, tried in turn
    std::string stream = "ndrd";                      // the JetStream stream's name (created if absent)
    std::string instance;                             // this host's name in the cluster; default: the host name
    int replicas = 1;                                 // for the stream, when this host creates it: 1, 3 or 5
    std::optional<std::filesystem::path> credentials; // a NATS .creds file (user JWT and seed)
    std::optional<std::string> token;                 // or an authentication token
    std::optional<std::filesystem::path> tls_ca;      // CA certificates to verify the servers (tls:// URLs)
    bool operator==(const ClusterParams&) const = default;
};

struct Config {
    // Relative paths below resolve against this directory when the file is
    // loaded (see base_directory()); empty for a configuration parsed from
    // text, whose paths stay as written.
    std::filesystem::path base_dir;
    std::filesystem::path ingest_dir = "incoming";
    std::filesystem::path output_dir = "dataset";
    std::filesystem::path index_dir = "index";
    std::string working_subset = "train";
    std::string duplicated_subset = "duplicated";
    std::string algorithm = "gradient";
    GradientParams gradient;
    Compat compat = Compat::off;
    Keep keep = Keep::first;
    std::uint64_t seed = 0;
    unsigned workers = 0; // 0 = one per core
    std::optional<std::uint64_t> num_cut;
    OverSample over_sample = OverSample::random;
    UnderSample under_sample = UnderSample::uniform;
    RebalanceParams rebalance;
    WatchParams watch;
    IngestParams ingest;
    RetentionParams retention;
    MetricsParams metrics;
    std::optional<ClusterParams> cluster;
    LogLevel log_level = LogLevel::info;
    LogLevel log_routing = LogLevel::info; // the one line per routed file: info or debug
    DecodeScale decode_scale = DecodeScale::off;
    ExifOrientation exif_orientation = ExifOrientation::ignore; // fixed when the index is created
    std::uint64_t max_file_size = 256ULL << 20;                 // bytes; larger files are rejected unread
    std::uint64_t max_pixels = 64'000'000;      // width * height; larger images are refused from the header
    std::uint64_t index_min_free = 64ULL << 20; // bytes kept free on the index's file system; 0 = no check
    std::uint64_t index_cache = 32ULL << 20;    // RocksDB block cache, bytes (shared by all column families)
    std::filesystem::path control_socket;       // empty = index_dir / "control.sock"

    // Resolved values the daemon uses.
    [[nodiscard]] unsigned effective_workers() const;
    [[nodiscard]] std::filesystem::path working_dir() const { return output_dir / working_subset; }
    [[nodiscard]] std::filesystem::path duplicated_dir() const { return output_dir / duplicated_subset; }
    [[nodiscard]] std::filesystem::path rejected_dir() const { return output_dir / "rejected"; }
    [[nodiscard]] std::filesystem::path control_socket_path() const;
    // A byte-identical copy of any indexed item is that item's duplicate.
    [[nodiscard]] bool exact_copy_rule() const { return compat == Compat::off; }

    // Field-wise, e.g. to tell whether a reloaded file changed anything.
    bool operator==(const Config&) const = default;
};

// Parses and validates `path`. Relative paths in the file resolve against
// base_directory(path, base_dir), never the caller's working directory.
// Throws ConfigError naming the key and line for every problem it finds.
Config load_config(const std::filesystem::path& path);

// Parses and validates YAML text; `origin` names the source in messages.
// With a non-empty `config_file` (where the text came from), relative paths
// resolve as load_config() resolves them; otherwise they stay as written.
Config parse_config(const std::string& yaml_text, const std::string& origin,
                    const std::filesystem::path& config_file = {});

// Every key a configuration may set, dotted ("gradient.hash_dim"), in the
// order of the default ndrd.yaml; sections are expanded into their keys.
std::vector<std::string> known_keys();

// Checks, creating nothing, that the ingest/output/index paths are
// directories where they exist and do not nest inside one another. Throws
// ConfigError.
void check_directory_layout(const Config& cfg);

// check_directory_layout(), then creates missing ingest/output/index
// directories and checks that they are usable. Throws ConfigError.
void prepare_directories(const Config& cfg);

[[nodiscard]] std::string to_string(OverSample v);
[[nodiscard]] std::string to_string(DecodeScale v);
[[nodiscard]] std::string to_string(ExifOrientation v);
[[nodiscard]] std::string to_string(UnderSample v);
[[nodiscard]] std::string to_string(LogLevel v);
[[nodiscard]] std::string to_string(Compat v);
[[nodiscard]] std::string to_string(Keep v);

} // namespace ndrd::config
