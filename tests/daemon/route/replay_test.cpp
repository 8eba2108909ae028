// The decision stream replays: an index's entries (hashed and rejected items,
// rules changes, overrides, rebalances, keep: best's replacements), fed into a fresh index through the
// same core, give every item the same verdict, match, similarity and subset,
// bit for bit, whatever the worker count that built the first index.
#define BOOST_TEST_MODULE replay
#include <boost/test/unit_test.hpp>

#include <array>
#include <bit>
#include <cstdint>
#include <set>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "daemon/route/decider.hpp"
#include "daemon/route/entry_stream.hpp"
#include "daemon/route/overrides.hpp"
#include "daemon/route/pipeline.hpp"
#include "daemon/route/rebalancer.hpp"
#include "daemon/route/relocator.hpp"
#include "daemon/route/router.hpp"
#include "index_fixtures.hpp"
#include "reference_data.hpp"

using namespace ndrd;
using namespace std::chrono_literals;
using index::HashIndex;
using index::ItemRecord;
namespace fs = std::filesystem;

namespace {

const daemon::Areas areas{"train", "duplicated", "rejected"};

// A host: ingest and output trees, an index, and the route room's parts.
struct Host {
    test::TempDir tmp;
    fs::path ingest = tmp / "ingest";
    fs::path output = tmp / "output";
    HashIndex index;
    daemon::Router router;
    daemon::Relocator relocator;

    explicit Host(const index::Projection& projection)
        : index((fs::create_directories(tmp / "ingest"), fs::create_directories(tmp / "output"),
                 HashIndex::open(tmp / "index", test::default_params(), [&] { return projection; }))),
          router(ingest, output), relocator(index, router, areas)
    {
    }
};

// Every reference image, in a fixed order, split into three arrivals.
std::vector<std::string> arrival(int part)
{
    const auto names = test::reference_image_names();
    const std::size_t third = names.size() / 3;
    const auto from = names.begin() + static_cast<std::ptrdiff_t>(third * static_cast<std::size_t>(part));
    const auto to = part == 2 ? names.end() : from + static_cast<std::ptrdiff_t>(third);
    return {from, to};
}

void ingest(Host& host, daemon::Pipeline& pipeline, boost::asio::io_context& io, const std::vector<std::string>& names,
            const std::string& prefix)
{
    auto guard = boost::asio::make_work_guard(io);
    bool idle = false;
    pipeline.set_on_idle([&] {
        idle = true;
        guard.reset();
        io.stop();
    });
    for (const auto& n : names) {
        if (n.starts_with("junk")) {
            test::write_file(host.ingest / (prefix + n), "not an image, whatever the name says");
        } else if (n.starts_with("larger_")) {
            // Half as large again as the reference image: a better copy.
            const cv::Mat img = cv::imread((test::reference() / "images" / n.substr(7)).string(), cv::IMREAD_COLOR);
            cv::Mat big;
            cv::resize(img, big, {}, 1.5, 1.5, cv::INTER_CUBIC);
            cv::imwrite((host.ingest / (prefix + n + ".png")).string(), big);
            pipeline.submit(prefix + n + ".png");
            continue;
        } else {
            fs::copy_file(test::reference() / "images" / n, host.ingest / (prefix + n));
        }
        pipeline.submit(prefix + n);
    }
    io.run_for(60s);
    io.restart();
    pipeline.set_on_idle({});
    BOOST_TEST_REQUIRE(idle, "the pipeline did not become idle");
}

std::uint64_t first_with(const HashIndex& idx, index::Verdict verdict)
{
    std::uint64_t found = 0;
    idx.for_each([&](const ItemRecord& r) {
        if (r.verdict == verdict && r.operator_override == index::Override::none) {
            found = r.seq;
            return false;
        }
        return true;
    });
    return found;
}

// Builds an index the daemon's way, with every kind of entry in its stream.
void build(Host& host, unsigned workers)
{
    boost::asio::io_context io;
    daemon::PipelineOptions opt;
    opt.ingest_dir = host.ingest;
    opt.rule.sim_threshold = 0.5;
    opt.exact_copy_rule = true;
    opt.workers = workers;
    daemon::Pipeline pipeline(io, opt, host.index, host.relocator);
    ingest(host, pipeline, io, arrival(0), "a_");

    // A reload: radius probing and two variants, from the next file on.
    pipeline.reconfigure(index::MatchRule{0.5, 2, {index::Variant::hflip, index::Variant::rot180}}, true, 256ULL << 20,
                         workers, false, index::Keep::first);
    ingest(host, pipeline, io, arrival(1), "b_");
    // Byte-identical copies, and a file that is no image.
    ingest(host, pipeline, io, {"rocket.jpg", "chelsea.png", "junk.jpg"}, "copy_");

    const auto dup = first_with(host.index, index::Verdict::duplicated);
    const auto kept = first_with(host.index, index::Verdict::kept);
    BOOST_TEST_REQUIRE((dup != 0 && kept != 0));
    (void)daemon::apply_override(host.index, host.relocator, index::Override::released, dup);
    (void)daemon::apply_override(host.index, host.relocator, index::Override::marked_duplicate, kept);

    daemon::Rebalancer cut(host.index, host.relocator,
                           {10, index::OverSample::similarity, index::UnderSample::inverse, 7});
    (void)cut.run();

    // compat: datumaro from here on: the exact key, no copy rule.
    pipeline.reconfigure(index::MatchRule{0.9, 0, {}}, false, 256ULL << 20, workers, false, index::Keep::first);
    ingest(host, pipeline, io, arrival(2), "c_");
    daemon::Rebalancer grow(host.index, host.relocator,
                            {40, index::OverSample::random, index::UnderSample::uniform, 11});
    (void)grow.run();

    // keep: best from here on: larger copies of indexed images replace their
    // groups' kept images.
    pipeline.reconfigure(index::MatchRule{0.5, 2, {}}, true, 256ULL << 20, workers, false, index::Keep::best);
    ingest(host, pipeline, io, {"larger_astronaut.png", "larger_moon.png", "larger_horse.png", "larger_logo.png"},
           "e_");
}

// Replays `entries` into `host`'s fresh index: no files, the same core.
void replay(Host& host, const std::vector<index::Entry>& entries)
{
    daemon::Decider decider(host.index, host.relocator, index::Rules{});
    daemon::InProcessStream stream(host.index);
    stream.subscribe([&](const index::Entry& e) { decider.apply(e); }, {});
    for (const auto& e : entries) {
        (void)stream.append(e.body, {});
    }
}

std::uint64_t bits(const std::optional<double>& v)
{
    return v ? std::bit_cast<std::uint64_t>(*v) : ~std::uint64_t{0};
}

void require_same_decisions(const HashIndex& a, const HashIndex& b)
{
    BOOST_TEST_REQUIRE(a.next_seq() == b.next_seq());
    for (std::uint64_t seq = 1; seq < a.next_seq(); ++seq) {
        const auto x = a.get(seq);
        const auto y = b.get(seq);
        BOOST_TEST_REQUIRE((x && y));
        BOOST_TEST_CONTEXT("item " << seq << " (" << x->source << ")")
        {
            BOOST_TEST(x->source == y->source);
            BOOST_TEST(index::to_string(x->verdict) == index::to_string(y->verdict));
            BOOST_TEST(index::to_string(x->subset) == index::to_string(y->subset));
            BOOST_TEST(x->matched_seq == y->matched_seq);
            BOOST_TEST(bits(x->best_similarity) == bits(y->best_similarity));
            BOOST_TEST((x->matched_variant == y->matched_variant));
            BOOST_TEST(x->exact_copy == y->exact_copy);
            BOOST_TEST(index::to_string(x->operator_override) == index::to_string(y->operator_override));
            BOOST_TEST(x->pixels == y->pixels);
            BOOST_TEST(x->replaced == y->replaced);
            BOOST_TEST(x->replaced_by == y->replaced_by);
        }
    }
}

std::set<std::string_view> kinds(const std::vector<index::Entry>& entries)
{
    std::set<std::string_view> out;
    for (const auto& e : entries) {
        out.insert(index::kind_name(e.body));
    }
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(decision_stream_replay)

BOOST_AUTO_TEST_CASE(a_replayed_stream_decides_every_item_bit_for_bit_at_1_and_4_workers)
{
    const index::Projection projection = test::golden_projection(32);
    std::optional<Host> first;
    for (const unsigned workers : {1U, 4U}) {
        BOOST_TEST_CONTEXT("workers " << workers)
        {
            Host built(projection);
            build(built, workers);
            const auto entries = built.index.entries();
            BOOST_TEST(kinds(entries) ==
                           (std::set<std::string_view>{"hashed", "rejected", "rules", "override", "rebalance"}),
                       boost::test_tools::per_element());
            BOOST_TEST(entries.size() == built.index.applied_entry());
            BOOST_TEST(built.index.counts().replaced >= 2U, "larger copies replaced kept images");

            Host replica(projection);
            replay(replica, entries);
            require_same_decisions(built.index, replica.index);
            BOOST_TEST(replica.index.entries().size() == entries.size());
            if (first) {
                require_same_decisions(first->index, built.index); // the worker count changes nothing
            } else {
                first.emplace(projection);
                replay(*first, entries);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(an_entry_the_index_refuses_keeps_its_number_for_the_next)
{
    const index::Projection projection = test::golden_projection(32);
    Host host(projection);
    daemon::Decider decider(host.index, host.relocator, index::Rules{});
    daemon::InProcessStream stream(host.index);
    bool fail = true;
    stream.subscribe(
        [&](const index::Entry& e) {
            if (fail) {
                throw index::IndexWriteError("refused");
            }
            decider.apply(e);
        },
        {});
    BOOST_CHECK_THROW((void)stream.append(index::RulesChange{}, {}), index::IndexWriteError);
    BOOST_TEST(host.index.applied_entry() == 0U);
    fail = false;
    BOOST_TEST(stream.append(index::RulesChange{}, {}) == 1U);
    BOOST_TEST(host.index.applied_entry() == 1U);
    BOOST_TEST(host.index.entries().size() == 1U);
}

BOOST_AUTO_TEST_SUITE_END()
