// The metrics registry and its Prometheus text rendering (see metrics.hpp).
#include "daemon/telemetry/metrics.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <system_error>

#include "daemon/telemetry/logger.hpp"

namespace ndrd::daemon {

namespace {

bool is_metric_name(std::string_view name)
{
    const auto first = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    };
    const auto rest = [&](char c) {
        return first(c) || (c >= '0' && c <= '9');
    };
    return !name.empty() && first(name.front()) && std::all_of(name.begin() + 1, name.end(), rest);
}

// Label names are metric names without colons; "__" prefixes are Prometheus' own.
bool is_label_name(std::string_view name)
{
    return is_metric_name(name) && name.find(':') == std::string_view::npos && !name.starts_with("__");
}

// `{pairs,extra}`, or nothing when both are empty.
std::string braced(std::string_view pairs, std::string_view extra = {})
{
    if (pairs.empty() && extra.empty()) {
        return {};
    }
    std::string out = "{";
    out += pairs;
    if (!pairs.empty() && !extra.empty()) {
        out += ',';
    }
    out += extra;
    out += '}';
    return out;
}

void add_sample(std::string& out, std::string_view name, std::string_view suffix, std::string_view labels,
                std::string_view value)
{
    out += name;
    out += suffix;
    out += labels;
    out += ' ';
    out += value;
    out += '\n';
}

// Doubles at or beyond 2^64 do not fit the whole-number part of a counter.
constexpr double two_to_64 = 18446744073709551616.0;

} // namespace

std::string prometheus_number(double v)
{
    if (std::isnan(v)) {
        return "NaN";
    }
    if (std::isinf(v)) {
        return v > 0 ? "+Inf" : "-Inf";
    }
    // Whole numbers as integers: "3000000", not the shorter "3e+06" to_chars picks.
    constexpr double two_to_63 = 9223372036854775808.0;
    if (v == std::trunc(v) && v >= -two_to_63 && v < two_to_63) {
        return std::to_string(static_cast<std::int64_t>(v));
    }
    // Otherwise the shortest text that reads back as the same double (Go's
    // FormatFloat(v, 'g', -1, 64), which client_golang uses, does the same).
    std::array<char, 32> buf{};
    const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    if (ec != std::errc()) {
        return "NaN"; // cannot happen: 32 characters hold any double
    }
    return {buf.data(), end};
}

std::string escape_label_value(std::string_view v)
{
    std::string out;
    out.reserve(v.size());
    for (const char c : v) {
        switch (c) {
        case '\\': out += R"(\\)"; break;
        case '"': out += R"(\")"; break;
        case '\n': out += R"(\n)"; break;
        default: out += c;
        }
    }
    return out;
}

std::string escape_help(std::string_view v)
{
    std::string out;
    out.reserve(v.size());
    for (const char c : v) {
        switch (c) {
        case '\\': out += R"(\\)"; break;
        case '\n': out += R"(\n)"; break;
        default: out += c;
        }
    }
    return out;
}

std::vector<double> exponential_buckets(double start, double factor, std::size_t count)
{
    if (!(start > 0) || !(factor > 1) || count == 0) {
        throw std::invalid_argument("exponential_buckets needs start > 0, factor > 1 and count >= 1");
    }
    std::vector<double> bounds;
    bounds.reserve(count);
    double b = start;
    for (std::size_t i = 0; i < count; ++i, b *= factor) {
        bounds.push_back(b);
    }
    if (!std::isfinite(bounds.back())) {
        throw std::invalid_argument("exponential_buckets: the bounds overflow");
    }
    return bounds;
}

std::vector<double> linear_buckets(double start, double width, std::size_t count)
{
    if (!std::isfinite(start) || !(width > 0) || count == 0) {
        throw std::invalid_argument("linear_buckets needs a finite start, width > 0 and count >= 1");
    }
    std::vector<double> bounds;
    bounds.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        bounds.push_back(start + static_cast<double>(i) * width);
    }
    if (!std::isfinite(bounds.back())) {
        throw std::invalid_argument("linear_buckets: the bounds overflow");
    }
    return bounds;
}

// --- Counter -----------------------------------------------------------------

void Counter::add(double amount)
{
    if (std::isnan(amount) || amount < 0) {
        throw std::invalid_argument("a counter cannot be increased by " + prometheus_number(amount));
    }
    // Whole amounts join the exact integer part, so integer-only counters stay exact.
    if (amount == std::trunc(amount) && amount < two_to_64) {
        whole_.fetch_add(static_cast<std::uint64_t>(amount), std::memory_order_relaxed);
    } else {
        fraction_.fetch_add(amount, std::memory_order_relaxed);
    }
}

double Counter::value() const noexcept
{
    return static_cast<double>(whole_.load(std::memory_order_relaxed)) + fraction_.load(std::memory_order_relaxed);
}

std::string Counter::text() const
{
    const double fraction = fraction_.load(std::memory_order_relaxed);
    if (fraction == 0) {
        return std::to_string(whole_.load(std::memory_order_relaxed));
    }
    return prometheus_number(static_cast<double>(whole_.load(std::memory_order_relaxed)) + fraction);
}

// --- Gauge -------------------------------------------------------------------

void Gauge::set_callback(std::function<double()> callback)
{
    const std::scoped_lock lock(callback_mutex_);
    callback_ = std::move(callback);
}

double Gauge::value() const
{
    std::function<double()> callback;
    {
        const std::scoped_lock lock(callback_mutex_);
        callback = callback_;
    }
    // Called without the lock: a callback may itself touch this gauge.
    return callback ? callback() : value_.load(std::memory_order_relaxed);
}

// --- Histogram ---------------------------------------------------------------

Histogram::Histogram(std::span<const double> bounds) : bounds_(bounds), counts_(bounds.size() + 1, 0) {}

void Histogram::observe(double v)
{
    // le is inclusive: v goes to the first bucket whose bound is >= v.
    const std::size_t bucket =
        std::isnan(v) ? bounds_.size()
                      : static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
    const std::scoped_lock lock(mutex_);
    ++counts_[bucket];
    sum_ += v;
    ++count_;
}

Histogram::Snapshot Histogram::snapshot() const
{
    Snapshot s;
    s.cumulative.reserve(counts_.size());
    const std::scoped_lock lock(mutex_);
    std::uint64_t running = 0;
    for (const std::uint64_t n : counts_) {
        running += n;
        s.cumulative.push_back(running);
    }
    s.sum = sum_;
    s.count = count_;
    return s;
}

// --- Families ----------------------------------------------------------------

namespace detail {

MetricFamily::MetricFamily(std::string_view name, std::string_view help, std::string_view type,
                           std::vector<std::string> label_names, std::string_view reserved)
    : name_(name), help_(escape_help(help)), type_(type), label_names_(std::move(label_names))
{
    if (!is_metric_name(name_)) {
        throw std::invalid_argument("invalid metric name '" + name_ + "': it must match [a-zA-Z_:][a-zA-Z0-9_:]*");
    }
    for (std::size_t i = 0; i < label_names_.size(); ++i) {
        const std::string& label = label_names_[i];
        if (!is_label_name(label)) {
            throw std::invalid_argument("metric " + name_ + ": invalid label name '" + label +
                                        "': it must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __");
        }
        if (!reserved.empty() && label == reserved) {
            throw std::invalid_argument("metric " + name_ + ": the label name '" + label + "' is reserved");
        }
        if (std::find(label_names_.begin(), label_names_.begin() + static_cast<std::ptrdiff_t>(i), label) !=
            label_names_.begin() + static_cast<std::ptrdiff_t>(i)) {
            throw std::invalid_argument("metric " + name_ + ": label name '" + label + "' given twice");
        }
    }
}

std::string MetricFamily::label_pairs(std::span<const std::string_view> values) const
{
    if (values.size() != label_names_.size()) {
        throw std::invalid_argument("metric " + name_ + " has " + std::to_string(label_names_.size()) +
                                    " label(s), given " + std::to_string(values.size()) + " value(s)");
    }
    std::string out;
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i > 0) {
            out += ',';
        }
        out += label_names_[i];
        out += "=\"";
        out += escape_label_value(values[i]);
        out += '"';
    }
    return out;
}

void MetricFamily::render_header(std::string& out) const
{
    out += "# HELP ";
    out += name_;
    if (!help_.empty()) {
        out += ' ';
        out += help_;
    }
    out += "\n# TYPE ";
    out += name_;
    out += ' ';
    out += type_;
    out += '\n';
}

} // namespace detail

CounterFamily::CounterFamily(std::string_view name, std::string_view help, std::vector<std::string> label_names)
    : MetricFamily(name, help, "counter", std::move(label_names))
{
}

void CounterFamily::render(std::string& out) const
{
    const auto children = list(children_);
    if (children.empty()) {
        return;
    }
    render_header(out);
    for (const auto& [pairs, counter] : children) {
        add_sample(out, name(), "", braced(*pairs), counter->text());
    }
}

GaugeFamily::GaugeFamily(std::string_view name, std::string_view help, std::vector<std::string> label_names)
    : MetricFamily(name, help, "gauge", std::move(label_names))
{
}

void GaugeFamily::render(std::string& out) const
{
    const auto children = list(children_);
    if (children.empty()) {
        return;
    }
    render_header(out);
    for (const auto& [pairs, gauge] : children) {
        // One failing callback must not cost the scrape every other metric.
        try {
            add_sample(out, name(), "", braced(*pairs), prometheus_number(gauge->value()));
        } catch (const std::exception& e) {
            log_warning("metrics: ", name(), braced(*pairs), ": the gauge callback failed: ", e.what());
        } catch (...) {
            log_warning("metrics: ", name(), braced(*pairs), ": the gauge callback failed");
        }
    }
}

HistogramFamily::HistogramFamily(std::string_view name, std::string_view help, std::vector<double> bounds,
                                 std::vector<std::string> label_names)
    : MetricFamily(name, help, "histogram", std::move(label_names), "le"), bounds_(std::move(bounds))
{
    if (!bounds_.empty() && bounds_.back() == std::numeric_limits<double>::infinity()) {
        bounds_.pop_back(); // +Inf is always there
    }
    for (std::size_t i = 0; i < bounds_.size(); ++i) {
        if (!std::isfinite(bounds_[i]) || (i > 0 && !(bounds_[i - 1] < bounds_[i]))) {
            throw std::invalid_argument("histogram " + this->name() +
                                        ": bucket bounds must be finite and strictly increasing");
        }
    }
    le_.reserve(bounds_.size() + 1);
    for (const double b : bounds_) {
        le_.push_back("le=\"" + prometheus_number(b) + "\"");
    }
    le_.emplace_back("le=\"+Inf\"");
}

void HistogramFamily::render(std::string& out) const
{
    const auto children = list(children_);
    if (children.empty()) {
        return;
    }
    render_header(out);
    for (const auto& [pairs, histogram] : children) {
        const Histogram::Snapshot s = histogram->snapshot();
        for (std::size_t i = 0; i < s.cumulative.size(); ++i) {
            add_sample(out, name(), "_bucket", braced(*pairs, le_[i]), std::to_string(s.cumulative[i]));
        }
        const std::string labels = braced(*pairs);
        add_sample(out, name(), "_sum", labels, prometheus_number(s.sum));
        add_sample(out, name(), "_count", labels, std::to_string(s.count));
    }
}

// --- Registry ----------------------------------------------------------------

template <typename Family, typename... Args> Family& MetricsRegistry::add(Args&&... args)
{
    auto family = std::make_unique<Family>(std::forward<Args>(args)...); // validates
    Family& ref = *family;
    const std::scoped_lock lock(mutex_);
    for (const auto& f : families_) {
        if (f->name() == ref.name()) {
            throw std::invalid_argument("metric " + ref.name() + " is already registered");
        }
    }
    families_.push_back(std::move(family));
    return ref;
}

CounterFamily& MetricsRegistry::counter_family(std::string_view name, std::string_view help,
                                               std::vector<std::string> label_names)
{
    return add<CounterFamily>(name, help, std::move(label_names));
}

GaugeFamily& MetricsRegistry::gauge_family(std::string_view name, std::string_view help,
                                           std::vector<std::string> label_names)
{
    return add<GaugeFamily>(name, help, std::move(label_names));
}

HistogramFamily& MetricsRegistry::histogram_family(std::string_view name, std::string_view help,
                                                   std::vector<double> bounds, std::vector<std::string> label_names)
{
    return add<HistogramFamily>(name, help, std::move(bounds), std::move(label_names));
}

Counter& MetricsRegistry::counter(std::string_view name, std::string_view help)
{
    return counter_family(name, help, {}).with({});
}

Gauge& MetricsRegistry::gauge(std::string_view name, std::string_view help)
{
    return gauge_family(name, help, {}).with({});
}

Histogram& MetricsRegistry::histogram(std::string_view name, std::string_view help, std::vector<double> bounds)
{
    return histogram_family(name, help, std::move(bounds), {}).with({});
}

void MetricsRegistry::on_collect(std::function<void()> hook)
{
    const std::scoped_lock lock(mutex_);
    hooks_.push_back(std::move(hook));
}

std::string MetricsRegistry::render() const
{
    // Hooks and families are copied out and used without the lock, so a hook
    // may register metrics; families are never removed, so the pointers hold.
    std::vector<std::function<void()>> hooks;
    std::vector<const detail::MetricFamily*> families;
    {
        const std::scoped_lock lock(mutex_);
        hooks = hooks_;
    }
    for (const auto& hook : hooks) {
        hook();
    }
    {
        const std::scoped_lock lock(mutex_);
        families.reserve(families_.size());
        for (const auto& f : families_) {
            families.push_back(f.get());
        }
    }
    std::string out;
    for (const auto* f : families) {
        f->render(out);
    }
    return out;
}

} // namespace ndrd::daemon
