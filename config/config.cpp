// Turns ndrd.yaml into a validated Config and prepares the directories it names.
#include "config/config.hpp"
#include "config/locations.hpp"

#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <span>
#include <sstream>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

namespace ndrd::config {

namespace fs = std::filesystem;

namespace {

// The schema, in the order the keys appear in ndrd.yaml (suggestions prefer
// the earlier key on ties).
constexpr std::array<std::string_view, 30> kTopKeys = {"base_dir",       "ingest_dir",
                                                       "output_dir",     "index_dir",
                                                       "working_subset", "duplicated_subset",
                                                       "algorithm",      "gradient",
                                                       "compat",         "keep",
                                                       "seed",           "workers",
                                                       "num_cut",        "over_sample",
                                                       "under_sample",   "rebalance",
                                                       "log_level",      "log_routing",
                                                       "max_file_size",  "max_pixels",
                                                       "decode_scale",   "exif_orientation",
                                                       "index_min_free", "index_cache",
                                                       "watch",          "ingest",
                                                       "retention",      "control_socket",
                                                       "metrics",        "cluster"};
constexpr std::array<std::string_view, 6> kGradientKeys = {"block_shape", "hash_dim",     "sim_threshold",
                                                           "projection",  "probe_radius", "invariance"};
constexpr std::array<std::string_view, 2> kRebalanceKeys = {"interval", "after_items"};
constexpr std::array<std::string_view, 2> kWatchKeys = {"mode", "poll_interval"};
constexpr std::array<std::string_view, 2> kIngestKeys = {"remove_empty_dirs", "empty_dir_grace"};
constexpr std::array<std::string_view, 2> kRetentionKeys = {"duplicated", "rejected"};
constexpr std::array<std::string_view, 1> kMetricsKeys = {"listen"};
constexpr std::array<std::string_view, 7> kClusterKeys = {"servers",     "stream", "instance", "replicas",
                                                          "credentials", "token",  "tls_ca"};

constexpr int kMaxGridSide = 64;
constexpr unsigned kMaxWorkers = 256;

struct Section {
    std::string_view dotted; // "" for the top level
    std::span<const std::string_view> keys;
};

// Every section, so a key put at the wrong level can be pointed home.
std::array<Section, 8> all_sections()
{
    return {Section{"", kTopKeys},
            Section{"gradient", kGradientKeys},
            Section{"rebalance", kRebalanceKeys},
            Section{"watch", kWatchKeys},
            Section{"ingest", kIngestKeys},
            Section{"retention", kRetentionKeys},
            Section{"metrics", kMetricsKeys},
            Section{"cluster", kClusterKeys}};
}

std::size_t edit_distance(std::string_view a, std::string_view b)
{
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

std::string dotted(std::string_view section, std::string_view key)
{
    return section.empty() ? std::string(key) : std::string(section) + "." + std::string(key);
}

// " (did you mean 'x'?)" for the closest known key within edit distance 2,
// looking in the key's own section first and then in the others, whose keys
// are named with their full path.
std::string suggestion(std::string_view section, std::string_view unknown)
{
    constexpr std::size_t kMaxDistance = 2;
    for (const bool same_section : {true, false}) {
        std::string best;
        std::size_t best_distance = kMaxDistance + 1;
        for (const auto& s : all_sections()) {
            if ((s.dotted == section) != same_section) continue;
            for (const auto key : s.keys) {
                if (const auto d = edit_distance(unknown, key); d < best_distance) {
                    best_distance = d;
                    best = same_section       ? "'" + std::string(key) + "'"
                           : s.dotted.empty() ? "top-level '" + std::string(key) + "'"
                                              : "'" + dotted(s.dotted, key) + "'";
                }
            }
        }
        if (!best.empty()) return " (did you mean " + best + "?)";
    }
    return "";
}

// One key: value pair of the file, with what is needed to report on it.
struct Entry {
    std::string key; // full dotted key, e.g. "gradient.hash_dim"
    YAML::Node value;
    YAML::Mark mark; // where to point the reader
};

using Entries = std::map<std::string, Entry, std::less<>>;

// Quoted scalars and !!str are strings even when they look like numbers.
bool is_string_typed(const YAML::Node& n)
{
    return n.Tag() == "!" || n.Tag() == "tag:yaml.org,2002:str";
}

// The "got ..." part of a message.
std::string describe(const YAML::Node& n)
{
    if (n.IsNull()) return "null";
    if (n.IsSequence()) return "a list";
    if (n.IsMap()) return "a mapping";
    return is_string_typed(n) ? "\"" + n.Scalar() + "\"" : n.Scalar();
}

class Parser {
public:
    explicit Parser(std::string origin) : origin_(std::move(origin)) {}

    [[noreturn]] void fail(const YAML::Mark& mark, const std::string& message) const
    {
        std::string where = origin_ + ":";
        if (mark.line >= 0) where += std::to_string(mark.line + 1) + ":";
        throw ConfigError(where + " " + message);
    }
    [[noreturn]] void fail(const Entry& e, const std::string& message) const { fail(e.mark, e.key + " " + message); }
    [[noreturn]] void expected(const Entry& e, std::string_view what) const
    {
        fail(e, "must be " + std::string(what) + ", got " + describe(e.value));
    }

    // The entries of a mapping, keyed by their short name; rejects unknown
    // and repeated keys (yaml-cpp silently keeps both).
    Entries section(const Entry& where, std::string_view name, std::span<const std::string_view> known) const
    {
        Entries entries;
        if (where.value.IsNull()) return entries; // "gradient:" with nothing under it
        if (!where.value.IsMap()) {
            if (!name.empty()) expected(where, "a mapping of keys to values");
            fail(where.mark, "the top level must be a mapping of keys to values, got " + describe(where.value));
        }
        const std::string in_section = name.empty() ? "" : " in '" + std::string(name) + "'";
        for (const auto& kv : where.value) {
            const YAML::Node& k = kv.first;
            if (!k.IsScalar()) fail(k.Mark(), "keys" + in_section + " must be plain names, got " + describe(k));
            const std::string& key = k.Scalar();
            if (std::find(known.begin(), known.end(), key) == known.end()) {
                std::string msg = "unknown key '" + key + "'";
                msg += in_section;
                msg += suggestion(name, key);
                fail(k.Mark(), msg);
            }
            Entry e{dotted(name, key), kv.second, kv.second.IsNull() ? k.Mark() : kv.second.Mark()};
            if (auto [it, fresh] = entries.try_emplace(key, e); !fresh) {
                const std::string first = std::to_string(it->second.mark.line + 1);
                fail(k.Mark(), "duplicate key '" + e.key + "' (first set on line " + first + ")");
            }
        }
        return entries;
    }

    // Any scalar read as text; YAML numbers and booleans are fine as names.
    std::string text(const Entry& e, std::string_view what) const
    {
        if (!e.value.IsScalar()) expected(e, what);
        return e.value.Scalar();
    }

    std::string non_empty_text(const Entry& e, std::string_view what) const
    {
        std::string s = text(e, what);
        if (s.empty()) expected(e, what);
        return s;
    }

    // Decimal integer in [min, max]; anything else (floats, words, quoted
    // numbers, out-of-range values) gets the same message naming the range.
    std::uint64_t integer(const Entry& e, std::uint64_t min, std::uint64_t max, std::string_view what) const
    {
        if (!e.value.IsScalar() || is_string_typed(e.value)) expected(e, what);
        std::string_view s = e.value.Scalar();
        bool negative = false;
        if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
            negative = s.front() == '-';
            s.remove_prefix(1);
        }
        std::uint64_t v = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || (negative && v != 0) || v < min ||
            v > max) {
            expected(e, what);
        }
        return v;
    }

    std::optional<std::uint64_t> optional_integer(const Entry& e, std::uint64_t min, std::string_view what) const
    {
        if (e.value.IsNull()) return std::nullopt;
        return integer(e, min, std::numeric_limits<std::uint64_t>::max(), what);
    }

    double finite_number(const Entry& e, std::string_view what) const
    {
        if (!e.value.IsScalar() || is_string_typed(e.value)) expected(e, what);
        std::string_view s = e.value.Scalar();
        if (!s.empty() && s.front() == '+') s.remove_prefix(1); // from_chars takes no '+'
        double v = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        // YAML spells infinities and NaN ".inf"/".nan", which from_chars
        // does not parse; its own "inf"/"nan" are caught by isfinite.
        if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || !std::isfinite(v)) expected(e, what);
        return v;
    }

    template <typename Enum, std::size_t N>
    Enum one_of(const Entry& e, const std::array<std::pair<std::string_view, Enum>, N>& names) const
    {
        std::string accepted;
        for (const auto& [name, value] : names)
            accepted += (accepted.empty() ? "" : ", ") + std::string(name);
        if (e.value.IsScalar()) {
            for (const auto& [name, value] : names) {
                if (e.value.Scalar() == name) return value;
            }
        }
        expected(e, "one of " + accepted);
    }

    // "<digits>" or "<digits><suffix>"; returns digits * multiplier or fails.
    template <std::size_t N>
    std::uint64_t with_unit(const Entry& e, const std::array<std::pair<std::string_view, std::uint64_t>, N>& units,
                            std::uint64_t max, std::string_view what) const
    {
        if (!e.value.IsScalar()) expected(e, what);
        std::string_view s = e.value.Scalar();
        const auto digits_end = std::find_if(s.begin(), s.end(), [](char c) { return c < '0' || c > '9'; });
        const std::string_view digits(s.begin(), digits_end);
        const std::string_view suffix(digits_end, s.end());
        std::uint64_t multiplier = suffix.empty() ? 1 : 0;
        for (const auto& [name, factor] : units) {
            if (suffix == name) multiplier = factor;
        }
        std::uint64_t v = 0;
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
        if (digits.empty() || ec != std::errc{} || multiplier == 0 || v > max / multiplier) expected(e, what);
        return v * multiplier;
    }

private:
    std::string origin_;
};

const Entry* find(const Entries& entries, std::string_view key)
{
    const auto it = entries.find(key);
    return it == entries.end() ? nullptr : &it->second;
}

// A subset becomes one directory directly under output_dir.
std::string subset_name(const Parser& p, const Entry& e)
{
    constexpr std::string_view what = "a non-empty directory name without '/'";
    std::string name = p.non_empty_text(e, what);
    if (name.find('/') != std::string::npos || name == "." || name == "..") p.expected(e, what);
    if (name == "rejected") {
        p.fail(e, "must not be 'rejected': output_dir/rejected is reserved for files ndrd cannot read");
    }
    return name;
}

void read_invariance(const Parser& p, const Entry& e, GradientParams& g)
{
    constexpr std::string_view what =
        "a list of hflip, vflip, rot90, rot180, rot270, transpose, transverse (or [] for none)";
    if (e.value.IsNull()) {
        g.invariance.clear();
        return;
    }
    if (!e.value.IsSequence()) p.expected(e, what);
    std::array<bool, kInvarianceNames.size()> wanted{};
    for (std::size_t i = 0; i < e.value.size(); ++i) {
        const YAML::Node n = e.value[i];
        const Entry element{e.key + "[" + std::to_string(i) + "]", n, n.Mark()};
        const std::string name = p.text(element, what);
        const auto* it = std::find(kInvarianceNames.begin(), kInvarianceNames.end(), name);
        if (it == kInvarianceNames.end()) p.expected(element, what);
        const auto k = static_cast<std::size_t>(it - kInvarianceNames.begin());
        if (wanted.at(k)) p.fail(element, "names " + name + " twice");
        const bool swaps_sides = name == "rot90" || name == "rot270" || name == "transpose" || name == "transverse";
        if (swaps_sides && g.grid_rows != g.grid_cols) {
            p.fail(element, name + " swaps rows and columns, so it needs a square gradient.block_shape, not [" +
                                std::to_string(g.grid_rows) + ", " + std::to_string(g.grid_cols) + "]");
        }
        wanted.at(k) = true;
    }
    g.invariance.clear();
    for (std::size_t k = 0; k < kInvarianceNames.size(); ++k) {
        if (wanted.at(k)) g.invariance.emplace_back(kInvarianceNames.at(k));
    }
}

void read_gradient(const Parser& p, const Entry& where, GradientParams& g)
{
    const Entries entries = p.section(where, "gradient", kGradientKeys);
    const Entry* shape = find(entries, "block_shape");
    if (shape) {
        constexpr std::string_view what = "a list of two positive integers [rows, cols], each at most 64";
        if (!shape->value.IsSequence() || shape->value.size() != 2) p.expected(*shape, what);
        auto side = [&](std::size_t i) {
            const YAML::Node n = shape->value[i];
            const Entry element{shape->key + "[" + std::to_string(i) + "]", n, n.Mark()};
            return static_cast<int>(p.integer(element, 1, kMaxGridSide, "a positive integer at most 64"));
        };
        g.grid_rows = side(0);
        g.grid_cols = side(1);
    }
    const Entry* hash_dim = find(entries, "hash_dim");
    if (hash_dim) {
        g.hash_dim = static_cast<int>(p.integer(*hash_dim, 1, std::numeric_limits<int>::max(), "a positive integer"));
    }
    if (g.hash_dim > g.feature_dim()) {
        // Same limit as Datumaro: the projection's columns are orthonormal, and
        // there are only feature_dim() independent directions to pick from.
        const std::string message =
            "must be at most " + std::to_string(g.feature_dim()) + ", the feature length for block_shape [" +
            std::to_string(g.grid_rows) + ", " + std::to_string(g.grid_cols) +
            "] (rows * cols * 12), because the random projection cannot have more independent directions "
            "than the feature has dimensions, got " +
            std::to_string(g.hash_dim);
        if (hash_dim) p.fail(*hash_dim, message);
        p.fail(*shape, "gives only " + std::to_string(g.feature_dim()) +
                           " feature dimensions (rows * cols * 12), fewer than gradient.hash_dim (default " +
                           std::to_string(g.hash_dim) + "); enlarge the grid or set a smaller gradient.hash_dim");
    }
    if (const Entry* e = find(entries, "sim_threshold")) {
        g.sim_threshold = p.finite_number(*e, "a finite number greater than 0");
        if (g.sim_threshold <= 0) p.expected(*e, "a finite number greater than 0");
    }
    if (const Entry* e = find(entries, "projection")) {
        if (e->value.IsNull()) {
            g.projection.reset();
        } else {
            g.projection = fs::path(p.non_empty_text(*e, "null or the path of a matrix file")).lexically_normal();
        }
    }
    if (const Entry* e = find(entries, "probe_radius")) {
        g.probe_radius = static_cast<int>(p.integer(*e, 0, 3, "an integer from 0 to 3"));
    }
    if (const Entry* e = find(entries, "invariance")) {
        read_invariance(p, *e, g);
    }
}

// An integer with unit s, m, h or d (a bare integer is seconds), at most `max` seconds.
std::chrono::seconds duration(const Parser& p, const Entry& e, std::uint64_t max, std::string_view what)
{
    constexpr std::array<std::pair<std::string_view, std::uint64_t>, 4> units{
        {{"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}}};
    return std::chrono::seconds(static_cast<std::chrono::seconds::rep>(p.with_unit(e, units, max, what)));
}

void read_rebalance(const Parser& p, const Entry& where, RebalanceParams& r)
{
    const Entries entries = p.section(where, "rebalance", kRebalanceKeys);
    if (const Entry* e = find(entries, "interval")) {
        const auto max = static_cast<std::uint64_t>(std::chrono::seconds::max().count());
        r.interval = duration(p, *e, max, "a duration such as 30s, 10m, 2h or 1d (0s disables the timer)");
    }
    if (const Entry* e = find(entries, "after_items")) {
        r.after_items = p.optional_integer(*e, 1, "null or an integer >= 1");
    }
}

void read_watch(const Parser& p, const Entry& where, WatchParams& w)
{
    const Entries entries = p.section(where, "watch", kWatchKeys);
    if (const Entry* e = find(entries, "mode")) {
        constexpr std::array<std::pair<std::string_view, WatchMode>, 2> modes{
            {{"inotify", WatchMode::inotify}, {"poll", WatchMode::poll}}};
        w.mode = p.one_of(*e, modes);
    }
    if (const Entry* e = find(entries, "poll_interval")) {
        constexpr std::string_view what = "a duration from 1s to 1d, such as 5s or 1m";
        w.poll_interval = duration(p, *e, 86400, what);
        if (w.poll_interval.count() == 0) p.expected(*e, what);
    }
}

void read_ingest(const Parser& p, const Entry& where, IngestParams& in)
{
    const Entries entries = p.section(where, "ingest", kIngestKeys);
    if (const Entry* e = find(entries, "remove_empty_dirs")) {
        constexpr std::array<std::pair<std::string_view, bool>, 2> flags{{{"false", false}, {"true", true}}};
        in.remove_empty_dirs = p.one_of(*e, flags);
    }
    if (const Entry* e = find(entries, "empty_dir_grace")) {
        constexpr std::uint64_t kWeek = 7ULL * 86400;
        in.empty_dir_grace = duration(p, *e, kWeek, "a duration from 0s to 7d, such as 10m or 1h");
    }
}

// Ages after which retention deletes files of the duplicated and rejected
// areas; null (or absent) keeps them forever.
void read_retention(const Parser& p, const Entry& where, RetentionParams& r)
{
    const Entries entries = p.section(where, "retention", kRetentionKeys);
    constexpr std::uint64_t kTenYears = 3650ULL * 86400;
    constexpr std::string_view what = "null (keep forever) or a duration from 1s to 3650d, such as 30d or 12h";
    for (auto [key, out] : {std::pair{std::string_view("duplicated"), &r.duplicated},
                            std::pair{std::string_view("rejected"), &r.rejected}}) {
        const Entry* e = find(entries, key);
        if (e == nullptr || e->value.IsNull()) continue;
        const std::chrono::seconds age = duration(p, *e, kTenYears, what);
        if (age.count() == 0) p.expected(*e, what);
        *out = age;
    }
}

// host:port, where host is an IPv4 address, a bracketed IPv6 address or a
// name, and port 1..65535. Resolved when the daemon binds.
void read_metrics(const Parser& p, const Entry& where, MetricsParams& m)
{
    const Entries entries = p.section(where, "metrics", kMetricsKeys);
    const Entry* e = find(entries, "listen");
    if (e == nullptr || e->value.IsNull()) return;
    constexpr std::string_view what = "null (off) or host:port, such as 127.0.0.1:9477 or [::1]:9477";
    const std::string text = p.non_empty_text(*e, what);
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) p.expected(*e, what);
    const std::string host = text.substr(0, colon);
    const std::string port = text.substr(colon + 1);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) p.expected(*e, what);
    if (host.find(':') != std::string::npos && (host.front() != '[' || host.back() != ']')) p.expected(*e, what);
    m.listen = text;
}

// Letters, digits, '-' and '_' (and '.' where `dots`): what JetStream takes
// in a stream name, and what keeps an instance name plain in message ids.
bool plain_name(std::string_view s, bool dots)
{
    return !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || (dots && c == '.');
    });
}

std::string host_name()
{
    std::array<char, 256> buf{};
    if (::gethostname(buf.data(), buf.size() - 1) != 0) return {};
    std::string name(buf.data());
    std::replace_if(
        name.begin(), name.end(), [](char c) { return !plain_name(std::string_view(&c, 1), true); }, '_');
    return name;
}

std::vector<std::string> read_servers(const Parser& p, const Entry& e)
{
    constexpr std::string_view what = "a list of server URLs, such as [nats://10.0.0.1:4222, nats://10.0.0.2:4222]";
    std::vector<std::string> servers;
    if (e.value.IsScalar()) {
        servers.push_back(e.value.Scalar());
    } else if (e.value.IsSequence()) {
        for (const auto& n : e.value) {
            if (!n.IsScalar()) p.expected(e, what);
            servers.push_back(n.Scalar());
        }
    }
    const auto url = [](const std::string& s) {
        return s.starts_with("nats://") || s.starts_with("tls://");
    };
    if (servers.empty() || !std::all_of(servers.begin(), servers.end(), url)) p.expected(e, what);
    return servers;
}

void read_cluster(const Parser& p, const Entry& where, std::optional<ClusterParams>& out)
{
    if (where.value.IsNull()) return; // "cluster:" with nothing under it: a single host
    const Entries entries = p.section(where, "cluster", kClusterKeys);
    ClusterParams c;
    const Entry* servers = find(entries, "servers");
    if (servers == nullptr) p.fail(where, "needs 'servers', the NATS servers' URLs");
    c.servers = read_servers(p, *servers);
    if (const Entry* e = find(entries, "stream")) {
        c.stream = p.text(*e, "a stream name");
        if (!plain_name(c.stream, false)) p.expected(*e, "a stream name of letters, digits, '-' and '_'");
    }
    if (const Entry* e = find(entries, "instance")) {
        c.instance = p.text(*e, "a name");
        if (!plain_name(c.instance, true)) p.expected(*e, "a name of letters, digits, '.', '-' and '_'");
    } else {
        c.instance = host_name();
        if (c.instance.empty()) p.fail(where, "needs 'instance': this host's name could not be read");
    }
    if (const Entry* e = find(entries, "replicas")) {
        c.replicas = static_cast<int>(p.integer(*e, 1, 5, "1, 3 or 5"));
        if (c.replicas % 2 == 0) p.expected(*e, "1, 3 or 5");
    }
    if (const Entry* e = find(entries, "credentials"); e && !e->value.IsNull()) {
        c.credentials = p.non_empty_text(*e, "null or the path of a NATS credentials file");
    }
    if (const Entry* e = find(entries, "token"); e && !e->value.IsNull()) {
        c.token = p.non_empty_text(*e, "null or an authentication token");
    }
    if (const Entry* e = find(entries, "tls_ca"); e && !e->value.IsNull()) {
        c.tls_ca = p.non_empty_text(*e, "null or the path of a CA certificate file");
    }
    if (c.credentials && c.token) p.fail(where, "takes 'credentials' or 'token', not both");
    out = std::move(c);
}

// bind() fails with a confusing error if the path does not fit sun_path;
// catch it while the user is still looking at the config.
void check_socket_length(const Parser& p, const Config& cfg, const Entries& top)
{
    constexpr std::size_t kLimit = sizeof(sockaddr_un{}.sun_path);
    const std::string path = cfg.control_socket_path().native();
    if (path.size() < kLimit) return;
    const std::string why = " is " + std::to_string(path.size()) + " bytes; a Unix socket path must be shorter than " +
                            std::to_string(kLimit) + " bytes";
    if (const Entry* e = find(top, "control_socket"); e && !e->value.IsNull()) p.fail(*e, "'" + path + "'" + why);
    const Entry* index = find(top, "index_dir");
    p.fail(index ? index->mark : YAML::Mark::null_mark(), "control_socket is null, so the socket is '" + path +
                                                              "', which" + why +
                                                              "; set control_socket to a shorter path");
}

} // namespace

unsigned Config::effective_workers() const
{
    if (workers != 0) return workers;
    return std::max(1u, std::thread::hardware_concurrency());
}

fs::path Config::control_socket_path() const
{
    return control_socket.empty() ? index_dir / "control.sock" : control_socket;
}

std::string to_string(OverSample v)
{
    return v == OverSample::random ? "random" : "similarity";
}

std::string to_string(DecodeScale v)
{
    return v == DecodeScale::off ? "off" : "auto";
}

std::string to_string(ExifOrientation v)
{
    return v == ExifOrientation::ignore ? "ignore" : "apply";
}

std::string to_string(UnderSample v)
{
    return v == UnderSample::uniform ? "uniform" : "inverse";
}

std::string to_string(LogLevel v)
{
    switch (v) {
    case LogLevel::error: return "error";
    case LogLevel::warning: return "warning";
    case LogLevel::info: return "info";
    case LogLevel::debug: return "debug";
    }
    return "unknown";
}

std::string to_string(Compat v)
{
    return v == Compat::datumaro ? "datumaro" : "off";
}

std::string to_string(Keep v)
{
    return v == Keep::best ? "best" : "first";
}

namespace {

// Counts the documents in `text`, stopping at two, and where the second
// starts. Not YAML::LoadAll: in yaml-cpp 0.7 it loops forever, allocating,
// on some malformed input (a lone ",": yaml-cpp issue #1040, found by our
// config fuzzer), which a bounded loop over the parser cannot do.
std::pair<int, YAML::Mark> count_documents(const std::string& text)
{
    struct Counter : YAML::EventHandler {
        int documents = 0;
        YAML::Mark second;
        void OnDocumentStart(const YAML::Mark& mark) override
        {
            if (++documents == 2) second = mark;
        }
        void OnDocumentEnd() override {}
        void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
        void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
        void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
        void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override
        {
        }
        void OnSequenceEnd() override {}
        void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
        void OnMapEnd() override {}
    };
    std::istringstream in(text);
    YAML::Parser parser(in);
    Counter counter;
    for (int i = 0; i < 2 && parser.HandleNextDocument(counter); ++i) {
    }
    return {counter.documents, counter.second};
}

// The directories and the two subset names.
void read_layout(const Parser& p, const Entries& top, Config& cfg)
{
    auto directory = [&](std::string_view key, fs::path& out) {
        if (const Entry* e = find(top, key)) out = p.non_empty_text(*e, "a non-empty path");
    };
    directory("ingest_dir", cfg.ingest_dir);
    directory("output_dir", cfg.output_dir);
    directory("index_dir", cfg.index_dir);

    const Entry* working = find(top, "working_subset");
    const Entry* duplicated = find(top, "duplicated_subset");
    if (working) cfg.working_subset = subset_name(p, *working);
    if (duplicated) cfg.duplicated_subset = subset_name(p, *duplicated);
    if (cfg.working_subset == cfg.duplicated_subset) {
        const Entry& e = duplicated ? *duplicated : *working;
        p.fail(e, "must differ from " + std::string(duplicated ? "working_subset" : "duplicated_subset") +
                      ", both are '" + cfg.working_subset + "'");
    }
}

// The algorithm, its gradient section and the compat mode that constrains it.
void read_algorithm(const Parser& p, const Entries& top, Config& cfg)
{
    if (const Entry* e = find(top, "algorithm")) {
        cfg.algorithm = p.text(*e, "\"gradient\"");
        if (cfg.algorithm != "gradient") {
            p.fail(*e, "must be 'gradient', got '" + cfg.algorithm +
                           "': ndrd implements only Datumaro's gradient-based near-duplicate removal");
        }
    }
    const Entry* gradient = find(top, "gradient");
    if (gradient) read_gradient(p, *gradient, cfg.gradient);
    if (const Entry* e = find(top, "compat")) {
        constexpr std::array<std::pair<std::string_view, Compat>, 2> modes{
            {{"off", Compat::off}, {"datumaro", Compat::datumaro}}};
        cfg.compat = p.one_of(*e, modes);
        if (cfg.compat == Compat::datumaro) {
            // Datumaro compares exact keys and nothing else: settings that
            // widen the search contradict the mode, so they are refused
            // rather than silently ignored.
            const Entries g = gradient ? p.section(*gradient, "gradient", kGradientKeys) : Entries{};
            const Entry* radius = find(g, "probe_radius");
            if (radius && cfg.gradient.probe_radius != 0) {
                p.fail(*radius, "must be 0 with compat: datumaro (Datumaro compares exact keys only)");
            }
            if (const Entry* inv = find(g, "invariance"); inv && !cfg.gradient.invariance.empty()) {
                p.fail(*inv, "must be empty with compat: datumaro (Datumaro does not match flips or rotations)");
            }
            cfg.gradient.probe_radius = 0;
        }
    }
}

// Sizes and limits: max_file_size, index_cache, index_min_free, max_pixels.
void read_limits(const Parser& p, const Entries& top, Config& cfg)
{
    constexpr std::array<std::pair<std::string_view, std::uint64_t>, 3> size_units{
        {{"KiB", 1ULL << 10}, {"MiB", 1ULL << 20}, {"GiB", 1ULL << 30}}};
    if (const Entry* e = find(top, "max_file_size")) {
        constexpr std::string_view what = "a positive size: bytes, or an integer with suffix KiB, MiB or GiB";
        cfg.max_file_size = p.with_unit(*e, size_units, std::numeric_limits<std::uint64_t>::max(), what);
        if (cfg.max_file_size == 0) p.expected(*e, what);
    }
    if (const Entry* e = find(top, "index_cache")) {
        constexpr std::string_view what = "a size of at least 1MiB: bytes, or an integer with suffix KiB, MiB or GiB";
        cfg.index_cache = p.with_unit(*e, size_units, std::numeric_limits<std::uint64_t>::max(), what);
        if (cfg.index_cache < (1ULL << 20)) p.expected(*e, what);
    }
    if (const Entry* e = find(top, "index_min_free")) {
        constexpr std::string_view what =
            "a size: bytes, or an integer with suffix KiB, MiB or GiB (0 turns the check off)";
        cfg.index_min_free = p.with_unit(*e, size_units, std::numeric_limits<std::uint64_t>::max(), what);
    }
    if (const Entry* e = find(top, "max_pixels")) {
        cfg.max_pixels = p.integer(*e, 1, 1LL << 40, "an integer from 1 to 2^40");
    }
}

// Every relative path against the one base: base_dir (itself against the
// file's directory), else the packaged unit's state directory or the file's
// directory (default_base).
void resolve_paths(Config& cfg, const fs::path& config_file)
{
    std::error_code ec;
    const fs::path file_dir = fs::absolute(config_file, ec).lexically_normal().parent_path();
    cfg.base_dir = cfg.base_dir.empty() ? default_base(config_file) : resolve(file_dir, cfg.base_dir);
    for (fs::path* p : {&cfg.ingest_dir, &cfg.output_dir, &cfg.index_dir, &cfg.control_socket}) {
        *p = resolve(cfg.base_dir, *p);
    }
    if (cfg.gradient.projection) cfg.gradient.projection = resolve(cfg.base_dir, *cfg.gradient.projection);
    if (cfg.cluster) {
        if (cfg.cluster->credentials) cfg.cluster->credentials = resolve(cfg.base_dir, *cfg.cluster->credentials);
        if (cfg.cluster->tls_ca) cfg.cluster->tls_ca = resolve(cfg.base_dir, *cfg.cluster->tls_ca);
    }
}

} // namespace

Config parse_config(const std::string& yaml_text, const std::string& origin, const fs::path& config_file)
{
    const Parser p(origin);
    YAML::Node root; // stays null for an empty file (or comments only): all defaults
    try {
        const auto [documents, second] = count_documents(yaml_text);
        if (documents > 1) p.fail(second, "expected one YAML document, found a second one here");
        if (documents == 1) root = YAML::Load(yaml_text);
    } catch (const YAML::Exception& e) {
        p.fail(e.mark, "invalid YAML: " + e.msg);
    }
    Config cfg;
    const Entries top = p.section(Entry{"", root, root.Mark()}, "", kTopKeys);
    read_layout(p, top, cfg);
    read_algorithm(p, top, cfg);
    if (const Entry* e = find(top, "seed")) {
        cfg.seed = p.integer(*e, 0, std::numeric_limits<std::uint64_t>::max(), "a non-negative integer below 2^64");
    }
    if (const Entry* e = find(top, "workers")) {
        constexpr std::string_view what = "an integer from 0 to 256 (0 = one per core)";
        cfg.workers = static_cast<unsigned>(p.integer(*e, 0, kMaxWorkers, what));
    }
    if (const Entry* e = find(top, "num_cut")) cfg.num_cut = p.optional_integer(*e, 1, "null or an integer >= 1");

    constexpr std::array<std::pair<std::string_view, OverSample>, 2> over{
        {{"random", OverSample::random}, {"similarity", OverSample::similarity}}};
    constexpr std::array<std::pair<std::string_view, UnderSample>, 2> under{
        {{"uniform", UnderSample::uniform}, {"inverse", UnderSample::inverse}}};
    constexpr std::array<std::pair<std::string_view, LogLevel>, 4> levels{{{"error", LogLevel::error},
                                                                           {"warning", LogLevel::warning},
                                                                           {"info", LogLevel::info},
                                                                           {"debug", LogLevel::debug}}};
    if (const Entry* e = find(top, "over_sample")) cfg.over_sample = p.one_of(*e, over);
    if (const Entry* e = find(top, "under_sample")) cfg.under_sample = p.one_of(*e, under);
    if (const Entry* e = find(top, "rebalance")) read_rebalance(p, *e, cfg.rebalance);
    if (const Entry* e = find(top, "watch")) read_watch(p, *e, cfg.watch);
    if (const Entry* e = find(top, "metrics")) read_metrics(p, *e, cfg.metrics);
    if (const Entry* e = find(top, "cluster")) read_cluster(p, *e, cfg.cluster);
    if (const Entry* e = find(top, "ingest")) read_ingest(p, *e, cfg.ingest);
    if (const Entry* e = find(top, "retention")) read_retention(p, *e, cfg.retention);
    if (const Entry* e = find(top, "log_level")) cfg.log_level = p.one_of(*e, levels);
    if (const Entry* e = find(top, "log_routing")) {
        constexpr std::array<std::pair<std::string_view, LogLevel>, 2> routing{
            {{"info", LogLevel::info}, {"debug", LogLevel::debug}}};
        cfg.log_routing = p.one_of(*e, routing);
    }
    if (const Entry* e = find(top, "decode_scale")) {
        constexpr std::array<std::pair<std::string_view, DecodeScale>, 2> scales{
            {{"off", DecodeScale::off}, {"auto", DecodeScale::automatic}}};
        cfg.decode_scale = p.one_of(*e, scales);
        if (cfg.decode_scale == DecodeScale::automatic && cfg.compat == Compat::datumaro) {
            // Reduced decoding changes ~0.5 % of decisions (bench/README.md).
            p.fail(*e, "must be off with compat: datumaro (a reduced decode changes features, and so decisions)");
        }
    }
    if (const Entry* e = find(top, "keep")) {
        constexpr std::array<std::pair<std::string_view, Keep>, 2> modes{
            {{"first", Keep::first}, {"best", Keep::best}}};
        cfg.keep = p.one_of(*e, modes);
        if (cfg.keep == Keep::best && cfg.compat == Compat::datumaro) {
            p.fail(*e, "must be first with compat: datumaro (Datumaro keeps the first image of a group)");
        }
    }
    if (const Entry* e = find(top, "exif_orientation")) {
        constexpr std::array<std::pair<std::string_view, ExifOrientation>, 2> modes{
            {{"ignore", ExifOrientation::ignore}, {"apply", ExifOrientation::apply}}};
        cfg.exif_orientation = p.one_of(*e, modes);
        if (cfg.exif_orientation == ExifOrientation::apply && cfg.compat == Compat::datumaro) {
            p.fail(*e, "must be ignore with compat: datumaro (Datumaro hashes the pixels as stored)");
        }
    }

    read_limits(p, top, cfg);
    if (const Entry* e = find(top, "control_socket"); e && !e->value.IsNull()) {
        cfg.control_socket = p.non_empty_text(*e, "null or a non-empty path");
    }
    const Entry* base = find(top, "base_dir");
    if (base && !base->value.IsNull()) cfg.base_dir = p.non_empty_text(*base, "null or a non-empty path");
    if (!config_file.empty()) resolve_paths(cfg, config_file);
    check_socket_length(p, cfg, top);
    return cfg;
}

std::vector<std::string> known_keys()
{
    std::vector<std::string> keys;
    const auto sections = all_sections();
    for (const std::string_view key : kTopKeys) {
        const auto section = std::ranges::find(sections, key, &Section::dotted);
        if (section == sections.end()) {
            keys.emplace_back(key);
            continue;
        }
        for (const std::string_view sub : section->keys) {
            keys.push_back(dotted(key, sub));
        }
    }
    return keys;
}

Config load_config(const fs::path& path)
{
    const std::string origin = path.string();
    std::error_code ec;
    if (fs::is_directory(path, ec)) throw ConfigError(origin + ": cannot read config file: it is a directory");
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        const int err = errno;
        throw ConfigError(origin + ": cannot read config file: " + std::strerror(err));
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw ConfigError(origin + ": cannot read config file: read error");
    return parse_config(text.str(), origin, path);
}

void check_directory_layout(const Config& cfg)
{
    struct Dir {
        std::string_view key;
        const fs::path& path;
        fs::path resolved; // absolute, symlinks resolved as far as they exist
    };
    std::array<Dir, 3> dirs{
        {{"ingest_dir", cfg.ingest_dir, {}}, {"output_dir", cfg.output_dir, {}}, {"index_dir", cfg.index_dir, {}}}};
    auto quoted = [](const fs::path& p) {
        return "'" + p.string() + "'";
    };

    for (Dir& d : dirs) {
        if (d.path.empty()) throw ConfigError(std::string(d.key) + " is empty");
        const std::string name = std::string(d.key) + " " + quoted(d.path);
        std::error_code ec;
        const fs::path absolute = fs::absolute(d.path, ec);
        if (!ec) d.resolved = fs::weakly_canonical(absolute, ec);
        if (ec) throw ConfigError(name + ": cannot resolve path: " + ec.message());
        if (d.resolved.filename().empty()) d.resolved = d.resolved.parent_path(); // "a/b/" -> "a/b"
        const auto status = fs::status(d.path, ec);
        if (fs::exists(status) && !fs::is_directory(status)) throw ConfigError(name + " exists but is not a directory");
    }

    for (std::size_t i = 0; i < dirs.size(); ++i) {
        for (std::size_t j = i + 1; j < dirs.size(); ++j) {
            const Dir& a = dirs[i];
            const Dir& b = dirs[j];
            const std::string rule = ": ingest_dir, output_dir and index_dir must be separate, non-nested "
                                     "directories, or the daemon would read or export its own files";
            if (a.resolved == b.resolved) {
                throw ConfigError(std::string(a.key) + " and " + std::string(b.key) + " are the same directory " +
                                  quoted(a.resolved) + rule);
            }
            const bool b_in_a = is_within(a.resolved, b.resolved);
            if (b_in_a || is_within(b.resolved, a.resolved)) {
                const Dir& inner = b_in_a ? b : a;
                const Dir& outer = b_in_a ? a : b;
                throw ConfigError(std::string(inner.key) + " " + quoted(inner.resolved) + " is inside " +
                                  std::string(outer.key) + " " + quoted(outer.resolved) + rule);
            }
        }
    }
}

void prepare_directories(const Config& cfg)
{
    check_directory_layout(cfg); // before creating anything, so a bad configuration leaves no trace
    for (const auto& [key, path] : {std::pair<std::string_view, const fs::path&>{"ingest_dir", cfg.ingest_dir},
                                    {"output_dir", cfg.output_dir},
                                    {"index_dir", cfg.index_dir}}) {
        const std::string name = std::string(key) + " '" + path.string() + "'";
        std::error_code ec;
        fs::create_directories(path, ec);
        if (ec) throw ConfigError(name + ": cannot create directory: " + ec.message());
        // The daemon lists, writes and renames files in all three.
        if (::access(path.c_str(), R_OK | W_OK | X_OK) != 0) {
            const int err = errno;
            throw ConfigError(name + " is not usable (need read, write and search permission): " + std::strerror(err));
        }
    }
}

} // namespace ndrd::config
