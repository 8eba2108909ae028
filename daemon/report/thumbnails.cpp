// Thumbnail making and caching (see thumbnails.hpp).
#include "daemon/report/thumbnails.hpp"

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <system_error>
#include <thread>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "daemon/report/html.hpp"
#include "daemon/telemetry/logger.hpp"
#include "index/hash/key.hpp"
#include "index/image/decode.hpp"

namespace ndrd::daemon {

namespace fs = std::filesystem;

namespace {

std::optional<std::vector<std::byte>> read_bytes(const fs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    if (!in) return std::nullopt;
    std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) return std::nullopt;
    std::vector<std::byte> bytes(chars.size());
    std::memcpy(bytes.data(), chars.data(), chars.size());
    return bytes;
}

// 8 bits a channel for JPEG: 16-bit images scaled down, anything else
// (float TIFFs, signed depths) stretched over its own range.
cv::Mat eight_bit(const cv::Mat& image)
{
    if (image.depth() == CV_8U) return image;
    cv::Mat out;
    if (image.depth() == CV_16U) {
        image.convertTo(out, CV_8U, 1.0 / 257.0);
    } else {
        cv::normalize(image, out, 0, 255, cv::NORM_MINMAX, CV_8U);
    }
    return out;
}

} // namespace

ThumbnailMaker::ThumbnailMaker(const fs::path& report_dir, int edge, std::uint64_t max_pixels)
    : dir_(report_dir / "thumbs"), edge_(edge), max_pixels_(max_pixels)
{
    fs::create_directories(dir_);
}

std::string ThumbnailMaker::file_name(const ThumbnailJob& job)
{
    const std::string content = job.digest.empty() ? "s" + std::to_string(job.size) : index::to_hex(job.digest);
    return std::to_string(job.seq) + "-" + content + ".jpg";
}

Thumbnail ThumbnailMaker::make(const ThumbnailJob& job) const
{
    const std::string name = file_name(job);
    const fs::path target = dir_ / name;
    const std::string href = "thumbs/" + name;
    std::error_code ec;
    if (fs::exists(target, ec)) {
        return {href, ThumbnailResult::cached};
    }
    for (const auto& candidate : job.candidates) {
        const auto bytes = read_bytes(candidate);
        if (!bytes) continue;
        try {
            // Decoded at the smallest DCT scale that still gives edge_ pixels,
            // and shown upright (as a viewer shows it) whatever the index hashed.
            const int blocks = std::max(1, edge_ / 16);
            const cv::Mat image = eight_bit(index::to_three_channels(
                index::decode_image(*bytes, max_pixels_, cv::Size(blocks, blocks), index::ExifOrientation::apply)));
            const double scale = static_cast<double>(edge_) / std::max(image.cols, image.rows);
            cv::Mat small = image;
            if (scale < 1.0) {
                cv::resize(image, small, cv::Size(), scale, scale, cv::INTER_AREA);
            }
            std::vector<unsigned char> jpeg;
            cv::imencode(".jpg", small, jpeg, {cv::IMWRITE_JPEG_QUALITY, 82});
            html::write_file(target, std::string_view(reinterpret_cast<const char*>(jpeg.data()), jpeg.size()));
            return {href, ThumbnailResult::made};
        } catch (const index::DecodeError& e) {
            log_debug("report: no thumbnail for item ", job.seq, " (", candidate.string(), "): ", e.what());
            return {std::string(kPlaceholder), ThumbnailResult::undecodable};
        } catch (const cv::Exception& e) {
            log_debug("report: no thumbnail for item ", job.seq, " (", candidate.string(), "): ", e.what());
            return {std::string(kPlaceholder), ThumbnailResult::undecodable};
        }
    }
    return {std::string(kPlaceholder), ThumbnailResult::missing};
}

std::vector<Thumbnail> make_thumbnails(const ThumbnailMaker& maker, std::span<const ThumbnailJob> jobs,
                                       unsigned threads, const std::function<void(std::size_t, std::size_t)>& progress)
{
    std::vector<Thumbnail> out(jobs.size());
    std::atomic<std::size_t> next{0};
    std::atomic<std::size_t> done{0};
    {
        std::vector<std::jthread> pool;
        for (unsigned t = 0; t < std::max(1U, threads); ++t) {
            pool.emplace_back([&] {
                for (std::size_t i = next++; i < jobs.size(); i = next++) {
                    try {
                        out[i] = maker.make(jobs[i]);
                    } catch (const std::exception& e) { // out of memory, a file system error: this image only
                        log_warning("report: no thumbnail for item ", jobs[i].seq, ": ", e.what());
                        out[i] = {std::string(kPlaceholder), ThumbnailResult::undecodable};
                    }
                    ++done;
                }
            });
        }
        auto shown = std::chrono::steady_clock::now();
        while (done.load() < jobs.size()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            if (std::chrono::steady_clock::now() - shown >= std::chrono::milliseconds(500)) {
                progress(done.load(), jobs.size());
                shown = std::chrono::steady_clock::now();
            }
        }
    }
    progress(jobs.size(), jobs.size());
    return out;
}

} // namespace ndrd::daemon
