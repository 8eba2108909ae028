// The worker stage: one ingest file to a key, a rejection reason, or a skip.
#define BOOST_TEST_MODULE hasher
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include "daemon/ingest/hasher.hpp"
#include "reference_data.hpp"

using namespace ndrd;
using daemon::HashResult;
namespace fs = std::filesystem;

namespace {

const index::Projection& projection()
{
    static const auto p = test::golden_projection(32);
    return p;
}

std::string kind(HashResult::Kind k)
{
    switch (k) {
    case HashResult::Kind::hashed: return "hashed";
    case HashResult::Kind::rejected: return "rejected";
    case HashResult::Kind::skipped: return "skipped";
    }
    return "?";
}

HashResult hash(const fs::path& dir, const std::string& source, std::uint64_t cap = 1ULL << 30)
{
    return daemon::hash_source(dir, source, projection(), index::Grid{}, cap);
}

} // namespace

BOOST_AUTO_TEST_SUITE(hasher)

BOOST_AUTO_TEST_CASE(images_get_datumaros_keys_and_their_identity)
{
    test::TempDir dir;
    int checked = 0;
    for (const auto& row : test::read_csv(test::reference() / "keys.csv")) {
        if (row.at(1) == "nan" || checked >= 8) continue;
        test::copy_reference_image(row.at(0), dir / "in/sub" / row.at(0));
        const auto r = hash(dir / "in", "sub/" + row.at(0));
        BOOST_TEST(kind(r.kind) == "hashed", row.at(0));
        BOOST_TEST(r.source == "sub/" + row.at(0));
        BOOST_TEST(r.key.hex() == row.at(1), row.at(0));
        BOOST_TEST(r.feature.values.size() == 768U);
        struct stat st {};
        BOOST_TEST_REQUIRE(::stat((dir / "in/sub" / row.at(0)).c_str(), &st) == 0);
        BOOST_TEST(r.identity.ino == st.st_ino);
        BOOST_TEST(r.identity.size == st.st_size);
        ++checked;
    }
    BOOST_TEST(checked == 8);
}

BOOST_AUTO_TEST_CASE(all_black_image_is_hashed_as_degenerate_with_the_zero_key)
{
    test::TempDir dir;
    test::copy_reference_image("synth_black.png", dir / "black.png");
    const auto r = hash(dir.path(), "black.png");
    BOOST_TEST(kind(r.kind) == "hashed");
    BOOST_TEST(r.feature.degenerate);
    BOOST_TEST(r.key.hex() == "00000000");
}

BOOST_AUTO_TEST_CASE(undecodable_files_are_rejected_with_a_reason)
{
    test::TempDir dir;
    fs::copy_file(test::reference() / "images_undecodable/truncated.jpg", dir / "t.jpg");
    test::write_file(dir / "empty.jpg", "");
    test::write_file(dir / "text.png", "hello");
    for (const char* name : {"t.jpg", "empty.jpg", "text.png"}) {
        const auto r = hash(dir.path(), name);
        BOOST_TEST(kind(r.kind) == "rejected", name);
        BOOST_TEST(!r.reason.empty(), name);
        BOOST_TEST(r.identity.ino != 0U, name); // the file is routed to rejected/
    }
}

BOOST_AUTO_TEST_CASE(too_large_is_rejected_and_missing_or_special_files_are_skipped)
{
    test::TempDir dir;
    test::copy_reference_image("coffee.png", dir / "coffee.png");
    fs::create_symlink(dir / "coffee.png", dir / "link.png");
    BOOST_TEST_REQUIRE(::mkfifo((dir / "fifo.png").c_str(), 0600) == 0);
    const auto big = hash(dir.path(), "coffee.png", 100);
    BOOST_TEST(kind(big.kind) == "rejected");
    BOOST_TEST(big.reason.find("max_file_size") != std::string::npos, big.reason);
    const auto gone = hash(dir.path(), "missing.png");
    BOOST_TEST(kind(gone.kind) == "skipped");
    BOOST_TEST(gone.reason == "no longer exists");
    BOOST_TEST(kind(hash(dir.path(), "link.png").kind) == "skipped");
    BOOST_TEST(kind(hash(dir.path(), "fifo.png").kind) == "skipped");
}

BOOST_AUTO_TEST_SUITE_END()
