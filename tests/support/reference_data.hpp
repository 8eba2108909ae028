// Loading the golden Datumaro reference data (tests/fixtures/reference).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "index/hash/feature.hpp"
#include "index/hash/projection.hpp"
#include "index/image/decode.hpp"
#include "test_support.hpp"

namespace ndrd::test {

// file -> Datumaro's feature (empty for the NaN feature of synth_black.png).
inline std::map<std::string, std::vector<double>> golden_features()
{
    std::map<std::string, std::vector<double>> out;
    for (const auto& row : read_csv(reference() / "features.csv")) {
        std::vector<double> f;
        if (row.at(1) != "nan") {
            for (std::size_t i = 1; i < row.size(); ++i) {
                f.push_back(std::stod(row[i]));
            }
        }
        out[row.at(0)] = std::move(f);
    }
    return out;
}

inline index::Projection golden_projection(int hash_dim)
{
    const auto name = "projection_768x" + std::to_string(hash_dim) + ".txt";
    return index::Projection::parse_text(read_file(reference() / name), 768, hash_dim, name);
}

inline index::Feature feature_of(const std::string& image)
{
    const auto bytes = read_bytes(reference() / "images" / image);
    return index::compute_feature(index::decode_image(bytes), index::Grid{});
}

} // namespace ndrd::test
