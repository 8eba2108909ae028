// A deployment for route and control tests (see route_fixtures.hpp).
#include "route_fixtures.hpp"

#include "daemon/route/configured.hpp"
#include "index_fixtures.hpp"

namespace ndrd::test {

namespace fs = std::filesystem;

namespace {

config::Config config_in(const fs::path& root)
{
    config::Config c;
    c.ingest_dir = root / "ingest";
    c.output_dir = root / "output";
    c.index_dir = root / "index";
    return c;
}

std::optional<index::HashIndex> created(const config::Config& c)
{
    fs::create_directories(c.ingest_dir);
    fs::create_directories(c.output_dir);
    return open_index(c.index_dir);
}

} // namespace

Deployment::Deployment()
    : config_(config_in(tmp_.path())), index_(created(config_)), router_(config_.ingest_dir, config_.output_dir),
      relocator_(*index_, router_, daemon::areas_of(config_))
{
}

Deployment::~Deployment() = default;

fs::path Deployment::area(index::Subset s) const
{
    return output() / relocator_.areas().of(s);
}

index::ItemRecord Deployment::add_settled(index::ItemRecord rec)
{
    rec.location = relocator_.areas().of(rec.subset) + "/" + rec.source;
    rec.previous_location.clear();
    rec.state = index::RouteState::done;
    write_file(output() / rec.location, rec.source + " of item " + std::to_string(rec.seq));
    take_identity(rec, output() / rec.location);
    index().put(rec, /*sync=*/true);
    return rec;
}

index::ItemRecord Deployment::add_planned(index::ItemRecord rec, const std::string& content)
{
    write_file(ingest() / rec.source, content);
    take_identity(rec, ingest() / rec.source);
    rec.location = relocator_.plan(rec, rec.subset);
    rec.previous_location.clear();
    rec.state = index::RouteState::planned;
    index().put(rec, /*sync=*/true);
    return rec;
}

void Deployment::reopen()
{
    close();
    index_.emplace(open_index(config_.index_dir));
}

void Deployment::close()
{
    index_.reset();
}

} // namespace ndrd::test
