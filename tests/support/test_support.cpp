// Helpers shared by the tests (see test_support.hpp).
#include "test_support.hpp"

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

TempDir::TempDir()
{
    std::random_device rd;
    const auto base = std::filesystem::temp_directory_path();
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
