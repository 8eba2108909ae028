// Sign-bit keys (see key.hpp).
#include "index/hash/key.hpp"

#include <stdexcept>
#include <utility>

namespace ndrd::index {

std::string to_hex(std::string_view bytes)
{
    static constexpr std::string_view digits = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char ch : bytes) {
        const auto b = static_cast<unsigned char>(ch);
        out.push_back(digits[b >> 4U]);
        out.push_back(digits[b & 0xfU]);
    }
    return out;
}

std::string Key::hex() const
{
    return to_hex(bytes);
}

Key Key::from_hex(std::string_view hex)
{
    if (hex.size() % 2 != 0) {
        throw std::invalid_argument("hex key has an odd length: " + std::string(hex));
    }
    const auto nibble = [&](char c) -> unsigned {
        if (c >= '0' && c <= '9') return static_cast<unsigned>(c - '0');
        if (c >= 'a' && c <= 'f') return static_cast<unsigned>(c - 'a' + 10);
        if (c >= 'A' && c <= 'F') return static_cast<unsigned>(c - 'A' + 10);
        throw std::invalid_argument("not a hex key: " + std::string(hex));
    };
    Key k;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        k.bytes.push_back(static_cast<char>(nibble(hex[i]) << 4U | nibble(hex[i + 1])));
    }
    return k;
}

Key compute_key(const Feature& feature, const Projection& projection)
{
    const int dim = projection.rows();
    const int bits = projection.cols();
    if (!std::cmp_equal(feature.values.size(), dim)) {
        throw std::invalid_argument("feature has " + std::to_string(feature.values.size()) +
                                    " dimensions, the projection expects " + std::to_string(dim));
    }
    Key key;
    key.bytes.assign(static_cast<std::size_t>((bits + 7) / 8), '\0');
    if (feature.degenerate) {
        return key;
    }
    std::vector<double> dots(static_cast<std::size_t>(bits), 0.0);
    const auto data = projection.data();
    for (int r = 0; r < dim; ++r) {
        const double f = feature.values[static_cast<std::size_t>(r)];
        const double* row = &data[static_cast<std::size_t>(r) * bits];
        for (int c = 0; c < bits; ++c) {
            dots[static_cast<std::size_t>(c)] += f * row[c];
        }
    }
    for (int c = 0; c < bits; ++c) {
        if (dots[static_cast<std::size_t>(c)] >= 0.0) {
            auto& byte = key.bytes[static_cast<std::size_t>(c / 8)];
            byte = static_cast<char>(static_cast<unsigned char>(byte) | (0x80U >> static_cast<unsigned>(c % 8)));
        }
    }
    return key;
}

} // namespace ndrd::index
