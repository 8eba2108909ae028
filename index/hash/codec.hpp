// Byte encodings for index keys and values: big-endian integers where keys must
// sort numerically, length-prefixed fields in values. Readers throw on
// truncated or malformed input instead of reading past the end.
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ndrd::index {

class CorruptRecord : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

std::string encode_be64(std::uint64_t v);
std::uint64_t decode_be64(std::string_view bytes);

class Writer {
public:
    void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
    void varint(std::uint64_t v);
    void f64(double v);
    void bytes(std::string_view v); // length-prefixed
    void floats(std::span<const float> v);
    [[nodiscard]] const std::string& str() const { return out_; }
    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

class Reader {
public:
    explicit Reader(std::string_view in) : in_(in) {}
    std::uint8_t u8();
    std::uint64_t varint();
    double f64();
    std::string_view bytes();
    std::vector<float> floats();
    [[nodiscard]] bool done() const { return pos_ == in_.size(); }

private:
    std::string_view take(std::size_t n);
    std::string_view in_;
    std::size_t pos_ = 0;
};

} // namespace ndrd::index
