// The hash key: sign bits of feature . projection, packed most significant
// bit first like numpy.packbits, shown as lower-case hex like Datumaro.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "index/hash/feature.hpp"
#include "index/hash/projection.hpp"

namespace ndrd::index {

// Bytes as lower-case hex, two digits a byte (keys, content digests).
std::string to_hex(std::string_view bytes);

struct Key {
    std::string bytes; // ceil(hash_dim / 8) bytes, trailing pad bits zero

    [[nodiscard]] std::string hex() const;
    static Key from_hex(std::string_view hex);
    friend auto operator<=>(const Key&, const Key&) = default;
};

// A bit is set when the dot product is >= 0 (zero counts as 1, as in
// Datumaro). A degenerate feature gets the all-zero key: Datumaro's NaN
// feature compares false everywhere, and keeping its key keeps its decisions.
Key compute_key(const Feature& feature, const Projection& projection);

} // namespace ndrd::index
