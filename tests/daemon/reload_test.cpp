// Reload planning: which settings a SIGHUP applies at once and which it
// refuses, with every configuration key classified.
#define BOOST_TEST_MODULE reload
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <set>

#include "config/config.hpp"
#include "daemon/reload.hpp"
#include "test_support.hpp"

using namespace ndrd;
using daemon::apply_live;
using daemon::plan_reload;

namespace {

std::set<std::string> as_set(const std::vector<std::string>& v)
{
    return {v.begin(), v.end()};
}

} // namespace

BOOST_AUTO_TEST_SUITE(reload)

BOOST_AUTO_TEST_CASE(an_unchanged_file_changes_nothing)
{
    const config::Config c;
    const auto p = plan_reload(c, c);
    BOOST_TEST(p.changed.empty());
    BOOST_TEST(p.refused.empty());
    BOOST_TEST(p.accepted());
}

BOOST_AUTO_TEST_CASE(every_key_is_either_live_or_needs_a_restart)
{
    // full.yaml sets every key to a non-default value: each must show up in
    // exactly one list, and applying the live ones plus the refused ones must
    // give the new file back (a field nobody classified would not).
    const config::Config running;
    const config::Config fresh = config::load_config(test::fixtures() / "config" / "full.yaml");
    const auto p = plan_reload(running, fresh);
    const std::set<std::string> live = as_set(p.changed);
    const std::set<std::string> restart = as_set(p.refused);
    BOOST_TEST(
        (live == std::set<std::string>{"gradient.sim_threshold", "seed", "workers", "num_cut", "over_sample",
                                       "under_sample", "rebalance.interval", "rebalance.after_items", "log_level",
                                       "log_routing", "ingest.remove_empty_dirs", "ingest.empty_dir_grace",
                                       "max_file_size", "index_min_free", "metrics.listen", "decode_scale"}));
    BOOST_TEST(
        (restart == std::set<std::string>{"base_dir", "ingest_dir", "output_dir", "index_dir", "working_subset",
                                          "duplicated_subset", "gradient.block_shape", "gradient.hash_dim",
                                          "gradient.projection", "control_socket", "watch.mode", "watch.poll_interval",
                                          "max_pixels", "index_cache", "exif_orientation"}));
    BOOST_TEST(!p.accepted());

    config::Config merged = apply_live(running, fresh);
    BOOST_TEST((merged.gradient.sim_threshold == fresh.gradient.sim_threshold));
    BOOST_TEST((merged.ingest_dir == running.ingest_dir));
    BOOST_TEST((merged.gradient.hash_dim == running.gradient.hash_dim));
    // With the restart-only settings copied over too, nothing may be left
    // different: a field neither list knows about would be.
    merged.base_dir = fresh.base_dir;
    merged.ingest_dir = fresh.ingest_dir;
    merged.output_dir = fresh.output_dir;
    merged.index_dir = fresh.index_dir;
    merged.working_subset = fresh.working_subset;
    merged.duplicated_subset = fresh.duplicated_subset;
    merged.algorithm = fresh.algorithm;
    merged.gradient.grid_rows = fresh.gradient.grid_rows;
    merged.gradient.grid_cols = fresh.gradient.grid_cols;
    merged.gradient.hash_dim = fresh.gradient.hash_dim;
    merged.gradient.projection = fresh.gradient.projection;
    merged.watch = fresh.watch;
    merged.control_socket = fresh.control_socket;
    merged.max_pixels = fresh.max_pixels;
    merged.index_cache = fresh.index_cache;
    merged.exif_orientation = fresh.exif_orientation;
    BOOST_TEST((merged == fresh));
}

BOOST_AUTO_TEST_CASE(a_threshold_change_alone_is_accepted)
{
    config::Config running;
    config::Config fresh = running;
    fresh.gradient.sim_threshold = 0.8;
    fresh.num_cut = 10;
    const auto p = plan_reload(running, fresh);
    BOOST_TEST(p.accepted());
    BOOST_TEST((as_set(p.changed) == std::set<std::string>{"gradient.sim_threshold", "num_cut"}));
    BOOST_TEST((apply_live(running, fresh) == fresh));
}

BOOST_AUTO_TEST_CASE(keys_are_joined_for_a_log_line)
{
    BOOST_TEST(daemon::join_keys({}).empty());
    BOOST_TEST(daemon::join_keys({"a"}) == "a");
    BOOST_TEST(daemon::join_keys({"a", "b"}) == "a and b");
    BOOST_TEST(daemon::join_keys({"a", "b", "c"}) == "a, b and c");
}

BOOST_AUTO_TEST_SUITE_END()
