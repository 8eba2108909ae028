// A deployment for tests of daemon/route and daemon/control: an ingest
// directory, an output tree and a real index in one temporary directory, with
// the router and relocator the daemon builds over them (library
// ndrd_test_route).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "daemon/route/relocator.hpp"
#include "daemon/route/router.hpp"
#include "index/store/hash_index.hpp"
#include "test_support.hpp"

namespace ndrd::test {

class Deployment {
public:
    // Creates the three directories and the index (index_fixtures'
    // open_index); the subsets are the configuration's defaults.
    Deployment();
    Deployment(const Deployment&) = delete;
    Deployment& operator=(const Deployment&) = delete;
    ~Deployment();

    [[nodiscard]] index::HashIndex& index() { return *index_; }
    [[nodiscard]] daemon::Relocator& relocator() { return relocator_; }
    [[nodiscard]] const daemon::Router& router() const { return router_; }
    // ingest_dir, output_dir and index_dir point here; every other key has its default.
    [[nodiscard]] const config::Config& config() const { return config_; }
    [[nodiscard]] const std::filesystem::path& ingest() const { return config_.ingest_dir; }
    [[nodiscard]] const std::filesystem::path& output() const { return config_.output_dir; }
    // Directory of a subset's files: output/train, output/duplicated, output/rejected.
    [[nodiscard]] std::filesystem::path area(index::Subset s) const;

    // `rec` as the pipeline leaves a routed file: the file (holding
    // "<source> of item <seq>") at <area of rec.subset>/<rec.source>, the
    // record done there with the file's identity. Returns the record written.
    index::ItemRecord add_settled(index::ItemRecord rec);
    // Writes ingest/<source> (holding `content`) and returns `rec` journaled
    // for its move there, as the pipeline writes it before moving: state
    // planned, location planned in the area of rec.subset, the file's identity.
    index::ItemRecord add_planned(index::ItemRecord rec, const std::string& content);

    // Closes the index and opens it again, as a restart does: what was not
    // durable is gone. The relocator keeps working on the reopened index.
    void reopen();
    // Closes the index without reopening it (another process may open it).
    void close();

private:
    TempDir tmp_;
    config::Config config_;
    std::optional<index::HashIndex> index_;
    daemon::Router router_;
    daemon::Relocator relocator_;
};

} // namespace ndrd::test
