// In-memory digest fingerprints (see digest_filter.hpp).
#include "index/store/digest_filter.hpp"

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <string>

namespace ndrd::index {

DigestFilter::DigestFilter() : buckets_(std::size_t{1} << 16U) {}

DigestFilter::Slot DigestFilter::slot_of(std::string_view digest)
{
    if (digest.size() != digest_bytes) {
        throw std::invalid_argument("a content digest has " + std::to_string(digest_bytes) + " bytes, not " +
                                    std::to_string(digest.size()));
    }
    const auto byte = [&](std::size_t i) {
        return static_cast<unsigned>(static_cast<unsigned char>(digest[i]));
    };
    return {(byte(0) << 8U) | byte(1), static_cast<std::uint16_t>((byte(2) << 8U) | byte(3))};
}

void DigestFilter::add(std::string_view digest)
{
    const auto [b, fingerprint] = slot_of(digest);
    const std::unique_lock lock(mutex_);
    auto& bucket = buckets_[b];
    const auto at = std::lower_bound(bucket.begin(), bucket.end(), fingerprint);
    if (at == bucket.end() || *at != fingerprint) {
        bucket.insert(at, fingerprint);
        ++size_;
    }
}

bool DigestFilter::may_contain(std::string_view digest) const
{
    if (digest.size() != digest_bytes) {
        return false; // never added: add() refuses such digests
    }
    const auto [b, fingerprint] = slot_of(digest);
    const std::shared_lock lock(mutex_);
    const auto& bucket = buckets_[b];
    return std::binary_search(bucket.begin(), bucket.end(), fingerprint);
}

std::size_t DigestFilter::size() const
{
    const std::shared_lock lock(mutex_);
    return size_;
}

} // namespace ndrd::index
