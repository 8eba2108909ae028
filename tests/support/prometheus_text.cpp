// Reading the Prometheus text format back (see prometheus_text.hpp).
#include "prometheus_text.hpp"

#include <cmath>
#include <limits>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace ndrd::test {

namespace {

[[noreturn]] void bad_line(std::string_view line, const std::string& why)
{
    throw std::runtime_error("not a sample line (" + why + "): " + std::string(line));
}

bool name_char(char c, bool first)
{
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    return alpha || (!first && c >= '0' && c <= '9');
}

double parse_value(std::string_view text, std::string_view line)
{
    if (text == "+Inf") return std::numeric_limits<double>::infinity();
    if (text == "-Inf") return -std::numeric_limits<double>::infinity();
    if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
    const std::string s(text);
    std::size_t used = 0;
    double v = 0;
    try {
        v = std::stod(s, &used);
    } catch (const std::exception&) {
        bad_line(line, "value");
    }
    if (used != s.size()) bad_line(line, "value");
    return v;
}

// {a="x",b="y"} starting at pos (at the brace); leaves pos after the closing brace.
std::map<std::string, std::string> parse_labels(std::string_view line, std::size_t& pos)
{
    std::map<std::string, std::string> labels;
    ++pos;
    while (pos < line.size() && line[pos] != '}') {
        const std::size_t start = pos;
        while (pos < line.size() && name_char(line[pos], pos == start))
            ++pos;
        const std::string name(line.substr(start, pos - start));
        if (name.empty() || line.substr(pos, 2) != "=\"") bad_line(line, "label name");
        pos += 2;
        std::string value;
        while (pos < line.size() && line[pos] != '"') {
            if (line[pos] == '\\' && pos + 1 < line.size()) {
                const char e = line[++pos];
                value += e == 'n' ? '\n' : e;
            } else {
                value += line[pos];
            }
            ++pos;
        }
        if (pos >= line.size()) bad_line(line, "unterminated label value");
        ++pos;
        labels[name] = value;
        if (pos < line.size() && line[pos] == ',') ++pos;
    }
    if (pos >= line.size()) bad_line(line, "unterminated labels");
    ++pos;
    return labels;
}

Sample parse_sample(std::string_view line)
{
    Sample s;
    std::size_t pos = 0;
    while (pos < line.size() && name_char(line[pos], pos == 0))
        ++pos;
    s.name = line.substr(0, pos);
    if (s.name.empty()) bad_line(line, "metric name");
    if (pos < line.size() && line[pos] == '{') s.labels = parse_labels(line, pos);
    if (pos >= line.size() || line[pos] != ' ') bad_line(line, "no space before the value");
    s.value = parse_value(line.substr(pos + 1), line);
    return s;
}

std::string num(double v)
{
    std::ostringstream out;
    out << v;
    return out.str();
}

std::string describe(const std::map<std::string, std::string>& labels)
{
    std::string out = "{";
    for (const auto& [k, v] : labels) {
        out += (out.size() > 1 ? "," : "") + k + "=\"" + v + "\"";
    }
    return out + "}";
}

} // namespace

std::vector<Sample> parse_exposition(std::string_view text)
{
    std::vector<Sample> out;
    std::istringstream in{std::string(text)};
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || line.front() == '#') continue;
        out.push_back(parse_sample(line));
    }
    return out;
}

std::vector<std::string> histogram_problems(const std::vector<Sample>& samples, const std::string& family)
{
    struct Series {
        std::vector<std::pair<double, double>> buckets; // (le, count) in exposition order
        std::optional<double> count;
    };
    std::map<std::map<std::string, std::string>, Series> children;
    for (const auto& s : samples) {
        if (s.name == family + "_bucket") {
            auto labels = s.labels;
            const auto le = labels.find("le");
            if (le == labels.end()) return {"a " + family + "_bucket sample without le"};
            const double bound = parse_value(le->second, le->second);
            labels.erase(le);
            children[labels].buckets.emplace_back(bound, s.value);
        } else if (s.name == family + "_count") {
            children[s.labels].count = s.value;
        }
    }
    std::vector<std::string> problems;
    if (children.empty()) problems.push_back("no " + family + "_bucket samples");
    for (const auto& [labels, series] : children) {
        const std::string child = family + describe(labels);
        if (series.buckets.empty()) {
            problems.push_back(child + " has a _count but no buckets");
            continue;
        }
        for (std::size_t i = 1; i < series.buckets.size(); ++i) {
            const auto& [le, n] = series.buckets[i];
            const auto& [prev_le, prev_n] = series.buckets[i - 1];
            if (!(le > prev_le)) problems.push_back(child + ": le bounds do not increase at le=" + num(le));
            if (n < prev_n) {
                problems.push_back(child + ": bucket le=" + num(le) + " holds " + num(n) + ", fewer than the " +
                                   num(prev_n) + " of the bucket before");
            }
        }
        const auto& [last_le, last_n] = series.buckets.back();
        if (!std::isinf(last_le)) problems.push_back(child + ": the last bucket is not le=\"+Inf\"");
        if (!series.count) {
            problems.push_back(child + " has no _count");
        } else if (*series.count != last_n) {
            problems.push_back(child + ": le=\"+Inf\" holds " + num(last_n) + " but _count is " + num(*series.count));
        }
    }
    return problems;
}

} // namespace ndrd::test
