// Helpers for tests that use the RocksDB index (see index_fixtures.hpp).
#include "index_fixtures.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "index/hash/key.hpp"
#include "reference_data.hpp"

namespace ndrd::test {

const index::IndexParams& default_params()
{
    static const index::IndexParams params{"gradient", {8, 8}, 32};
    return params;
}

index::HashIndex open_index(const std::filesystem::path& dir)
{
    return index::HashIndex::open(dir, default_params(), [] { return golden_projection(32); });
}

std::vector<float> unit_feature(std::size_t hot, float value)
{
    std::vector<float> f(768, 0.0F);
    f.at(hot) = value;
    return f;
}

index::ItemRecord make_record(std::uint64_t seq, std::string_view key_hex, index::Verdict verdict,
                              index::RouteState state, std::vector<float> feature)
{
    using index::Subset;
    using index::Verdict;
    index::ItemRecord r;
    r.seq = seq;
    r.source = "src/" + std::to_string(seq) + ".jpg";
    r.verdict = verdict;
    r.subset = verdict == Verdict::kept         ? Subset::working
               : verdict == Verdict::duplicated ? Subset::duplicated
                                                : Subset::rejected;
    r.location = std::string(index::to_string(r.subset)) + "/" + std::to_string(seq) + ".jpg";
    r.state = state;
    r.key = index::Key::from_hex(key_hex);
    r.feature = feature.empty() ? unit_feature(seq % 768) : std::move(feature);
    r.size = 1000 + seq;
    r.device = 42;
    r.inode = 1000 + seq;
    return r;
}

void hash_reference_image(index::ItemRecord& rec, const std::string& name, const index::Projection& projection)
{
    const auto f = feature_of(name);
    rec.key = index::compute_key(f, projection);
    rec.feature.assign(f.values.begin(), f.values.end());
    rec.degenerate = f.degenerate;
}

void take_identity(index::ItemRecord& rec, const std::filesystem::path& path)
{
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        throw std::runtime_error("cannot stat " + path.string() + ": " + std::strerror(errno));
    }
    rec.size = static_cast<std::uint64_t>(st.st_size);
    rec.device = st.st_dev;
    rec.inode = st.st_ino;
}

std::vector<index::ItemRecord> all_records(const index::HashIndex& idx)
{
    std::vector<index::ItemRecord> out;
    idx.for_each([&](const index::ItemRecord& r) {
        out.push_back(r);
        return true;
    });
    return out;
}

} // namespace ndrd::test
