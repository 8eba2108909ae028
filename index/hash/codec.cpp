// Byte encodings for the index (see codec.hpp).
#include "index/hash/codec.hpp"

#include <bit>
#include <cstring>
#include <vector>

namespace ndrd::index {

static_assert(std::endian::native == std::endian::little, "value encodings assume little-endian");

std::string encode_be64(std::uint64_t v)
{
    std::string out(8, '\0');
    for (int i = 7; i >= 0; --i) {
        out[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xffU);
        v >>= 8U;
    }
    return out;
}

std::uint64_t decode_be64(std::string_view bytes)
{
    if (bytes.size() != 8) {
        throw CorruptRecord("expected an 8-byte big-endian number, got " + std::to_string(bytes.size()) + " bytes");
    }
    std::uint64_t v = 0;
    for (const char c : bytes) {
        v = (v << 8U) | static_cast<unsigned char>(c);
    }
    return v;
}

void Writer::varint(std::uint64_t v)
{
    while (v >= 0x80U) {
        out_.push_back(static_cast<char>((v & 0x7fU) | 0x80U));
        v >>= 7U;
    }
    out_.push_back(static_cast<char>(v));
}

void Writer::f64(double v)
{
    char buf[sizeof v];
    std::memcpy(buf, &v, sizeof v);
    out_.append(buf, sizeof v);
}

void Writer::bytes(std::string_view v)
{
    varint(v.size());
    out_.append(v);
}

void Writer::floats(std::span<const float> v)
{
    varint(v.size());
    if (!v.empty()) {
        out_.append(reinterpret_cast<const char*>(v.data()), v.size_bytes()); // NOLINT
    }
}

std::string_view Reader::take(std::size_t n)
{
    if (n > in_.size() - pos_) {
        throw CorruptRecord("record truncated");
    }
    const auto out = in_.substr(pos_, n);
    pos_ += n;
    return out;
}

std::uint8_t Reader::u8()
{
    return static_cast<std::uint8_t>(take(1)[0]);
}

std::uint64_t Reader::varint()
{
    std::uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        const auto b = static_cast<unsigned char>(take(1)[0]);
        v |= static_cast<std::uint64_t>(b & 0x7fU) << shift;
        if ((b & 0x80U) == 0) {
            return v;
        }
    }
    throw CorruptRecord("varint too long");
}

double Reader::f64()
{
    double v = 0;
    std::memcpy(&v, take(sizeof v).data(), sizeof v);
    return v;
}

std::string_view Reader::bytes()
{
    return take(varint());
}

std::vector<float> Reader::floats()
{
    const std::uint64_t n = varint();
    if (n > (in_.size() - pos_) / sizeof(float)) {
        throw CorruptRecord("record truncated");
    }
    std::vector<float> v(n);
    if (n > 0) { // memcpy from/to a null pointer is undefined even for 0 bytes
        std::memcpy(v.data(), take(n * sizeof(float)).data(), n * sizeof(float));
    }
    return v;
}

} // namespace ndrd::index
