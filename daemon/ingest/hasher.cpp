// The worker stage (see hasher.hpp).
#include "daemon/ingest/hasher.hpp"

#include <chrono>

#include <xxhash.h>

#include "index/image/decode.hpp"

namespace ndrd::daemon {

std::string content_digest(std::span<const std::byte> bytes)
{
    const XXH128_hash_t h = XXH3_128bits(bytes.data(), bytes.size());
    XXH128_canonical_t canonical{};
    XXH128_canonicalFromHash(&canonical, h);
    return {reinterpret_cast<const char*>(canonical.digest), sizeof canonical.digest}; // NOLINT
}

std::optional<index::ItemRecord> take_indexed_copy(const index::HashIndex& index, index::Grid grid, HashResult& r)
{
    // Rejected items have no feature, and limits may have changed since:
    // those are decoded again.
    auto same = index.find_by_digest(r.digest);
    if (!same || same->verdict == index::Verdict::rejected ||
        same->feature.size() != static_cast<std::size_t>(grid.feature_dim())) {
        return std::nullopt;
    }
    r.feature.values.assign(same->feature.begin(), same->feature.end());
    r.feature.degenerate = same->degenerate;
    r.key = same->key;
    r.copy_of = same->seq;
    r.pixels = same->pixels;
    return same;
}

HashResult hash_source(const std::filesystem::path& ingest_dir, const std::string& source,
                       const index::Projection& projection, index::Grid grid, std::uint64_t max_size,
                       const DecodeRules& decode, const index::HashIndex* index)
{
    const auto started = std::chrono::steady_clock::now();
    HashResult r;
    r.source = source;
    SourceFile file = read_source(ingest_dir / source, max_size);
    r.identity = file.identity;
    switch (file.status) {
    case SourceStatus::ok: break;
    case SourceStatus::gone:
    case SourceStatus::not_regular:
        r.kind = HashResult::Kind::skipped;
        r.reason = std::move(file.reason);
        return r;
    case SourceStatus::too_large:
    case SourceStatus::unreadable:
        r.kind = HashResult::Kind::rejected;
        r.reason_kind = file.status == SourceStatus::too_large ? "too_large" : "unreadable";
        r.reason = std::move(file.reason);
        return r;
    }
    r.digest = content_digest(file.bytes);
    if (index != nullptr && take_indexed_copy(*index, grid, r)) {
        r.kind = HashResult::Kind::hashed;
        r.hash_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        return r;
    }
    try {
        const index::DecodedImage decoded =
            index::decode_image_sized(file.bytes, decode.max_pixels,
                                      decode.reduced ? std::optional(grid.blocks()) : std::nullopt, decode.orientation);
        file.bytes = {}; // the decoded image is what matters now; free the buffer early
        r.pixels = decoded.stored_pixels;
        r.feature = index::compute_feature(decoded.image, grid);
        r.key = index::compute_key(r.feature, projection);
        r.kind = HashResult::Kind::hashed;
    } catch (const index::DecodeError& e) {
        r.kind = HashResult::Kind::rejected;
        r.reason = e.what();
        r.reason_kind = e.kind();
    } catch (const index::FeatureError& e) {
        r.kind = HashResult::Kind::rejected;
        r.reason = e.what();
        r.reason_kind = e.kind();
    } catch (const cv::Exception& e) {
        // OpenCV can throw from deep inside a codec on hostile input.
        r.kind = HashResult::Kind::rejected;
        r.reason = std::string("OpenCV error: ") + e.err;
        r.reason_kind = "undecodable";
    } catch (const std::bad_alloc&) {
        r.kind = HashResult::Kind::rejected;
        r.reason = "out of memory decoding the image (dimensions too large?)";
        r.reason_kind = "out_of_memory";
    }
    r.hash_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return r;
}

} // namespace ndrd::daemon
