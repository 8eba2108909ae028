// libFuzzer target: arbitrary bytes through the structure check, the decoder
// and the feature. Anything but a DecodeError or FeatureError (or a clean
// result) is a bug.
#include <cstdint>
#include <span>

#include "index/hash/feature.hpp"
#include "index/image/decode.hpp"
#include "index/image/image_header.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size); // NOLINT
    (void)ndrd::index::inspect_image(bytes);
    try {
        const cv::Mat image = ndrd::index::decode_image(bytes, 4'000'000);
        (void)ndrd::index::compute_feature(image, ndrd::index::Grid{});
    } catch (const ndrd::index::DecodeError&) {
        // rejected with a reason: the expected outcome for most inputs
    } catch (const ndrd::index::FeatureError&) {
        // a float image with NaN or infinity: rejected with a reason too
    }
    return 0;
}
