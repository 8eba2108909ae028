// Helpers shared by the tests (see test_support.hpp).
#include "test_support.hpp"

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace ndrd::test {

std::string read_file(const std::filesystem::path& p)
{
    std::ifstream in(p, std::ios::binary);
    if (!in) {
        throw std::runtime_error("cannot read fixture " + p.string());
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<std::byte> read_bytes(const std::filesystem::path& p)
{
    const std::string s = read_file(p);
    const auto* b = reinterpret_cast<const std::byte*>(s.data()); // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
    return {b, b + s.size()};
}

void write_file(const std::filesystem::path& p, std::string_view content)
{
    std::filesystem::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out) {
        throw std::runtime_error("cannot write " + p.string());
    }
}

std::vector<std::string> reference_image_names()
{
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(reference() / "images")) {
        names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

void copy_reference_image(const std::string& name, const std::filesystem::path& to)
{
    std::filesystem::create_directories(to.parent_path());
    std::filesystem::copy_file(reference_image(name), to);
}

std::vector<std::string> split_csv(std::string_view line)
{
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (true) {
        const std::size_t comma = line.find(',', pos);
        out.emplace_back(line.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
        if (comma == std::string_view::npos) {
            break;
        }
        pos = comma + 1;
    }
    return out;
}

std::vector<std::vector<std::string>> read_csv(const std::filesystem::path& p)
{
    std::istringstream in(read_file(p));
    std::vector<std::vector<std::string>> rows;
    std::string line;
    bool header = true;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        if (header || line.empty()) {
            header = false;
            continue;
        }
        rows.push_back(split_csv(line));
    }
    return rows;
}

namespace {

// One RFC 4180 record starting at `pos`; advances pos past its line break.
std::vector<std::string> csv_record(std::string_view text, std::size_t& pos)
{
    std::vector<std::string> fields(1);
    bool quoted = false;
    while (pos < text.size()) {
        const char c = text[pos++];
        if (quoted) {
            if (c != '"') {
                fields.back() += c;
            } else if (pos < text.size() && text[pos] == '"') {
                fields.back() += '"';
                ++pos;
            } else {
                quoted = false;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            fields.emplace_back();
        } else if (c == '\n') {
            break;
        } else if (c != '\r') {
            fields.back() += c;
        }
    }
    return fields;
}

} // namespace

std::vector<CsvRow> parse_csv_rows(std::string_view text)
{
    std::size_t pos = 0;
    const auto header = csv_record(text, pos);
    std::vector<CsvRow> rows;
    while (pos < text.size()) {
        const auto fields = csv_record(text, pos);
        if (fields.size() != header.size()) {
            throw std::runtime_error("CSV row " + std::to_string(rows.size() + 1) + " has " +
                                     std::to_string(fields.size()) + " fields, the header " +
                                     std::to_string(header.size()));
        }
        CsvRow row;
        for (std::size_t i = 0; i < fields.size(); ++i) {
            row[header[i]] = fields[i];
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

std::string mismatches(const CsvRow& row, const CsvRow& expected)
{
    std::string out;
    for (const auto& [column, value] : expected) {
        const auto it = row.find(column);
        const std::string actual = it == row.end() ? "<no such column>" : it->second;
        if (actual != value) {
            out += (out.empty() ? "" : "; ") + column + ": '" + actual + "', expected '" + value + "'";
        }
    }
    return out;
}

std::vector<std::string> entries_under(const std::filesystem::path& root)
{
    namespace fs = std::filesystem;
    std::vector<std::string> out;
    std::error_code ec;
    if (!fs::exists(root, ec)) return out;
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
        if (it->is_symlink() || !it->is_directory()) {
            out.push_back(it->path().lexically_relative(root).string());
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::map<std::string, std::string> files_under(const std::filesystem::path& root)
{
    namespace fs = std::filesystem;
    std::map<std::string, std::string> out;
    std::error_code ec;
    if (!fs::exists(root, ec)) return out;
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
        if (it->is_regular_file() && !it->is_symlink()) {
            out[it->path().lexically_relative(root).string()] = read_file(it->path());
        }
    }
    return out;
}

TempDir::TempDir(const std::filesystem::path& base)
{
    std::random_device rd;
    for (int attempt = 0; attempt < 100; ++attempt) {
        auto candidate = base / ("ndrd-test-" + std::to_string(rd()));
        if (std::filesystem::create_directory(candidate)) {
            path_ = std::move(candidate);
            return;
        }
    }
    throw std::runtime_error("cannot create a temporary directory in " + base.string());
}

TempDir::~TempDir()
{
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

} // namespace ndrd::test
