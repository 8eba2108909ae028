// Tests for loading, validating and preparing ndrd's configuration.
#define BOOST_TEST_MODULE config_test
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <initializer_list>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "config/config.hpp"

namespace cfg = ndrd::config;
namespace fs = std::filesystem;

namespace {

const std::string kOrigin = "test.yaml";
const fs::path kFixtures = fs::path(NDRD_FIXTURE_DIR) / "config";

// The message parse_config throws for `yaml`, or "" if it accepts it.
std::string error_for(const std::string& yaml)
{
    try {
        (void)cfg::parse_config(yaml, kOrigin);
    } catch (const cfg::ConfigError& e) {
        return e.what();
    }
    return "";
}

// True when `message` is an error containing every part; otherwise says
// which part is missing so the failure explains itself.
boost::test_tools::predicate_result mentions(const std::string& message, std::initializer_list<std::string_view> parts)
{
    if (message.empty()) {
        boost::test_tools::predicate_result r(false);
        r.message() << "the YAML was accepted, expected an error";
        return r;
    }
    for (std::string_view part : parts) {
        if (message.find(part) == std::string::npos) {
            boost::test_tools::predicate_result r(false);
            r.message() << "'" << part << "' missing from: " << message;
            return r;
        }
    }
    return true;
}

// Asserts the value of every field, so a field that drifts is named.
void check_fields_equal(const cfg::Config& got, const cfg::Config& want)
{
    BOOST_TEST(got.ingest_dir == want.ingest_dir);
    BOOST_TEST(got.output_dir == want.output_dir);
    BOOST_TEST(got.index_dir == want.index_dir);
    BOOST_TEST(got.working_subset == want.working_subset);
    BOOST_TEST(got.duplicated_subset == want.duplicated_subset);
    BOOST_TEST(got.algorithm == want.algorithm);
    BOOST_TEST(got.gradient.grid_rows == want.gradient.grid_rows);
    BOOST_TEST(got.gradient.grid_cols == want.gradient.grid_cols);
    BOOST_TEST(got.gradient.hash_dim == want.gradient.hash_dim);
    BOOST_TEST(got.gradient.sim_threshold == want.gradient.sim_threshold);
    BOOST_TEST(got.gradient.projection.has_value() == want.gradient.projection.has_value());
    if (got.gradient.projection && want.gradient.projection) {
        BOOST_TEST(*got.gradient.projection == *want.gradient.projection);
    }
    BOOST_TEST(got.seed == want.seed);
    BOOST_TEST(got.workers == want.workers);
    BOOST_TEST(got.num_cut.has_value() == want.num_cut.has_value());
    if (got.num_cut && want.num_cut) BOOST_TEST(*got.num_cut == *want.num_cut);
    BOOST_TEST(cfg::to_string(got.over_sample) == cfg::to_string(want.over_sample));
    BOOST_TEST(cfg::to_string(got.under_sample) == cfg::to_string(want.under_sample));
    BOOST_TEST(got.rebalance.interval.count() == want.rebalance.interval.count());
    BOOST_TEST(got.rebalance.after_items.has_value() == want.rebalance.after_items.has_value());
    if (got.rebalance.after_items && want.rebalance.after_items) {
        BOOST_TEST(*got.rebalance.after_items == *want.rebalance.after_items);
    }
    BOOST_TEST(cfg::to_string(got.log_level) == cfg::to_string(want.log_level));
    BOOST_TEST(got.max_file_size == want.max_file_size);
    BOOST_TEST(got.index_min_free == want.index_min_free);
    BOOST_TEST(got.index_cache == want.index_cache);
    BOOST_TEST(cfg::to_string(got.decode_scale) == cfg::to_string(want.decode_scale));
    BOOST_TEST(cfg::to_string(got.exif_orientation) == cfg::to_string(want.exif_orientation));
    BOOST_TEST((got.metrics.listen == want.metrics.listen));
    BOOST_TEST(got.control_socket == want.control_socket);
    BOOST_TEST((got.retention == want.retention));
    // Catches fields added to Config after this helper was written.
    BOOST_TEST((got == want));
}

cfg::Config parse(const std::string& yaml)
{
    return cfg::parse_config(yaml, kOrigin);
}

// A fresh directory under the system temp dir, removed with everything in it.
struct TempDir {
    fs::path root;

    TempDir()
    {
        static std::atomic<unsigned> counter{0};
        std::random_device random;
        root = fs::temp_directory_path() / ("ndrd-config-test-" + std::to_string(::getpid()) + "-" +
                                            std::to_string(counter++) + "-" + std::to_string(random()));
        if (!fs::create_directory(root)) throw std::runtime_error("temp dir already exists: " + root.string());
    }
    ~TempDir()
    {
        std::error_code ec;
        // A test may have taken write permission away; give it back so
        // remove_all can delete the contents.
        for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
             it.increment(ec)) {
            if (it->is_directory(ec)) fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
        }
        fs::remove_all(root, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    cfg::Config dirs(const fs::path& ingest, const fs::path& output, const fs::path& index) const
    {
        cfg::Config c;
        c.ingest_dir = root / ingest;
        c.output_dir = root / output;
        c.index_dir = root / index;
        return c;
    }
};

std::string prepare_error(const cfg::Config& c)
{
    try {
        cfg::prepare_directories(c);
    } catch (const cfg::ConfigError& e) {
        return e.what();
    }
    return "";
}

boost::test_tools::assertion_result not_root(boost::unit_test::test_unit_id)
{
    boost::test_tools::assertion_result r(::geteuid() != 0);
    r.message() << "root bypasses permission checks";
    return r;
}

} // namespace

BOOST_AUTO_TEST_SUITE(config_loading)

// ---- defaults ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(empty_text_yields_the_documented_defaults)
{
    const cfg::Config c = parse("");
    check_fields_equal(c, cfg::Config{});
    // The schema in the docs promises these values; pin them here too.
    BOOST_TEST(c.base_dir.empty()); // text, not a file: paths stay as written
    BOOST_TEST(c.ingest_dir == fs::path("incoming"));
    BOOST_TEST(c.output_dir == fs::path("dataset"));
    BOOST_TEST(c.index_dir == fs::path("index"));
    BOOST_TEST((c.log_routing == cfg::LogLevel::info));
    BOOST_TEST(!c.ingest.remove_empty_dirs);
    BOOST_TEST(c.ingest.empty_dir_grace.count() == 600);
    BOOST_TEST(c.working_subset == "train");
    BOOST_TEST(c.duplicated_subset == "duplicated");
    BOOST_TEST(c.algorithm == "gradient");
    BOOST_TEST(c.gradient.grid_rows == 8);
    BOOST_TEST(c.gradient.grid_cols == 8);
    BOOST_TEST(c.gradient.hash_dim == 32);
    BOOST_TEST(c.gradient.sim_threshold == 0.5);
    BOOST_TEST(!c.gradient.projection.has_value());
    BOOST_TEST(c.seed == 0u);
    BOOST_TEST(c.workers == 0u);
    BOOST_TEST(!c.num_cut.has_value());
    BOOST_TEST((c.over_sample == cfg::OverSample::random));
    BOOST_TEST((c.under_sample == cfg::UnderSample::uniform));
    BOOST_TEST(c.rebalance.interval.count() == 600);
    BOOST_TEST(!c.rebalance.after_items.has_value());
    BOOST_TEST((c.log_level == cfg::LogLevel::info));
    BOOST_TEST(c.max_file_size == 256ULL * 1024 * 1024);
    BOOST_TEST(c.control_socket.empty());
}

BOOST_AUTO_TEST_CASE(comments_empty_document_and_empty_sections_yield_defaults)
{
    for (const std::string yaml : {"# nothing but a comment\n", "---\n", "gradient:\nrebalance:\n", "{}\n"}) {
        BOOST_TEST_CONTEXT("yaml: " << yaml)
        {
            check_fields_equal(parse(yaml), cfg::Config{});
        }
    }
}

// The defaults as a file in `dir` gives them: relative paths against it.
cfg::Config defaults_in(const fs::path& dir)
{
    cfg::Config c;
    c.base_dir = dir;
    c.ingest_dir = dir / "incoming";
    c.output_dir = dir / "dataset";
    c.index_dir = dir / "index";
    return c;
}

BOOST_AUTO_TEST_CASE(empty_file_loads_as_defaults)
{
    check_fields_equal(cfg::load_config(kFixtures / "empty.yaml"), defaults_in(kFixtures.lexically_normal()));
}

BOOST_AUTO_TEST_CASE(shipped_ndrd_yaml_loads_to_exactly_the_defaults)
{
    const fs::path file = NDRD_DEFAULT_CONFIG;
    check_fields_equal(cfg::load_config(file), defaults_in(file.lexically_normal().parent_path()));
}

BOOST_AUTO_TEST_CASE(shipped_ndrd_yaml_sets_every_key_explicitly)
{
    // Loading to the defaults proves nothing if the file left keys out.
    std::ifstream in(NDRD_DEFAULT_CONFIG);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const char* key : {"base_dir:",
                            "log_routing:",
                            "ingest:",
                            "retention:",
                            "remove_empty_dirs:",
                            "empty_dir_grace:",
                            "ingest_dir:",
                            "output_dir:",
                            "index_dir:",
                            "working_subset:",
                            "duplicated_subset:",
                            "algorithm:",
                            "gradient:",
                            "block_shape:",
                            "hash_dim:",
                            "sim_threshold:",
                            "projection:",
                            "seed:",
                            "workers:",
                            "num_cut:",
                            "over_sample:",
                            "under_sample:",
                            "rebalance:",
                            "interval:",
                            "after_items:",
                            "log_level:",
                            "max_file_size:",
                            "max_pixels:",
                            "index_min_free:",
                            "control_socket:",
                            "decode_scale:",
                            "exif_orientation:",
                            "index_cache:",
                            "metrics:",
                            "listen:",
                            "watch:",
                            "mode:",
                            "poll_interval:"}) {
        const bool top_level = text.find(std::string("\n") + key) != std::string::npos;
        const bool nested = text.find(std::string("\n  ") + key) != std::string::npos;
        BOOST_TEST((top_level || nested), key << " not set in ndrd.yaml");
    }
}

// ---- a full file --------------------------------------------------------------

BOOST_AUTO_TEST_CASE(full_file_sets_every_key)
{
    cfg::Config want;
    want.ingest_dir = "/srv/ndrd/incoming";
    want.output_dir = "/srv/ndrd/dataset";
    want.index_dir = "/srv/ndrd/index";
    want.working_subset = "kept";
    want.duplicated_subset = "dups";
    want.gradient.grid_rows = 4;
    want.gradient.grid_cols = 6;
    want.gradient.hash_dim = 64;
    want.gradient.sim_threshold = 0.75;
    want.base_dir = "/srv/ndrd";
    want.gradient.projection = fs::path("/srv/ndrd/models/proj.txt"); // against base_dir, lexically normalised
    want.log_routing = cfg::LogLevel::debug;
    want.ingest.remove_empty_dirs = true;
    want.ingest.empty_dir_grace = std::chrono::hours(1);
    want.seed = 12345678901234567890ULL;
    want.workers = 3;
    want.num_cut = 1000;
    want.over_sample = cfg::OverSample::similarity;
    want.under_sample = cfg::UnderSample::inverse;
    want.rebalance.interval = std::chrono::hours(2);
    want.rebalance.after_items = 500;
    want.log_level = cfg::LogLevel::debug;
    want.max_file_size = 12ULL << 20;
    want.index_min_free = 1ULL << 30;
    want.metrics.listen = "127.0.0.1:9477";
    want.max_pixels = 1'000'000;
    want.decode_scale = cfg::DecodeScale::automatic;
    want.exif_orientation = cfg::ExifOrientation::apply;
    want.index_cache = 64ULL << 20;
    want.watch.mode = cfg::WatchMode::poll;
    want.watch.poll_interval = std::chrono::seconds(30);
    want.control_socket = "/run/ndrd/control.sock";

    const cfg::Config got = cfg::load_config(kFixtures / "full.yaml");
    check_fields_equal(got, want);
    BOOST_TEST(got.working_dir() == fs::path("/srv/ndrd/dataset/kept"));
    BOOST_TEST(got.duplicated_dir() == fs::path("/srv/ndrd/dataset/dups"));
    BOOST_TEST(got.control_socket_path() == fs::path("/run/ndrd/control.sock"));
    BOOST_TEST(got.gradient.feature_dim() == 4 * 6 * 12);
}

// ---- files and syntax -----------------------------------------------------------

BOOST_AUTO_TEST_CASE(missing_file_is_rejected_naming_the_file)
{
    const fs::path missing = kFixtures / "does-not-exist.yaml";
    try {
        (void)cfg::load_config(missing);
        BOOST_FAIL("a missing file was accepted");
    } catch (const cfg::ConfigError& e) {
        const std::string message = e.what();
        BOOST_TEST(message.rfind(missing.string() + ":", 0) == 0u, message);
        BOOST_TEST(mentions(message, {"No such file or directory"}));
    }
}

BOOST_AUTO_TEST_CASE(directory_given_as_config_file_is_rejected)
{
    BOOST_CHECK_EXCEPTION((void)cfg::load_config(kFixtures), cfg::ConfigError, [](const cfg::ConfigError& e) {
        return std::string(e.what()).find("is a directory") != std::string::npos;
    });
}

BOOST_AUTO_TEST_CASE(syntax_error_in_file_names_file_and_line)
{
    const fs::path file = kFixtures / "syntax_error.yaml";
    try {
        (void)cfg::load_config(file);
        BOOST_FAIL("a syntax error was accepted");
    } catch (const cfg::ConfigError& e) {
        // yaml-cpp notices the unclosed list of line 5 on line 6.
        BOOST_TEST(std::string(e.what()).rfind(file.string() + ":6: invalid YAML", 0) == 0u, e.what());
    }
}

BOOST_AUTO_TEST_CASE(syntax_error_in_text_names_origin_and_line)
{
    BOOST_TEST(error_for("seed: 1\ngradient:\n  hash_dim: 32\n   sim_threshold: 0.5\n") ==
               "test.yaml:4: invalid YAML: illegal map value");
}

BOOST_AUTO_TEST_CASE(top_level_must_be_a_mapping)
{
    BOOST_TEST(mentions(error_for("5\n"), {"test.yaml:1:", "top level must be a mapping"}));
    BOOST_TEST(mentions(error_for("- seed\n- workers\n"), {"test.yaml:1:", "top level must be a mapping", "a list"}));
}

BOOST_AUTO_TEST_CASE(several_documents_are_rejected)
{
    BOOST_TEST(mentions(error_for("seed: 1\n---\nseed: 2\n"), {"test.yaml:2:", "one YAML document, found a second"}));
}

BOOST_AUTO_TEST_CASE(malformed_text_that_hangs_yaml_cpp_load_all_is_an_error)
{
    // yaml-cpp 0.7's LoadAll never returns on these (found by config_fuzz).
    for (const std::string yaml : {",", "\n,\n", "seed: 1\n,\n"}) {
        BOOST_TEST_CONTEXT("yaml: " << yaml)
        {
            BOOST_TEST(mentions(error_for(yaml), {"test.yaml:"}));
        }
    }
}

// ---- unknown and repeated keys ----------------------------------------------------

BOOST_AUTO_TEST_CASE(unknown_nested_key_names_section_and_suggests_closest)
{
    BOOST_TEST(error_for("gradient:\n  block_shape: [8, 8]\n  hash_dimm: 32\n") ==
               "test.yaml:3: unknown key 'hash_dimm' in 'gradient' (did you mean 'hash_dim'?)");
    BOOST_TEST(error_for("rebalance:\n  intervall: 5m\n") ==
               "test.yaml:2: unknown key 'intervall' in 'rebalance' (did you mean 'interval'?)");
}

BOOST_AUTO_TEST_CASE(unknown_top_level_key_suggests_closest)
{
    BOOST_TEST(error_for("workers: 2\nseeed: 1\n") == "test.yaml:2: unknown key 'seeed' (did you mean 'seed'?)");
    BOOST_TEST(mentions(error_for("log_levle: debug\n"), {"'log_levle'", "did you mean 'log_level'?"}));
}

BOOST_AUTO_TEST_CASE(unknown_key_far_from_every_known_key_gets_no_suggestion)
{
    const std::string message = error_for("colour: red\n");
    BOOST_TEST(message == "test.yaml:1: unknown key 'colour'");
}

BOOST_AUTO_TEST_CASE(key_at_the_wrong_level_is_pointed_to_its_section)
{
    BOOST_TEST(mentions(error_for("hash_dim: 16\n"), {"unknown key 'hash_dim'", "did you mean 'gradient.hash_dim'?"}));
    BOOST_TEST(mentions(error_for("gradient:\n  seed: 3\n"),
                        {"test.yaml:2:", "unknown key 'seed' in 'gradient'", "did you mean top-level 'seed'?"}));
}

BOOST_AUTO_TEST_CASE(duplicate_key_is_rejected_with_both_lines)
{
    BOOST_TEST(error_for("seed: 1\nworkers: 2\nseed: 3\n") ==
               "test.yaml:3: duplicate key 'seed' (first set on line 1)");
    BOOST_TEST(mentions(error_for("gradient:\n  hash_dim: 8\n  hash_dim: 9\n"),
                        {"test.yaml:3:", "duplicate key 'gradient.hash_dim'", "line 2"}));
}

BOOST_AUTO_TEST_CASE(section_that_is_not_a_mapping_is_rejected)
{
    BOOST_TEST(mentions(error_for("gradient: 5\n"), {"test.yaml:1:", "gradient must be a mapping", "got 5"}));
    BOOST_TEST(mentions(error_for("seed: 1\nrebalance: [10m]\n"), {"test.yaml:2:", "rebalance must be a mapping"}));
}

BOOST_AUTO_TEST_CASE(complex_key_is_rejected)
{
    BOOST_TEST(mentions(error_for("? [a, b]\n: 1\n"), {"test.yaml:1:", "keys must be plain names"}));
}

// ---- algorithm and gradient ---------------------------------------------------------

BOOST_AUTO_TEST_CASE(algorithm_other_than_gradient_is_rejected_as_unsupported)
{
    BOOST_TEST(mentions(error_for("seed: 1\nalgorithm: invariant\n"),
                        {"test.yaml:2:", "algorithm must be 'gradient'", "'invariant'", "only"}));
    BOOST_TEST(mentions(error_for("algorithm: [gradient]\n"), {"algorithm", "a list"}));
    BOOST_TEST(parse("algorithm: gradient\n").algorithm == "gradient");
}

BOOST_AUTO_TEST_CASE(block_shape_must_be_two_integers_from_1_to_64)
{
    struct Case {
        std::string yaml;
        std::string key;
    };
    for (const Case& c : std::vector<Case>{{"gradient:\n  block_shape: 8\n", "gradient.block_shape "},
                                           {"gradient:\n  block_shape: [8]\n", "gradient.block_shape "},
                                           {"gradient:\n  block_shape: [8, 8, 8]\n", "gradient.block_shape "},
                                           {"gradient:\n  block_shape: [0, 8]\n", "gradient.block_shape[0]"},
                                           {"gradient:\n  block_shape: [8, -2]\n", "gradient.block_shape[1]"},
                                           {"gradient:\n  block_shape: [8, 65]\n", "gradient.block_shape[1]"},
                                           {"gradient:\n  block_shape: [8, 2.5]\n", "gradient.block_shape[1]"},
                                           {"gradient:\n  block_shape: [a, 8]\n", "gradient.block_shape[0]"},
                                           {"gradient:\n  block_shape: {rows: 8}\n", "gradient.block_shape "}}) {
        BOOST_TEST_CONTEXT("yaml: " << c.yaml)
        {
            BOOST_TEST(mentions(error_for(c.yaml), {"test.yaml:2:", c.key}));
        }
    }
    const cfg::Config c = parse("gradient:\n  block_shape:\n    - 64\n    - 1\n");
    BOOST_TEST(c.gradient.grid_rows == 64);
    BOOST_TEST(c.gradient.grid_cols == 1);
}

BOOST_AUTO_TEST_CASE(block_shape_element_error_points_at_its_own_line)
{
    BOOST_TEST(mentions(error_for("gradient:\n  block_shape:\n    - 8\n    - 0\n"),
                        {"test.yaml:4:", "gradient.block_shape[1]", "got 0"}));
}

BOOST_AUTO_TEST_CASE(hash_dim_must_be_a_positive_integer)
{
    BOOST_TEST(error_for("seed: 1\ngradient:\n  hash_dim: -3\n") ==
               "test.yaml:3: gradient.hash_dim must be a positive integer, got -3");
    for (const std::string value : {"0", "1.5", "abc", "\"32\"", "[32]", "null", "1e2", "0x20"}) {
        BOOST_TEST_CONTEXT("hash_dim: " << value)
        {
            BOOST_TEST(mentions(error_for("gradient:\n  hash_dim: " + value + "\n"),
                                {"test.yaml:2:", "gradient.hash_dim must be a positive integer"}));
        }
    }
    BOOST_TEST(parse("gradient:\n  hash_dim: 1\n").gradient.hash_dim == 1);
}

BOOST_AUTO_TEST_CASE(hash_dim_larger_than_feature_is_rejected_naming_key_and_limit)
{
    // block_shape [2, 2] gives 2 * 2 * 12 = 48 feature dimensions.
    BOOST_TEST(mentions(error_for("gradient:\n  block_shape: [2, 2]\n  hash_dim: 49\n"),
                        {"test.yaml:3:", "gradient.hash_dim must be at most 48", "rows * cols * 12", "got 49"}));
    BOOST_TEST(parse("gradient:\n  block_shape: [2, 2]\n  hash_dim: 48\n").gradient.hash_dim == 48);
}

BOOST_AUTO_TEST_CASE(block_shape_too_small_for_default_hash_dim_is_rejected)
{
    // [1, 2] gives 24 dimensions, fewer than the default hash_dim of 32.
    BOOST_TEST(mentions(
        error_for("workers: 1\ngradient:\n  block_shape: [1, 2]\n"),
        {"test.yaml:3:", "gradient.block_shape gives only 24 feature dimensions", "gradient.hash_dim (default 32)"}));
}

BOOST_AUTO_TEST_CASE(sim_threshold_must_be_a_finite_positive_number)
{
    for (const std::string value :
         {"0", "-0.5", "0.0", ".nan", ".inf", "-.inf", "nan", "inf", "abc", "\"0.5\"", "[0.5]", "null", "0.5x"}) {
        BOOST_TEST_CONTEXT("sim_threshold: " << value)
        {
            BOOST_TEST(mentions(error_for("gradient:\n  sim_threshold: " + value + "\n"),
                                {"test.yaml:2:", "gradient.sim_threshold must be a finite number greater than 0"}));
        }
    }
    BOOST_TEST(parse("gradient:\n  sim_threshold: 1.5\n").gradient.sim_threshold == 1.5);
    BOOST_TEST(parse("gradient:\n  sim_threshold: 1\n").gradient.sim_threshold == 1.0);
    BOOST_TEST(parse("gradient:\n  sim_threshold: 1e-3\n").gradient.sim_threshold == 1e-3);
    BOOST_TEST(parse("gradient:\n  sim_threshold: +0.25\n").gradient.sim_threshold == 0.25);
}

BOOST_AUTO_TEST_CASE(projection_is_null_or_a_lexically_normal_path)
{
    BOOST_TEST(*parse("gradient:\n  projection: ./a/../b/p.txt\n").gradient.projection == fs::path("b/p.txt"));
    BOOST_TEST(*parse("gradient:\n  projection: /abs/p.txt\n").gradient.projection == fs::path("/abs/p.txt"));
    BOOST_TEST(!parse("gradient:\n  projection: null\n").gradient.projection.has_value());
    BOOST_TEST(!parse("gradient:\n  projection:\n").gradient.projection.has_value());
    BOOST_TEST(mentions(error_for("gradient:\n  projection: \"\"\n"), {"test.yaml:2:", "gradient.projection"}));
    BOOST_TEST(
        mentions(error_for("gradient:\n  projection: [a, b]\n"), {"test.yaml:2:", "gradient.projection", "a list"}));
}

// ---- scalars at the top level ------------------------------------------------------

BOOST_AUTO_TEST_CASE(seed_must_be_a_non_negative_64_bit_integer)
{
    for (const std::string value : {"-1", "1.5", "18446744073709551616", "abc", "\"7\"", "null", "[1]"}) {
        BOOST_TEST_CONTEXT("seed: " << value)
        {
            BOOST_TEST(mentions(error_for("workers: 1\nseed: " + value + "\n"), {"test.yaml:2:", "seed must be"}));
        }
    }
    BOOST_TEST(parse("seed: 18446744073709551615\n").seed == 18446744073709551615ULL);
    BOOST_TEST(parse("seed: 42\n").seed == 42u);
}

BOOST_AUTO_TEST_CASE(workers_must_be_between_0_and_256)
{
    for (const std::string value : {"-1", "257", "2.0", "many", "null"}) {
        BOOST_TEST_CONTEXT("workers: " << value)
        {
            BOOST_TEST(mentions(error_for("workers: " + value + "\n"), {"test.yaml:1:", "workers", "0 to 256"}));
        }
    }
    BOOST_TEST(parse("workers: 256\n").workers == 256u);
    BOOST_TEST(parse("workers: 0\n").workers == 0u);
}

BOOST_AUTO_TEST_CASE(effective_workers_is_one_per_core_when_zero)
{
    cfg::Config c;
    c.workers = 0;
    BOOST_TEST(c.effective_workers() == std::max(1u, std::thread::hardware_concurrency()));
    c.workers = 5;
    BOOST_TEST(c.effective_workers() == 5u);
}

BOOST_AUTO_TEST_CASE(num_cut_must_be_null_or_at_least_1)
{
    for (const std::string value : {"0", "-1", "1.5", "lots", "[1]"}) {
        BOOST_TEST_CONTEXT("num_cut: " << value)
        {
            BOOST_TEST(mentions(error_for("num_cut: " + value + "\n"),
                                {"test.yaml:1:", "num_cut must be null or an integer >= 1"}));
        }
    }
    BOOST_TEST(!parse("num_cut: null\n").num_cut.has_value());
    BOOST_TEST(!parse("num_cut: ~\n").num_cut.has_value());
    BOOST_TEST(*parse("num_cut: 1\n").num_cut == 1u);
}

BOOST_AUTO_TEST_CASE(sampling_methods_reject_unknown_names_listing_accepted_ones)
{
    BOOST_TEST(error_for("over_sample: smote\n") ==
               "test.yaml:1: over_sample must be one of random, similarity, got smote");
    BOOST_TEST(error_for("under_sample: fancy\n") ==
               "test.yaml:1: under_sample must be one of uniform, inverse, got fancy");
    BOOST_TEST(mentions(error_for("under_sample: [uniform]\n"), {"under_sample", "a list"}));
    BOOST_TEST((parse("over_sample: similarity\n").over_sample == cfg::OverSample::similarity));
    BOOST_TEST((parse("under_sample: inverse\n").under_sample == cfg::UnderSample::inverse));
}

BOOST_AUTO_TEST_CASE(subset_names_must_be_single_directory_names)
{
    for (const std::string key : {"working_subset", "duplicated_subset"}) {
        for (const std::string value : {"\"\"", "a/b", "/abs", ".", "..", "null", "[x]"}) {
            BOOST_TEST_CONTEXT(key << ": " << value)
            {
                BOOST_TEST(mentions(error_for("seed: 1\n" + key + ": " + value + "\n"),
                                    {"test.yaml:2:", key + " must be a non-empty directory name"}));
            }
        }
        BOOST_TEST(mentions(error_for(key + ": rejected\n"), {"test.yaml:1:", key, "reserved"}));
    }
}

BOOST_AUTO_TEST_CASE(working_and_duplicated_subsets_must_differ)
{
    BOOST_TEST(mentions(error_for("working_subset: same\nduplicated_subset: same\n"),
                        {"test.yaml:2:", "duplicated_subset must differ from working_subset"}));
    // Setting one to the other's default collides too.
    BOOST_TEST(mentions(error_for("duplicated_subset: train\n"),
                        {"test.yaml:1:", "duplicated_subset must differ from working_subset"}));
    BOOST_TEST(mentions(error_for("working_subset: duplicated\n"),
                        {"test.yaml:1:", "working_subset must differ from duplicated_subset"}));
}

BOOST_AUTO_TEST_CASE(directory_keys_must_be_non_empty_strings)
{
    for (const std::string key : {"ingest_dir", "output_dir", "index_dir"}) {
        for (const std::string value : {"\"\"", "null", "[a, b]", "{a: b}"}) {
            BOOST_TEST_CONTEXT(key << ": " << value)
            {
                BOOST_TEST(mentions(error_for("seed: 1\n" + key + ": " + value + "\n"),
                                    {"test.yaml:2:", key + " must be a non-empty path"}));
            }
        }
    }
    BOOST_TEST(parse("ingest_dir: relative/in\n").ingest_dir == fs::path("relative/in"));
}

// ---- rebalance ------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(rebalance_interval_accepts_units_and_bare_seconds)
{
    const std::vector<std::pair<std::string, long long>> cases{
        {"30s", 30}, {"10m", 600}, {"2h", 7200}, {"1d", 86400}, {"0s", 0}, {"0", 0}, {"45", 45}, {"\"90s\"", 90}};
    for (const auto& [value, seconds] : cases) {
        BOOST_TEST_CONTEXT("interval: " << value)
        {
            BOOST_TEST(parse("rebalance:\n  interval: " + value + "\n").rebalance.interval.count() == seconds);
        }
    }
}

BOOST_AUTO_TEST_CASE(rebalance_interval_rejects_malformed_durations)
{
    for (const std::string value :
         {"10x", "-5s", "m", "1.5h", "\"10 m\"", "10M", "10ms", "[10]", "null", "\"\"", "99999999999999999999d"}) {
        BOOST_TEST_CONTEXT("interval: " << value)
        {
            BOOST_TEST(mentions(error_for("rebalance:\n  interval: " + value + "\n"),
                                {"test.yaml:2:", "rebalance.interval must be a duration"}));
        }
    }
}

BOOST_AUTO_TEST_CASE(rebalance_after_items_must_be_null_or_at_least_1)
{
    BOOST_TEST(
        mentions(error_for("rebalance:\n  after_items: 0\n"), {"test.yaml:2:", "rebalance.after_items", "got 0"}));
    BOOST_TEST(mentions(error_for("rebalance:\n  after_items: -4\n"), {"test.yaml:2:", "rebalance.after_items"}));
    BOOST_TEST(!parse("rebalance:\n  after_items: null\n").rebalance.after_items.has_value());
    BOOST_TEST(*parse("rebalance:\n  after_items: 7\n").rebalance.after_items == 7u);
}

// ---- log level, file size, socket ---------------------------------------------------

BOOST_AUTO_TEST_CASE(log_level_accepts_the_four_levels_only)
{
    for (const auto level : {cfg::LogLevel::error, cfg::LogLevel::warning, cfg::LogLevel::info, cfg::LogLevel::debug}) {
        BOOST_TEST((parse("log_level: " + cfg::to_string(level) + "\n").log_level == level));
    }
    BOOST_TEST(error_for("log_level: verbose\n") ==
               "test.yaml:1: log_level must be one of error, warning, info, debug, got verbose");
    BOOST_TEST(mentions(error_for("log_level: INFO\n"), {"log_level must be one of"}));
}

BOOST_AUTO_TEST_CASE(max_file_size_accepts_bytes_and_binary_suffixes)
{
    const std::vector<std::pair<std::string, std::uint64_t>> cases{
        {"1024", 1024}, {"1KiB", 1024}, {"3MiB", 3ULL << 20}, {"2GiB", 2ULL << 30}, {"\"5MiB\"", 5ULL << 20}};
    for (const auto& [value, bytes] : cases) {
        BOOST_TEST_CONTEXT("max_file_size: " << value)
        {
            BOOST_TEST(parse("max_file_size: " + value + "\n").max_file_size == bytes);
        }
    }
}

BOOST_AUTO_TEST_CASE(max_file_size_rejects_zero_and_unknown_suffixes)
{
    for (const std::string value :
         {"0", "0MiB", "10MB", "10mib", "1.5MiB", "-1", "MiB", "null", "[1]", "99999999999GiB"}) {
        BOOST_TEST_CONTEXT("max_file_size: " << value)
        {
            BOOST_TEST(mentions(error_for("seed: 1\nmax_file_size: " + value + "\n"),
                                {"test.yaml:2:", "max_file_size must be a positive size"}));
        }
    }
}

BOOST_AUTO_TEST_CASE(max_pixels_accepts_positive_integers_and_rejects_the_rest)
{
    BOOST_TEST(parse("").max_pixels == 64'000'000U);
    BOOST_TEST(parse("max_pixels: 1000\n").max_pixels == 1000U);
    for (const std::string value : {"0", "-5", "1.5", "abc", "null", "\"100\""}) {
        BOOST_TEST_CONTEXT("max_pixels: " << value)
        {
            BOOST_TEST(mentions(error_for("seed: 1\nmax_pixels: " + value + "\n"), {"test.yaml:2:", "max_pixels"}));
        }
    }
}

BOOST_AUTO_TEST_CASE(index_min_free_takes_sizes_and_zero_turns_it_off)
{
    BOOST_TEST(parse("").index_min_free == 64ULL << 20);
    BOOST_TEST(parse("index_min_free: 1GiB\n").index_min_free == 1ULL << 30);
    BOOST_TEST(parse("index_min_free: 0\n").index_min_free == 0U);
    for (const std::string value : {"-5", "1.5", "10MB", "abc", "null"}) {
        BOOST_TEST_CONTEXT("index_min_free: " << value)
        {
            BOOST_TEST(
                mentions(error_for("seed: 1\nindex_min_free: " + value + "\n"), {"test.yaml:2:", "index_min_free"}));
        }
    }
}

BOOST_AUTO_TEST_CASE(metrics_listen_is_off_by_default_and_takes_host_port)
{
    BOOST_TEST(!parse("").metrics.listen.has_value());
    BOOST_TEST(!parse("metrics:\n  listen: null\n").metrics.listen.has_value());
    BOOST_TEST(*parse("metrics:\n  listen: 127.0.0.1:9477\n").metrics.listen == "127.0.0.1:9477");
    BOOST_TEST(*parse("metrics:\n  listen: \"[::1]:9477\"\n").metrics.listen == "[::1]:9477");
    BOOST_TEST(*parse("metrics:\n  listen: localhost:80\n").metrics.listen == "localhost:80");
    for (const std::string value :
         {"9477", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", ":9477", "\"::1:9477\"", "host:port"}) {
        BOOST_TEST_CONTEXT("listen: " << value)
        {
            BOOST_TEST(mentions(error_for("seed: 1\nmetrics:\n  listen: " + value + "\n"), {"test.yaml:3:", "listen"}));
        }
    }
    BOOST_TEST(mentions(error_for("metrics:\n  port: 1\n"), {"test.yaml:2:", "unknown key 'port'"}));
}

BOOST_AUTO_TEST_CASE(cluster_is_absent_by_default_and_names_servers_stream_and_instance)
{
    BOOST_TEST(!parse("").cluster.has_value());
    BOOST_TEST(!parse("cluster:\n").cluster.has_value());
    const auto c = parse("cluster:\n  servers: [nats://10.0.0.1:4222, tls://nats.example:4222]\n"
                         "  stream: site_a\n  instance: cam-host.1\n  replicas: 3\n  token: s3cret\n")
                       .cluster;
    BOOST_TEST_REQUIRE(c.has_value());
    BOOST_TEST(c->servers == (std::vector<std::string>{"nats://10.0.0.1:4222", "tls://nats.example:4222"}),
               boost::test_tools::per_element());
    BOOST_TEST(c->stream == "site_a");
    BOOST_TEST(c->instance == "cam-host.1");
    BOOST_TEST(c->replicas == 3);
    BOOST_TEST(c->token.value_or("") == "s3cret");
    // One URL as a scalar; the instance defaults to the host name.
    const auto one = parse("cluster:\n  servers: nats://127.0.0.1:4222\n").cluster;
    BOOST_TEST_REQUIRE(one.has_value());
    BOOST_TEST(one->servers.size() == 1U);
    BOOST_TEST(!one->instance.empty());
    BOOST_TEST(one->stream == "ndrd");
    BOOST_TEST(one->replicas == 1);
}

BOOST_AUTO_TEST_CASE(cluster_mistakes_name_the_key)
{
    const std::string servers = "cluster:\n  servers: [nats://127.0.0.1:4222]\n";
    BOOST_TEST(mentions(error_for("cluster:\n  stream: x\n"), {"cluster", "servers"}));
    BOOST_TEST(mentions(error_for("cluster:\n  servers: [http://x:80]\n"), {"test.yaml:2:", "cluster.servers"}));
    BOOST_TEST(mentions(error_for(servers + "  replicas: 2\n"), {"test.yaml:3:", "cluster.replicas", "1, 3 or 5"}));
    BOOST_TEST(mentions(error_for(servers + "  stream: a.b\n"), {"test.yaml:3:", "cluster.stream"}));
    BOOST_TEST(mentions(error_for(servers + "  instance: a/b\n"), {"test.yaml:3:", "cluster.instance"}));
    BOOST_TEST(
        mentions(error_for(servers + "  token: t\n  credentials: /etc/ndrd/u.creds\n"), {"cluster", "not both"}));
    BOOST_TEST(mentions(error_for(servers + "  url: x\n"), {"test.yaml:3:", "unknown key 'url'"}));
}

BOOST_AUTO_TEST_CASE(index_cache_is_a_size_of_at_least_one_mebibyte)
{
    BOOST_TEST(parse("").index_cache == 32ULL << 20);
    BOOST_TEST(parse("index_cache: 1GiB\n").index_cache == 1ULL << 30);
    for (const std::string value : {"0", "512KiB", "1000", "-1", "big"}) {
        BOOST_TEST_CONTEXT("index_cache: " << value)
        {
            BOOST_TEST(mentions(error_for("seed: 1\nindex_cache: " + value + "\n"), {"test.yaml:2:", "index_cache"}));
        }
    }
}

BOOST_AUTO_TEST_CASE(exif_orientation_is_ignore_or_apply)
{
    BOOST_TEST(cfg::to_string(parse("").exif_orientation) == "ignore");
    BOOST_TEST(cfg::to_string(parse("exif_orientation: apply\n").exif_orientation) == "apply");
    BOOST_TEST(mentions(error_for("seed: 1\nexif_orientation: rotate\n"), {"test.yaml:2:", "exif_orientation"}));
}

BOOST_AUTO_TEST_CASE(decode_scale_is_off_or_auto)
{
    BOOST_TEST(cfg::to_string(parse("").decode_scale) == "off");
    BOOST_TEST(cfg::to_string(parse("decode_scale: auto\n").decode_scale) == "auto");
    BOOST_TEST(mentions(error_for("seed: 1\ndecode_scale: half\n"), {"test.yaml:2:", "decode_scale"}));
}

BOOST_AUTO_TEST_CASE(probe_radius_is_0_to_3_with_a_measured_default)
{
    BOOST_TEST(parse("").gradient.probe_radius == cfg::kDefaultProbeRadius);
    BOOST_TEST(parse("gradient:\n  probe_radius: 0\n").gradient.probe_radius == 0);
    BOOST_TEST(parse("gradient:\n  probe_radius: 3\n").gradient.probe_radius == 3);
    for (const std::string value : {"4", "-1", "1.5", "two"}) {
        BOOST_TEST_CONTEXT("probe_radius: " << value)
        {
            BOOST_TEST(mentions(error_for("gradient:\n  probe_radius: " + value + "\n"),
                                {"test.yaml:2:", "gradient.probe_radius"}));
        }
    }
}

BOOST_AUTO_TEST_CASE(invariance_names_are_checked_and_kept_in_canonical_order)
{
    BOOST_TEST(parse("").gradient.invariance.empty());
    const auto inv = parse("gradient:\n  invariance: [rot90, hflip]\n").gradient.invariance;
    BOOST_TEST(inv == (std::vector<std::string>{"hflip", "rot90"}), boost::test_tools::per_element());
    BOOST_TEST(mentions(error_for("gradient:\n  invariance: [hflip, mirror]\n"),
                        {"test.yaml:2:", "gradient.invariance[1]", "transverse"}));
    BOOST_TEST(mentions(error_for("gradient:\n  invariance: [hflip, hflip]\n"), {"gradient.invariance[1]", "twice"}));
    BOOST_TEST(mentions(error_for("gradient:\n  invariance: hflip\n"), {"gradient.invariance", "a list"}));
    // A rotation of a 4x8 grid is an 8x4 grid: no signed permutation exists.
    BOOST_TEST(mentions(error_for("gradient:\n  block_shape: [4, 8]\n  invariance: [rot90]\n"),
                        {"gradient.invariance[0]", "square"}));
    BOOST_TEST(
        parse("gradient:\n  block_shape: [4, 8]\n  invariance: [hflip, vflip, rot180]\n").gradient.invariance.size() ==
        3U);
}

BOOST_AUTO_TEST_CASE(compat_datumaro_means_exact_keys_and_refuses_wider_matching)
{
    const auto d = parse("compat: datumaro\n");
    BOOST_TEST(cfg::to_string(d.compat) == "datumaro");
    BOOST_TEST(d.gradient.probe_radius == 0);
    BOOST_TEST(!d.exact_copy_rule());
    BOOST_TEST(parse("").exact_copy_rule());
    BOOST_TEST(parse("compat: datumaro\ngradient:\n  probe_radius: 0\n  invariance: []\n").gradient.probe_radius == 0);
    BOOST_TEST(mentions(error_for("compat: datumaro\ngradient:\n  probe_radius: 1\n"),
                        {"test.yaml:3:", "gradient.probe_radius", "compat: datumaro"}));
    BOOST_TEST(mentions(error_for("compat: datumaro\ngradient:\n  invariance: [hflip]\n"),
                        {"gradient.invariance", "compat: datumaro"}));
    BOOST_TEST(mentions(error_for("seed: 1\ncompat: ndrd\n"), {"test.yaml:2:", "compat"}));
    BOOST_TEST(mentions(error_for("compat: datumaro\ndecode_scale: auto\n"),
                        {"test.yaml:2:", "decode_scale", "compat: datumaro"}));
    BOOST_TEST(mentions(error_for("compat: datumaro\nexif_orientation: apply\n"),
                        {"test.yaml:2:", "exif_orientation", "compat: datumaro"}));
}

BOOST_AUTO_TEST_CASE(control_socket_defaults_to_the_index_dir)
{
    BOOST_TEST(parse("index_dir: /x/idx\n").control_socket_path() == fs::path("/x/idx/control.sock"));
    BOOST_TEST(parse("index_dir: /x/idx\ncontrol_socket: null\n").control_socket_path() ==
               fs::path("/x/idx/control.sock"));
    BOOST_TEST(parse("control_socket: /run/s.sock\n").control_socket_path() == fs::path("/run/s.sock"));
    BOOST_TEST(mentions(error_for("control_socket: \"\"\n"), {"test.yaml:1:", "control_socket"}));
    BOOST_TEST(mentions(error_for("control_socket: [a]\n"), {"test.yaml:1:", "control_socket", "a list"}));
}

BOOST_AUTO_TEST_CASE(control_socket_path_too_long_for_a_unix_socket_is_rejected)
{
    const std::string long_dir = "/" + std::string(120, 'd');
    BOOST_TEST(mentions(error_for("seed: 1\ncontrol_socket: " + long_dir + "/s.sock\n"),
                        {"test.yaml:2:", "control_socket", "108 bytes"}));
    // The default socket inherits index_dir's length.
    BOOST_TEST(mentions(error_for("seed: 1\nindex_dir: " + long_dir + "\n"),
                        {"test.yaml:2:", "control_socket is null", "108 bytes"}));
    // A short explicit socket rescues a long index_dir.
    BOOST_TEST(parse("index_dir: " + long_dir + "\ncontrol_socket: /run/s.sock\n").control_socket_path() ==
               fs::path("/run/s.sock"));
}

BOOST_AUTO_TEST_CASE(to_string_matches_the_yaml_spelling)
{
    BOOST_TEST(cfg::to_string(cfg::OverSample::random) == "random");
    BOOST_TEST(cfg::to_string(cfg::OverSample::similarity) == "similarity");
    BOOST_TEST(cfg::to_string(cfg::UnderSample::uniform) == "uniform");
    BOOST_TEST(cfg::to_string(cfg::UnderSample::inverse) == "inverse");
    BOOST_TEST(cfg::to_string(cfg::LogLevel::error) == "error");
    BOOST_TEST(cfg::to_string(cfg::LogLevel::warning) == "warning");
    BOOST_TEST(cfg::to_string(cfg::LogLevel::info) == "info");
    BOOST_TEST(cfg::to_string(cfg::LogLevel::debug) == "debug");
}

// ---- prepare_directories ----------------------------------------------------------

BOOST_AUTO_TEST_CASE(temp_dir_fixture_removes_everything_it_made)
{
    fs::path root;
    {
        TempDir tmp;
        root = tmp.root;
        fs::create_directories(root / "a" / "b");
        std::ofstream(root / "a" / "f") << "x";
        BOOST_TEST(fs::is_directory(root));
    }
    BOOST_TEST(!fs::exists(root));
}

BOOST_FIXTURE_TEST_CASE(prepare_directories_creates_missing_directories, TempDir)
{
    const cfg::Config c = dirs("deep/in", "deep/er/out", "idx");
    cfg::prepare_directories(c);
    BOOST_TEST(fs::is_directory(root / "deep" / "in"));
    BOOST_TEST(fs::is_directory(root / "deep" / "er" / "out"));
    BOOST_TEST(fs::is_directory(root / "idx"));
    // Running again over existing directories is fine.
    BOOST_CHECK_NO_THROW(cfg::prepare_directories(c));
}

BOOST_FIXTURE_TEST_CASE(file_in_place_of_a_directory_is_rejected, TempDir)
{
    std::ofstream(root / "out") << "not a directory";
    const std::string message = prepare_error(dirs("in", "out", "idx"));
    BOOST_TEST(mentions(message, {"output_dir", (root / "out").string(), "not a directory"}));
    BOOST_TEST(!fs::exists(root / "in"), "nothing should be created when the config is rejected");
}

BOOST_FIXTURE_TEST_CASE(failure_to_create_names_key_path_and_reason, TempDir)
{
    std::ofstream(root / "file") << "x";
    const std::string message = prepare_error(dirs("file/sub", "out", "idx"));
    BOOST_TEST(mentions(message, {"ingest_dir", (root / "file" / "sub").string(), "Not a directory"}));
}

BOOST_FIXTURE_TEST_CASE(same_directory_for_two_keys_is_rejected, TempDir)
{
    BOOST_TEST(mentions(prepare_error(dirs("data", "data", "idx")), {"ingest_dir and output_dir", "same directory"}));
    // Different spellings of one place.
    BOOST_TEST(mentions(prepare_error(dirs("in", "out", "x/../in/")), {"ingest_dir and index_dir", "same directory"}));
    BOOST_TEST(!fs::exists(root / "data"));
}

BOOST_FIXTURE_TEST_CASE(directory_nested_in_another_is_rejected, TempDir)
{
    BOOST_TEST(
        mentions(prepare_error(dirs("in", "in/out", "idx")), {"output_dir", "is inside ingest_dir", "its own files"}));
    BOOST_TEST(mentions(prepare_error(dirs("out/in", "out", "idx")), {"ingest_dir", "is inside output_dir"}));
    BOOST_TEST(mentions(prepare_error(dirs("in", "out", "out/sub/idx")), {"index_dir", "is inside output_dir"}));
    BOOST_TEST(fs::is_empty(root), "nothing should be created when the config is rejected");
}

BOOST_FIXTURE_TEST_CASE(nesting_through_a_symlink_is_rejected, TempDir)
{
    fs::create_directory(root / "out");
    fs::create_directory_symlink(root / "out", root / "link");
    BOOST_TEST(mentions(prepare_error(dirs("link/in", "out", "idx")), {"ingest_dir", "is inside output_dir"}));
}

BOOST_FIXTURE_TEST_CASE(siblings_sharing_a_name_prefix_are_not_nested, TempDir)
{
    BOOST_CHECK_NO_THROW(cfg::prepare_directories(dirs("data", "data2", "data-index")));
}

BOOST_FIXTURE_TEST_CASE(unwritable_directory_is_rejected, TempDir, *boost::unit_test::precondition(not_root))
{
    fs::create_directory(root / "in");
    fs::permissions(root / "in", fs::perms::owner_read | fs::perms::owner_exec);
    BOOST_TEST(mentions(prepare_error(dirs("in", "out", "idx")), {"ingest_dir", "not usable", "Permission denied"}));
}

// ---- retention --------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(retention_is_off_by_default_and_takes_an_age_per_area)
{
    BOOST_TEST(!parse("").retention.enabled());
    const cfg::Config c = parse("retention:\n  duplicated: 30d\n  rejected: 12h\n");
    BOOST_TEST(c.retention.enabled());
    BOOST_TEST(c.retention.duplicated.value().count() == 30 * 86400);
    BOOST_TEST(c.retention.rejected.value().count() == 12 * 3600);
    const cfg::Config one = parse("retention:\n  duplicated: 1s\n");
    BOOST_TEST(one.retention.duplicated.value().count() == 1);
    BOOST_TEST(!one.retention.rejected.has_value());
}

BOOST_AUTO_TEST_CASE(retention_null_keeps_files_forever)
{
    const cfg::Config c = parse("retention:\n  duplicated: null\n  rejected: ~\n");
    BOOST_TEST(!c.retention.enabled());
    BOOST_TEST(!parse("retention:\n").retention.enabled());
}

BOOST_AUTO_TEST_CASE(retention_refuses_zero_unknown_keys_and_nonsense)
{
    BOOST_TEST(mentions(error_for("retention:\n  duplicated: 0s\n"), {"retention.duplicated", "1s"}));
    BOOST_TEST(mentions(error_for("retention:\n  rejected: soon\n"), {"retention.rejected"}));
    BOOST_TEST(mentions(error_for("retention:\n  rejected: 3651d\n"), {"retention.rejected"}));
    BOOST_TEST(mentions(error_for("retention:\n  working: 30d\n"), {"working", "retention"}));
    BOOST_TEST(mentions(error_for("retention: 30d\n"), {"retention"}));
}

BOOST_AUTO_TEST_SUITE_END()
