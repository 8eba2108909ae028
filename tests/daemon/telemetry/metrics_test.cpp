// The metrics registry: the exact Prometheus text (0.0.4) for every metric
// type, histogram buckets that are cumulative (also while other threads
// observe), escaping, name validation, and exact sums under concurrent updates.
#define BOOST_TEST_MODULE metrics
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "daemon/telemetry/metrics.hpp"
#include "prometheus_text.hpp"

using namespace ndrd::daemon;

namespace {

// The rendered buckets of `family`, read back: each child's counts never
// decrease from one le to the next, and +Inf equals _count. Fails the test
// for every problem.
void check_cumulative(const std::string& text, const std::string& family)
{
    for (const auto& problem : ndrd::test::histogram_problems(ndrd::test::parse_exposition(text), family)) {
        BOOST_ERROR(problem << "\n" << text);
    }
}

} // namespace

BOOST_AUTO_TEST_SUITE(metrics)

BOOST_AUTO_TEST_CASE(a_labelled_counter_renders_help_type_and_one_line_per_child_in_label_order)
{
    MetricsRegistry r;
    auto& routed = r.counter_family("ndrd_files_routed_total", "Files routed, by decision.", {"decision"});
    routed.with({"kept"}).inc(3);
    routed.with({"duplicated"}).inc();
    routed.with({"duplicated"}).inc();
    BOOST_TEST(r.render() == "# HELP ndrd_files_routed_total Files routed, by decision.\n"
                             "# TYPE ndrd_files_routed_total counter\n"
                             "ndrd_files_routed_total{decision=\"duplicated\"} 2\n"
                             "ndrd_files_routed_total{decision=\"kept\"} 3\n");
}

BOOST_AUTO_TEST_CASE(a_counter_with_two_labels_renders_them_in_declaration_order)
{
    MetricsRegistry r;
    auto& rejected = r.counter_family("ndrd_rejected_total", "Rejected files.", {"reason", "subset"});
    rejected.with({"not_an_image", "rejected"}).inc();
    BOOST_TEST(r.render() == "# HELP ndrd_rejected_total Rejected files.\n"
                             "# TYPE ndrd_rejected_total counter\n"
                             "ndrd_rejected_total{reason=\"not_an_image\",subset=\"rejected\"} 1\n");
}

BOOST_AUTO_TEST_CASE(an_unlabelled_counter_is_exposed_at_zero_from_registration)
{
    MetricsRegistry r;
    r.counter("ndrd_rebalances_total", "Rebalances run.");
    BOOST_TEST(r.render() == "# HELP ndrd_rebalances_total Rebalances run.\n"
                             "# TYPE ndrd_rebalances_total counter\n"
                             "ndrd_rebalances_total 0\n");
}

BOOST_AUTO_TEST_CASE(fractional_counter_increments_add_up_and_whole_ones_stay_integers)
{
    MetricsRegistry r;
    auto& whole = r.counter("ndrd_whole_total", "w");
    whole.add(2.0);
    whole.inc();
    auto& cpu = r.counter("ndrd_cpu_seconds_total", "c");
    cpu.add(0.25);
    cpu.add(0.5);
    cpu.inc(2);
    BOOST_TEST(whole.text() == "3");
    BOOST_TEST(cpu.text() == "2.75");
    BOOST_TEST(cpu.value() == 2.75);
    BOOST_CHECK_THROW(cpu.add(-1.0), std::invalid_argument);
    BOOST_CHECK_THROW(cpu.add(std::numeric_limits<double>::quiet_NaN()), std::invalid_argument);
    BOOST_TEST(cpu.text() == "2.75");
}

BOOST_AUTO_TEST_CASE(a_gauge_renders_its_last_value_after_set_inc_and_dec)
{
    MetricsRegistry r;
    auto& g = r.gauge("ndrd_items_in_flight", "Files being hashed.");
    g.set(5);
    g.inc();
    g.dec(2.5);
    auto& sizes = r.gauge_family("ndrd_subset_items", "Items per subset.", {"subset"});
    sizes.with({"train"}).set(3'000'000);
    sizes.with({"duplicated"}).set(-1.5);
    BOOST_TEST(r.render() == "# HELP ndrd_items_in_flight Files being hashed.\n"
                             "# TYPE ndrd_items_in_flight gauge\n"
                             "ndrd_items_in_flight 3.5\n"
                             "# HELP ndrd_subset_items Items per subset.\n"
                             "# TYPE ndrd_subset_items gauge\n"
                             "ndrd_subset_items{subset=\"duplicated\"} -1.5\n"
                             "ndrd_subset_items{subset=\"train\"} 3000000\n");
}

BOOST_AUTO_TEST_CASE(a_callback_gauge_is_read_at_every_render)
{
    MetricsRegistry r;
    int depth = 3;
    r.gauge("ndrd_queue_depth", "Files waiting.").set_callback([&] { return depth; });
    const std::string head = "# HELP ndrd_queue_depth Files waiting.\n# TYPE ndrd_queue_depth gauge\n";
    BOOST_TEST(r.render() == head + "ndrd_queue_depth 3\n");
    depth = 7;
    BOOST_TEST(r.render() == head + "ndrd_queue_depth 7\n");
}

BOOST_AUTO_TEST_CASE(a_failing_callback_drops_only_its_own_sample)
{
    MetricsRegistry r;
    auto& sizes = r.gauge_family("ndrd_subset_items", "Items per subset.", {"subset"});
    sizes.with({"broken"}).set_callback([]() -> double { throw std::runtime_error("index closed"); });
    sizes.with({"train"}).set(4);
    r.counter("ndrd_after_total", "Rendered after the failure.").inc();
    BOOST_TEST(r.render() == "# HELP ndrd_subset_items Items per subset.\n"
                             "# TYPE ndrd_subset_items gauge\n"
                             "ndrd_subset_items{subset=\"train\"} 4\n"
                             "# HELP ndrd_after_total Rendered after the failure.\n"
                             "# TYPE ndrd_after_total counter\n"
                             "ndrd_after_total 1\n");
}

BOOST_AUTO_TEST_CASE(a_callback_may_update_metrics_of_its_own_family)
{
    // Rendering holds no family lock while it calls back.
    MetricsRegistry r;
    auto& g = r.gauge_family("ndrd_g", "g", {"k"});
    g.with({"a"}).set_callback([&g] {
        g.with({"b"}).set(2);
        return 1.0;
    });
    const std::string text = r.render();
    BOOST_TEST(text.find("ndrd_g{k=\"a\"} 1\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(collect_hooks_run_before_rendering)
{
    MetricsRegistry r;
    auto& sizes = r.gauge_family("ndrd_subset_items", "Items per subset.", {"subset"});
    int scrapes = 0;
    r.on_collect([&] { sizes.with({"train"}).set(++scrapes); });
    BOOST_TEST(r.render().find("ndrd_subset_items{subset=\"train\"} 1\n") != std::string::npos);
    BOOST_TEST(r.render().find("ndrd_subset_items{subset=\"train\"} 2\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_histogram_renders_cumulative_buckets_with_inclusive_bounds_then_inf_sum_and_count)
{
    MetricsRegistry r;
    auto& h = r.histogram_family("ndrd_stage_seconds", "Time per stage.", {0.25, 0.5, 1}, {"stage"});
    auto& hash = h.with({"hash"});
    for (const double v : {0.125, 0.25, 0.75, 4.0}) { // 0.25 lands in le="0.25": bounds are inclusive
        hash.observe(v);
    }
    BOOST_TEST(r.render() == "# HELP ndrd_stage_seconds Time per stage.\n"
                             "# TYPE ndrd_stage_seconds histogram\n"
                             "ndrd_stage_seconds_bucket{stage=\"hash\",le=\"0.25\"} 2\n"
                             "ndrd_stage_seconds_bucket{stage=\"hash\",le=\"0.5\"} 2\n"
                             "ndrd_stage_seconds_bucket{stage=\"hash\",le=\"1\"} 3\n"
                             "ndrd_stage_seconds_bucket{stage=\"hash\",le=\"+Inf\"} 4\n"
                             "ndrd_stage_seconds_sum{stage=\"hash\"} 5.125\n"
                             "ndrd_stage_seconds_count{stage=\"hash\"} 4\n");
}

BOOST_AUTO_TEST_CASE(an_unlabelled_histogram_takes_durations_and_exponential_buckets)
{
    MetricsRegistry r;
    auto& h = r.histogram("ndrd_hash_seconds", "Hash time.", exponential_buckets(0.001, 2, 3));
    h.observe(std::chrono::milliseconds(3));
    h.observe(std::chrono::microseconds(500));
    BOOST_TEST(r.render() == "# HELP ndrd_hash_seconds Hash time.\n"
                             "# TYPE ndrd_hash_seconds histogram\n"
                             "ndrd_hash_seconds_bucket{le=\"0.001\"} 1\n"
                             "ndrd_hash_seconds_bucket{le=\"0.002\"} 1\n"
                             "ndrd_hash_seconds_bucket{le=\"0.004\"} 2\n"
                             "ndrd_hash_seconds_bucket{le=\"+Inf\"} 2\n"
                             "ndrd_hash_seconds_sum 0.0035\n"
                             "ndrd_hash_seconds_count 2\n");
}

BOOST_AUTO_TEST_CASE(a_nan_observation_counts_in_inf_only)
{
    MetricsRegistry r;
    auto& h = r.histogram("ndrd_h", "h", {1});
    h.observe(std::numeric_limits<double>::quiet_NaN());
    const auto s = h.snapshot();
    BOOST_TEST(s.cumulative == (std::vector<std::uint64_t>{0, 1}), boost::test_tools::per_element());
    BOOST_TEST(s.count == 1U);
    BOOST_TEST(std::isnan(s.sum));
    BOOST_TEST(r.render().find("ndrd_h_sum NaN\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(rendered_buckets_are_cumulative_and_inf_equals_the_count)
{
    MetricsRegistry r;
    const std::vector<double> bounds{0.01, 0.1, 1, 10};
    auto& family = r.histogram_family("ndrd_stage_seconds", "Time per stage.", bounds, {"stage"});
    // Observations in every bucket, on the bounds, above them all, and NaN.
    const std::vector<double> hash{0.005, 0.01, 0.05, 0.1, 0.1, 0.5, 1, 5, 10, 50, 1e9};
    const std::vector<double> move{0.2, 0.3, std::numeric_limits<double>::quiet_NaN(), 20};
    for (const double v : hash) {
        family.with({"hash"}).observe(v);
    }
    for (const double v : move) {
        family.with({"move"}).observe(v);
    }

    const std::string text = r.render();

    check_cumulative(text, "ndrd_stage_seconds");
    // And each bucket holds exactly the observations at or below its bound.
    const auto samples = ndrd::test::parse_exposition(text);
    for (const auto& [stage, values] : {std::pair{"hash", hash}, std::pair{"move", move}}) {
        for (const auto& s : samples) {
            if (s.name != "ndrd_stage_seconds_bucket" || s.labels.at("stage") != stage) continue;
            const std::string& le = s.labels.at("le");
            const double bound = le == "+Inf" ? std::numeric_limits<double>::infinity() : std::stod(le);
            const auto expected = std::count_if(
                values.begin(), values.end(), [&](double v) { return v <= bound || (std::isnan(v) && le == "+Inf"); });
            BOOST_TEST(s.value == static_cast<double>(expected), stage << " le=" << le);
        }
    }
}

BOOST_AUTO_TEST_CASE(buckets_rendered_while_other_threads_observe_stay_cumulative)
{
    MetricsRegistry r;
    auto& h = r.histogram("ndrd_hash_seconds", "h", exponential_buckets(0.001, 4, 6));
    std::atomic<bool> done{false};
    std::vector<std::string> scrapes;
    // Renders all along, kept for checking on this thread afterwards (Boost.Test
    // assertions are not thread-safe).
    std::thread scraper([&] {
        while (!done.load()) {
            scrapes.push_back(r.render());
        }
        scrapes.push_back(r.render());
    });
    std::vector<std::thread> workers;
    for (int t = 0; t < 3; ++t) {
        workers.emplace_back([&h, t] {
            for (int i = 0; i < 20'000; ++i) {
                h.observe(0.0005 * static_cast<double>((i * 7 + t) % 4000)); // 0 to 2 s: every bucket
            }
        });
    }
    for (auto& w : workers) {
        w.join();
    }
    done = true;
    scraper.join();
    BOOST_TEST_REQUIRE(!scrapes.empty());
    for (const auto& text : scrapes) {
        check_cumulative(text, "ndrd_hash_seconds");
    }
    BOOST_TEST(scrapes.back().find("ndrd_hash_seconds_count 60000\n") != std::string::npos, scrapes.back());
}

BOOST_AUTO_TEST_CASE(bucket_helpers_make_the_usual_bounds_and_refuse_nonsense)
{
    BOOST_TEST(exponential_buckets(0.001, 10, 4) == (std::vector<double>{0.001, 0.01, 0.1, 1.0}),
               boost::test_tools::tolerance(1e-12) << boost::test_tools::per_element());
    BOOST_TEST(linear_buckets(1, 2, 3) == (std::vector<double>{1, 3, 5}), boost::test_tools::per_element());
    BOOST_CHECK_THROW(exponential_buckets(0, 2, 3), std::invalid_argument);
    BOOST_CHECK_THROW(exponential_buckets(1, 1, 3), std::invalid_argument);
    BOOST_CHECK_THROW(exponential_buckets(1, 2, 0), std::invalid_argument);
    BOOST_CHECK_THROW(exponential_buckets(1, 1e300, 3), std::invalid_argument); // overflows
    BOOST_CHECK_THROW(linear_buckets(0, 0, 3), std::invalid_argument);
    BOOST_CHECK_THROW(linear_buckets(0, 1, 0), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(histogram_bounds_must_increase_and_a_trailing_inf_is_implied)
{
    MetricsRegistry r;
    BOOST_CHECK_THROW(r.histogram("ndrd_a", "a", {1, 1}), std::invalid_argument);
    BOOST_CHECK_THROW(r.histogram("ndrd_b", "b", {2, 1}), std::invalid_argument);
    BOOST_CHECK_THROW(r.histogram("ndrd_c", "c", {std::numeric_limits<double>::quiet_NaN()}), std::invalid_argument);
    auto& h = r.histogram_family("ndrd_d", "d", {1, std::numeric_limits<double>::infinity()}, {});
    BOOST_TEST(h.bounds().size() == 1U);
    BOOST_CHECK_THROW(r.histogram_family("ndrd_e", "e", {1}, {"le"}), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(label_values_escape_backslash_quote_and_newline)
{
    MetricsRegistry r;
    auto& c = r.counter_family("ndrd_files_total", "f", {"path"});
    c.with({"C:\\in\\\"odd\"\nname"}).inc();
    BOOST_TEST(r.render().find(R"(ndrd_files_total{path="C:\\in\\\"odd\"\nname"} 1)") != std::string::npos);
    BOOST_TEST(escape_label_value("plain é") == "plain é");
}

BOOST_AUTO_TEST_CASE(help_text_escapes_backslash_and_newline_but_not_quotes)
{
    MetricsRegistry r;
    r.gauge("ndrd_g", "first line\nsecond \\ \"quoted\"");
    BOOST_TEST(r.render().starts_with("# HELP ndrd_g first line\\nsecond \\\\ \"quoted\"\n# TYPE ndrd_g gauge\n"));
}

BOOST_AUTO_TEST_CASE(invalid_metric_and_label_names_are_rejected_at_creation)
{
    MetricsRegistry r;
    for (const char* bad : {"", "1st", "ndrd-files", "ndrd files", "ndrd_é"}) {
        BOOST_CHECK_THROW(r.counter(bad, "x"), std::invalid_argument);
    }
    for (const char* bad : {"", "1x", "a:b", "__reserved", "a-b"}) {
        BOOST_CHECK_THROW(r.counter_family("ndrd_x_total", "x", {bad}), std::invalid_argument);
    }
    BOOST_CHECK_THROW(r.counter_family("ndrd_x_total", "x", {"a", "a"}), std::invalid_argument);
    BOOST_CHECK_NO_THROW(r.counter("ndrd:rate_5m", "recording-rule style"));
    BOOST_CHECK_NO_THROW(r.counter_family("_x", "x", {"_y", "Z9"}));
}

BOOST_AUTO_TEST_CASE(a_name_registers_once_and_children_need_one_value_per_label)
{
    MetricsRegistry r;
    auto& c = r.counter_family("ndrd_x_total", "x", {"a", "b"});
    BOOST_CHECK_THROW(r.gauge("ndrd_x_total", "again"), std::invalid_argument);
    BOOST_CHECK_THROW(c.with({"only one"}), std::invalid_argument);
    BOOST_CHECK_THROW(c.with({"1", "2", "3"}), std::invalid_argument);
    BOOST_TEST(&c.with({"1", "2"}) == &c.with({"1", "2"})); // the same child, not a new one
}

BOOST_AUTO_TEST_CASE(families_render_in_registration_order_and_empty_ones_not_at_all)
{
    MetricsRegistry r;
    r.gauge("ndrd_z", "z");
    r.counter_family("ndrd_unused_total", "no child yet", {"k"});
    r.counter("ndrd_a_total", "a");
    BOOST_TEST(r.render() == "# HELP ndrd_z z\n# TYPE ndrd_z gauge\nndrd_z 0\n"
                             "# HELP ndrd_a_total a\n# TYPE ndrd_a_total counter\nndrd_a_total 0\n");
}

BOOST_AUTO_TEST_CASE(numbers_are_spelled_as_prometheus_parses_them)
{
    BOOST_TEST(prometheus_number(0) == "0");
    BOOST_TEST(prometheus_number(-2) == "-2");
    BOOST_TEST(prometheus_number(3e6) == "3000000"); // not 3e+06
    BOOST_TEST(prometheus_number(0.001) == "0.001");
    BOOST_TEST(prometheus_number(1e-5) == "1e-05");
    BOOST_TEST(prometheus_number(1e21) == "1e+21");
    BOOST_TEST(prometheus_number(std::numeric_limits<double>::infinity()) == "+Inf");
    BOOST_TEST(prometheus_number(-std::numeric_limits<double>::infinity()) == "-Inf");
    BOOST_TEST(prometheus_number(std::numeric_limits<double>::quiet_NaN()) == "NaN");
    for (const double v : {0.1, 1.0 / 3, 123456.789, 6.02214076e23, 5e-324}) {
        BOOST_TEST(std::strtod(prometheus_number(v).c_str(), nullptr) == v); // reads back exactly
    }
}

BOOST_AUTO_TEST_CASE(concurrent_updates_from_several_threads_sum_exactly)
{
    MetricsRegistry r;
    auto& routed = r.counter_family("ndrd_files_routed_total", "f", {"decision"});
    auto& depth = r.gauge("ndrd_queue_depth", "q");
    auto& hash = r.histogram("ndrd_hash_seconds", "h", {0.5});
    constexpr int threads = 4;
    constexpr int per_thread = 50'000;
    std::atomic<bool> done{false};
    std::atomic<int> empty_renders{0};
    // A scraper renders all along, as the event loop would (no Boost.Test
    // assertions off the main thread: they are not thread-safe).
    std::thread scraper([&] {
        while (!done.load()) {
            if (r.render().empty()) ++empty_renders;
        }
    });
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            const std::string decision = t % 2 == 0 ? "kept" : "duplicated";
            for (int i = 0; i < per_thread; ++i) {
                routed.with({decision}).inc(); // looked up every time: the child map is shared too
                depth.inc();
                depth.dec();
                hash.observe(i % 2 == 0 ? 0.25 : 1.0);
            }
        });
    }
    for (auto& w : workers) {
        w.join();
    }
    done = true;
    scraper.join();
    BOOST_TEST(empty_renders.load() == 0);
    BOOST_TEST(routed.with({"kept"}).text() == std::to_string(threads / 2 * per_thread));
    BOOST_TEST(routed.with({"duplicated"}).text() == std::to_string(threads / 2 * per_thread));
    BOOST_TEST(depth.value() == 0.0);
    const auto s = hash.snapshot();
    BOOST_TEST(s.count == std::uint64_t{threads} * per_thread);
    BOOST_TEST(s.cumulative.front() == s.count / 2);
    BOOST_TEST(s.sum == (0.25 + 1.0) * threads * per_thread / 2);
}

BOOST_AUTO_TEST_SUITE_END()
