// Reading Prometheus' text exposition format (0.0.4) back, for the tests of
// the metrics registry and of the daemon's endpoint: samples with their
// labels, and the rules a histogram's series must keep.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ndrd::test {

struct Sample {
    std::string name;
    std::map<std::string, std::string> labels; // values unescaped
    double value = 0.0;
};

// Every sample line, in order. Throws std::runtime_error naming the first line
// that is neither blank, a comment, nor a well-formed sample.
std::vector<Sample> parse_exposition(std::string_view text);

// What is wrong with histogram `family` in `samples`, one sentence per
// problem (empty when nothing is): for each child (label set without le) the
// _bucket series must have increasing le bounds ending with +Inf, counts that
// never decrease (buckets are cumulative), and +Inf equal to _count. A family
// with no buckets at all is a problem too.
std::vector<std::string> histogram_problems(const std::vector<Sample>& samples, const std::string& family);

} // namespace ndrd::test
