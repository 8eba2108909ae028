// Thumbnails for the review pages: each image decoded at reduced scale,
// shrunk to a bounded edge and stored as JPEG under a name made of its item
// and content digest, so that a later report reuses it. A file that is gone
// or no longer decodes gets the placeholder, never a failed report.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace ndrd::daemon {

struct ThumbnailJob {
    std::uint64_t seq = 0;
    std::string digest; // XXH3-128 bytes of the file, empty in old records
    std::uint64_t size = 0;
    std::vector<std::filesystem::path> candidates; // where the file may be, most likely first
};

enum class ThumbnailResult { made, cached, missing, undecodable };

struct Thumbnail {
    std::string href; // relative to the report directory
    ThumbnailResult result = ThumbnailResult::missing;
};

// The placeholder's file name in the report directory (an SVG the pages ship).
inline constexpr std::string_view kPlaceholder = "placeholder.svg";

class ThumbnailMaker {
public:
    // Thumbnails go to `report_dir`/thumbs; no edge longer than `edge`
    // pixels; images declaring more than `max_pixels` are not decoded.
    ThumbnailMaker(const std::filesystem::path& report_dir, int edge, std::uint64_t max_pixels);

    // The cache name: item, and digest (or size, for records without one).
    [[nodiscard]] static std::string file_name(const ThumbnailJob& job);
    // Safe to call from several threads at once.
    [[nodiscard]] Thumbnail make(const ThumbnailJob& job) const;

private:
    std::filesystem::path dir_;
    int edge_;
    std::uint64_t max_pixels_;
};

// Makes every job's thumbnail on `threads` threads; results in job order.
// `progress(done, total)` is called from the calling thread, about twice a
// second and at the end.
std::vector<Thumbnail> make_thumbnails(const ThumbnailMaker& maker, std::span<const ThumbnailJob> jobs,
                                       unsigned threads, const std::function<void(std::size_t, std::size_t)>& progress);

} // namespace ndrd::daemon
