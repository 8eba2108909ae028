// Helpers shared by the tests: fixture paths, small CSV reading, and a
// temporary directory that removes itself.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace ndrd::test {

inline std::filesystem::path fixtures()
{
    return NDRD_FIXTURES;
}
inline std::filesystem::path reference()
{
    return fixtures() / "reference";
}

std::string read_file(const std::filesystem::path& p);
std::vector<std::byte> read_bytes(const std::filesystem::path& p);
void write_file(const std::filesystem::path& p, std::string_view content);

// Splits a CSV line on commas (the reference CSVs have no quoted fields,
// except shapes.csv, which the tests do not parse).
std::vector<std::string> split_csv(std::string_view line);
// All data rows of a CSV file (the header row is dropped).
std::vector<std::vector<std::string>> read_csv(const std::filesystem::path& p);

// A fresh directory under the system temp dir, removed with its contents.
class TempDir {
public:
    TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir();
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::filesystem::path& p) const { return path_ / p; }

private:
    std::filesystem::path path_;
};

} // namespace ndrd::test
