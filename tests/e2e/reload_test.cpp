// `ndrd reload` (and SIGHUP) re-reads the configuration of a running daemon:
// a live setting (sim_threshold) applies to the next file; a file that also
// changes a restart-only setting (hash_dim) is refused whole and changes
// nothing; a broken file is refused and the daemon keeps running on what it
// had. `ndrd reload` says which, with exit codes systemctl reload passes on.
#define BOOST_TEST_MODULE e2e_reload
#include <boost/test/unit_test.hpp>

#include <csignal>

#include "live.hpp"

using namespace ndrd;
using namespace ndrd::e2e;

namespace {

// Pairs Datumaro decided "duplicated" at threshold 0.5 and "kept" at 0.9
// (similarities 0.754, 0.841 and 0.899 to the original).
void require_between_thresholds(const std::string& file)
{
    const auto at_05 = decision_of("h32_t0.5", file);
    const auto at_09 = decision_of("h32_t0.9", file);
    BOOST_REQUIRE(at_05 && at_09);
    BOOST_REQUIRE_EQUAL(at_05->decision, "duplicated");
    BOOST_REQUIRE_EQUAL(at_09->decision, "kept");
}

bool logged(Live& live, const std::string& text)
{
    return eventually([&] { return live.log().find(text) != std::string::npos; });
}

std::size_t count_of(const std::string& text, const std::string& needle)
{
    std::size_t n = 0;
    for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
        ++n;
    }
    return n;
}

RunResult ndrd_reload(Live& live)
{
    return run_ndrd({"reload", "--config", live.layout().config.string()});
}

} // namespace

BOOST_AUTO_TEST_SUITE(reload)

BOOST_AUTO_TEST_CASE(reload_applies_a_live_change_and_refuses_restart_only_and_broken_files)
{
    for (const char* f : {"coins__crop3.png", "rocket__bright8.jpg", "chelsea__crop3.png"}) {
        require_between_thresholds(f);
    }
    ConfigOptions opt; // threshold 0.5
    Live live(opt);
    live.start();
    const auto hup = [&] {
        live.signal(SIGHUP);
    };

    const std::string coins = image("coins__bright8.png");
    test::write_file(live.ingest("a_coins.png"), coins);
    live.expect("train/a_coins.png", coins, live.ingest("a_coins.png"));

    // 1. A live change: at 0.9 the crop is no longer a duplicate.
    opt.sim_threshold = 0.9;
    write_config(live.layout(), opt);
    const auto applied = ndrd_reload(live);
    BOOST_TEST(applied.code() == 0, applied.err);
    BOOST_TEST(applied.out.find("gradient.sim_threshold now applies") != std::string::npos, applied.out);
    BOOST_REQUIRE_MESSAGE(logged(live, "gradient.sim_threshold now applies"), live.log());
    const std::string crop = image("coins__crop3.png");
    test::write_file(live.ingest("b_coins_crop.png"), crop);
    live.expect("train/b_coins_crop.png", crop, live.ingest("b_coins_crop.png"));

    // 2. Back to 0.5 but also a new hash_dim: refused whole, 0.9 stays.
    ConfigOptions unsafe = opt;
    unsafe.sim_threshold = 0.5;
    unsafe.hash_dim = 16;
    unsafe.projection = test::reference() / "projection_768x16.txt";
    write_config(live.layout(), unsafe);
    const auto refused = ndrd_reload(live);
    BOOST_TEST(refused.code() == 1, refused.err);
    BOOST_TEST(refused.err.find("gradient.hash_dim and gradient.projection need a restart") != std::string::npos,
               refused.err);
    BOOST_REQUIRE_MESSAGE(logged(live, "gradient.hash_dim"), live.log());
    BOOST_TEST(live.log().find("refused") != std::string::npos);
    const std::string rocket = image("rocket__resize25.jpg");
    const std::string rocket_bright = image("rocket__bright8.jpg");
    test::write_file(live.ingest("c_rocket.jpg"), rocket);
    live.expect("train/c_rocket.jpg", rocket, live.ingest("c_rocket.jpg"));
    test::write_file(live.ingest("d_rocket_bright.jpg"), rocket_bright);
    live.expect("train/d_rocket_bright.jpg", rocket_bright, live.ingest("d_rocket_bright.jpg"));

    // 3. A file that does not parse: refused, the daemon goes on at 0.9.
    test::write_file(live.layout().config, "gradient: [\n");
    const auto broken = ndrd_reload(live); // not even sent: the file names no socket
    BOOST_TEST(broken.code() == 78, broken.err);
    BOOST_TEST(broken.err.find("invalid YAML") != std::string::npos, broken.err);
    hup();
    BOOST_REQUIRE_MESSAGE(logged(live, "reload refused, the running configuration stays"), live.log());
    BOOST_TEST(live.running());
    const std::string chelsea = image("chelsea__jpeg_q40.jpg");
    const std::string chelsea_crop = image("chelsea__crop3.png");
    test::write_file(live.ingest("e_chelsea.jpg"), chelsea);
    live.expect("train/e_chelsea.jpg", chelsea, live.ingest("e_chelsea.jpg"));
    test::write_file(live.ingest("f_chelsea_crop.png"), chelsea_crop);
    live.expect("train/f_chelsea_crop.png", chelsea_crop, live.ingest("f_chelsea_crop.png"));

    // 4. An unchanged file is a no-op reload.
    write_config(live.layout(), opt);
    hup();
    BOOST_REQUIRE_MESSAGE(logged(live, ": nothing changed"), live.log());
    BOOST_TEST(count_of(live.log(), " now appl") == 1U);
    live.stop_and_check();
}

BOOST_AUTO_TEST_CASE(workers_change_live_without_losing_or_reordering_files)
{
    ConfigOptions opt;
    opt.workers = 1;
    Live live(opt);
    live.start();
    opt.workers = 2;
    write_config(live.layout(), opt);
    live.signal(SIGHUP);
    BOOST_REQUIRE_MESSAGE(logged(live, "workers now applies"), live.log());
    // The reference pair, original first: decided in order by the new pool.
    const std::string original = image("coins.png");
    const std::string copy = image("coins__jpeg_q70.jpg");
    test::write_file(live.ingest("a.png"), original);
    test::write_file(live.ingest("b.jpg"), copy);
    live.expect("train/a.png", original, live.ingest("a.png"));
    live.expect("duplicated/b.jpg", copy, live.ingest("b.jpg"));
    live.stop_and_check();
}

BOOST_AUTO_TEST_SUITE_END()
