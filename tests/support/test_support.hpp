// Helpers shared by the tests: fixture paths, small CSV reading, directory
// listings, and a temporary directory that removes itself. Nothing here uses
// ndrd's own code, so every test can link it.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
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
// reference/images/<name>: Datumaro's test photos and their variants.
inline std::filesystem::path reference_image(const std::string& name)
{
    return reference() / "images" / name;
}

// The names of every file in reference/images, sorted.
std::vector<std::string> reference_image_names();

std::string read_file(const std::filesystem::path& p);
std::vector<std::byte> read_bytes(const std::filesystem::path& p);
// Creates the parent directories too.
void write_file(const std::filesystem::path& p, std::string_view content);
// Copies reference image `name` to `to` (a new file, its own inode),
// creating the parent directories.
void copy_reference_image(const std::string& name, const std::filesystem::path& to);

// Splits a CSV line on commas (the reference CSVs have no quoted fields,
// except shapes.csv, which the tests do not parse).
std::vector<std::string> split_csv(std::string_view line);
// All data rows of a CSV file (the header row is dropped).
std::vector<std::vector<std::string>> read_csv(const std::filesystem::path& p);

// A CSV text with a header row, as `ndrd export` writes it (RFC 4180: quoted
// fields may hold commas, doubled quotes and line breaks): one map from
// column name to field per data row. Throws std::runtime_error for a row
// whose field count differs from the header's.
using CsvRow = std::map<std::string, std::string>;
std::vector<CsvRow> parse_csv_rows(std::string_view text);
// The fields of `row` that differ from `expected` (only the columns
// `expected` names), as "column: 'actual', expected 'value'" joined by "; ";
// empty when all match. For BOOST_TEST(mismatches(row, {...}).empty(), ...).
std::string mismatches(const CsvRow& row, const CsvRow& expected);

// Every non-directory entry below `root` (symlinks not followed) as a path
// relative to root, sorted; empty when root does not exist.
std::vector<std::string> entries_under(const std::filesystem::path& root);
// Every regular file below `root`: relative path -> content.
std::map<std::string, std::string> files_under(const std::filesystem::path& root);

// A fresh directory under `base` (the system temp dir unless given), removed
// with its contents.
class TempDir {
public:
    explicit TempDir(const std::filesystem::path& base = std::filesystem::temp_directory_path());
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir();
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::filesystem::path& p) const { return path_ / p; }

private:
    std::filesystem::path path_;
};

} // namespace ndrd::test
