// SplitMix64: a tiny, fully specified random stream. The projection, the
// benchmarks' corpora and the tests' random keys come from it, so they are
// the same on every machine and standard library (std:: distributions are not).
#pragma once

#include <cstddef>
#include <cstdint>

namespace ndrd::index {

class SplitMix64 {
public:
    explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
    std::uint64_t next()
    {
        state_ += 0x9E3779B97F4A7C15ULL;
        std::uint64_t z = state_;
        z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31U);
    }
    // Uniform in [0, 1) from the top 53 bits: exact in double.
    double uniform() { return static_cast<double>(next() >> 11U) * 0x1.0p-53; }
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
    // In [0, n); the modulo bias is irrelevant at the sizes used here.
    std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }

private:
    std::uint64_t state_;
};

} // namespace ndrd::index
