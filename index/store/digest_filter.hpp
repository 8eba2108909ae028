// The content digests of every indexed file, in memory as 32-bit
// fingerprints: tells almost every new file that its bytes were never indexed
// without a read of the by_digest column family (issue 7).
//
// Why: every new file asks whether its bytes are indexed, and nearly always
// they are not. RocksDB answers that from its bloom filters, but at a million
// items that took 2 to 5 us (a filter partition per level, looked up through
// the block cache), against 0.5 at ten thousand: the largest part of the
// index slowing down as it grew. Here a miss costs one bucket of a few
// cache lines at any size.
// Layout: 65536 buckets by the digest's first two bytes, each a sorted vector
// of the next two bytes. A digest that was added is always found; one that was
// not is reported as "maybe" with probability about N / 2^32 (0.02% at a
// million items), and the caller reads by_digest to be sure. About 3 bytes
// per digest with vector slack, plus 1.5 MiB of bucket headers.
// Thread-safe: workers ask while the event loop adds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <shared_mutex>
#include <string_view>
#include <vector>

namespace ndrd::index {

class DigestFilter {
public:
    static constexpr std::size_t digest_bytes = 16; // XXH3-128

    DigestFilter();

    // std::invalid_argument unless the digest has digest_bytes bytes.
    void add(std::string_view digest);
    // False: this digest was never added. True: it may have been.
    [[nodiscard]] bool may_contain(std::string_view digest) const;
    // Distinct fingerprints held.
    [[nodiscard]] std::size_t size() const;

private:
    struct Slot {
        std::size_t bucket;
        std::uint16_t fingerprint;
    };
    [[nodiscard]] static Slot slot_of(std::string_view digest);

    mutable std::shared_mutex mutex_;
    std::vector<std::vector<std::uint16_t>> buckets_;
    std::size_t size_ = 0;
};

} // namespace ndrd::index
