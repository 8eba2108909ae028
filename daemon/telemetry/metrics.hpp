// Prometheus metrics: counters, gauges and histograms, optionally labelled,
// kept in a registry that renders the text exposition format 0.0.4.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ndrd::daemon {

// Thread safety: every update (inc, add, set, observe) and with() may be
// called from any thread. Counters and gauges are lock-free atomics, because
// they sit on the hot paths of the workers and the loop. A histogram child
// takes its own mutex per observation instead, so that a scrape always sees
// buckets, _sum and _count from the same set of observations (separate
// atomics could show a _count that disagrees with le="+Inf"). Each family
// guards its label-values -> child map with a mutex; children are never
// removed, so the references with() returns stay valid as long as the
// registry lives.

// A monotonic counter. Whole increments are exact up to 2^64; fractional ones
// (seconds of CPU time, say) are summed in a separate double.
class Counter {
public:
    void inc(std::uint64_t n = 1) noexcept { whole_.fetch_add(n, std::memory_order_relaxed); }
    // Throws std::invalid_argument for a negative or NaN amount: counters only go up.
    void add(double amount);
    [[nodiscard]] double value() const noexcept;
    // The value as exposed: an integer while only whole increments were made.
    [[nodiscard]] std::string text() const;

private:
    std::atomic<std::uint64_t> whole_{0};
    std::atomic<double> fraction_{0.0};
};

// A value that goes up and down. With a callback, a scrape reports the
// callback's value instead of the stored one: for numbers that live
// elsewhere, such as queue depth or subset sizes.
class Gauge {
public:
    void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
    void inc(double d = 1.0) noexcept { value_.fetch_add(d, std::memory_order_relaxed); }
    void dec(double d = 1.0) noexcept { value_.fetch_sub(d, std::memory_order_relaxed); }
    // Runs at every scrape on the rendering thread (the event loop); it must not
    // block and must be safe to call from there. An empty function removes it.
    void set_callback(std::function<double()> callback);
    // The callback's value when there is one, otherwise the stored value.
    // Exceptions from the callback propagate.
    [[nodiscard]] double value() const;

private:
    std::atomic<double> value_{0.0};
    mutable std::mutex callback_mutex_;
    std::function<double()> callback_;
};

// Observations counted into buckets with fixed upper bounds (inclusive, as
// Prometheus' le), plus their sum and count.
class Histogram {
public:
    // `bounds` are the finite upper bounds, strictly increasing (the family
    // checks them); +Inf is implicit. They must outlive the histogram.
    explicit Histogram(std::span<const double> bounds);

    // NaN is counted in +Inf only (and makes _sum NaN), as client_golang does.
    void observe(double v);
    template <typename Rep, typename Period> void observe(std::chrono::duration<Rep, Period> d)
    {
        observe(std::chrono::duration<double>(d).count());
    }

    struct Snapshot {
        std::vector<std::uint64_t> cumulative; // one per bound, then +Inf (== count)
        double sum = 0.0;
        std::uint64_t count = 0;
    };
    [[nodiscard]] Snapshot snapshot() const;

private:
    std::span<const double> bounds_;
    mutable std::mutex mutex_;
    std::vector<std::uint64_t> counts_; // per bucket, not cumulative; last is +Inf
    double sum_ = 0.0;
    std::uint64_t count_ = 0;
};

// `count` bounds start, start*factor, start*factor^2, ...: the usual latency
// buckets. Throws std::invalid_argument unless start > 0, factor > 1, count >= 1.
std::vector<double> exponential_buckets(double start, double factor, std::size_t count);
// `count` bounds start, start+width, ...; throws unless width > 0 and count >= 1.
std::vector<double> linear_buckets(double start, double width, std::size_t count);

// How Prometheus spells a sample value: integers without exponent, other
// numbers in the shortest form that reads back exactly, +Inf, -Inf, NaN.
std::string prometheus_number(double v);
// Escapes a label value (backslash, double quote, newline).
std::string escape_label_value(std::string_view v);
// Escapes HELP text (backslash, newline).
std::string escape_help(std::string_view v);

namespace detail {

// Orders label-value keys; transparent so that with() looks children up by
// string_views without building a key first.
struct LabelValuesLess {
    using is_transparent = void;
    template <typename A, typename B> bool operator()(const A& a, const B& b) const
    {
        return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
    }
};

template <typename Metric>
using Children = std::map<std::vector<std::string>, std::pair<std::string, Metric>, LabelValuesLess>;

// What all families share: a validated name, HELP text and label names, the
// rendering of the header and of label sets, and the lock on the children.
class MetricFamily {
public:
    MetricFamily(const MetricFamily&) = delete;
    MetricFamily& operator=(const MetricFamily&) = delete;
    virtual ~MetricFamily() = default;

    [[nodiscard]] const std::string& name() const { return name_; }
    // Appends "# HELP", "# TYPE" and one line per sample to `out`; nothing for
    // a family without children yet (as client_golang does).
    virtual void render(std::string& out) const = 0;

protected:
    // Throws std::invalid_argument for an invalid metric or label name, a
    // repeated label name, or the label name `reserved`.
    MetricFamily(std::string_view name, std::string_view help, std::string_view type,
                 std::vector<std::string> label_names, std::string_view reserved = {});

    // `a="x",b="y"` for these values (empty without labels). Throws
    // std::invalid_argument when there is not one value per label name.
    [[nodiscard]] std::string label_pairs(std::span<const std::string_view> values) const;
    void render_header(std::string& out) const;

    // The child for `values`, constructed from `args` on first use.
    template <typename Metric, typename... Args>
    Metric& child(Children<Metric>& children, std::span<const std::string_view> values, Args&&... args)
    {
        const std::scoped_lock lock(mutex_);
        if (auto it = children.find(values); it != children.end()) {
            return it->second.second;
        }
        return children
            .emplace(std::piecewise_construct, std::forward_as_tuple(values.begin(), values.end()),
                     std::forward_as_tuple(std::piecewise_construct, std::forward_as_tuple(label_pairs(values)),
                                           std::forward_as_tuple(std::forward<Args>(args)...)))
            .first->second.second;
    }

    // The children in label-value order, as (label pairs, metric). Taken under
    // the lock, used without it: children are never removed, and a gauge
    // callback run while rendering may then call with() on its own family.
    template <typename Metric>
    [[nodiscard]] std::vector<std::pair<const std::string*, const Metric*>> list(const Children<Metric>& children) const
    {
        const std::scoped_lock lock(mutex_);
        std::vector<std::pair<const std::string*, const Metric*>> out;
        out.reserve(children.size());
        for (const auto& [key, entry] : children) {
            out.emplace_back(&entry.first, &entry.second);
        }
        return out;
    }

private:
    std::string name_;
    std::string help_;
    std::string type_;
    std::vector<std::string> label_names_;
    mutable std::mutex mutex_;
};

} // namespace detail

class CounterFamily : public detail::MetricFamily {
public:
    CounterFamily(std::string_view name, std::string_view help, std::vector<std::string> label_names);
    // The child for these label values (one per label name, in order), created
    // at zero on first use.
    Counter& with(std::initializer_list<std::string_view> values) { return with(std::span(values)); }
    Counter& with(std::span<const std::string_view> values) { return child(children_, values); }
    void render(std::string& out) const override;

private:
    detail::Children<Counter> children_;
};

class GaugeFamily : public detail::MetricFamily {
public:
    GaugeFamily(std::string_view name, std::string_view help, std::vector<std::string> label_names);
    Gauge& with(std::initializer_list<std::string_view> values) { return with(std::span(values)); }
    Gauge& with(std::span<const std::string_view> values) { return child(children_, values); }
    // A child whose callback throws is left out of that scrape, with a warning.
    void render(std::string& out) const override;

private:
    detail::Children<Gauge> children_;
};

class HistogramFamily : public detail::MetricFamily {
public:
    // Throws std::invalid_argument unless `bounds` are finite and strictly
    // increasing (a trailing +Inf is accepted and dropped), or for a label named le.
    HistogramFamily(std::string_view name, std::string_view help, std::vector<double> bounds,
                    std::vector<std::string> label_names);
    Histogram& with(std::initializer_list<std::string_view> values) { return with(std::span(values)); }
    Histogram& with(std::span<const std::string_view> values) { return child(children_, values, bounds_); }
    [[nodiscard]] std::span<const double> bounds() const { return bounds_; }
    void render(std::string& out) const override;

private:
    std::vector<double> bounds_;
    std::vector<std::string> le_; // le="..." text per bound, then +Inf
    detail::Children<Histogram> children_;
};

// The families of one process, rendered in registration order. Families live
// as long as the registry; the references returned stay valid until then.
// Registration is thread-safe too, and throws std::invalid_argument for an
// invalid or already registered name.
class MetricsRegistry {
public:
    MetricsRegistry() = default;
    MetricsRegistry(const MetricsRegistry&) = delete;
    MetricsRegistry& operator=(const MetricsRegistry&) = delete;
    ~MetricsRegistry() = default;

    CounterFamily& counter_family(std::string_view name, std::string_view help, std::vector<std::string> label_names);
    GaugeFamily& gauge_family(std::string_view name, std::string_view help, std::vector<std::string> label_names);
    HistogramFamily& histogram_family(std::string_view name, std::string_view help, std::vector<double> bounds,
                                      std::vector<std::string> label_names);

    // Unlabelled metrics: a family with its single child, exposed from the start.
    Counter& counter(std::string_view name, std::string_view help);
    Gauge& gauge(std::string_view name, std::string_view help);
    Histogram& histogram(std::string_view name, std::string_view help, std::vector<double> bounds);

    // Runs before every render, on the rendering thread, in the order added:
    // the place to set gauges whose label sets are only known at scrape time.
    void on_collect(std::function<void()> hook);

    // The exposition text (text/plain; version=0.0.4). Runs the collect hooks
    // first; an exception from a hook propagates.
    [[nodiscard]] std::string render() const;

private:
    template <typename Family, typename... Args> Family& add(Args&&... args);

    mutable std::mutex mutex_;
    std::vector<std::unique_ptr<detail::MetricFamily>> families_;
    std::vector<std::function<void()>> hooks_;
};

} // namespace ndrd::daemon
