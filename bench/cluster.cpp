// The multi-host mode's decision stream, measured in process (bench/cluster.sh
// drives it; bench/README.md, "Cluster mode"). A replica here is what a
// cluster member's daemon builds: the index its configuration opens
// (daemon::open_index), its way into the stream (daemon::open_cluster_stream,
// which checks or writes the stream's header), and daemon::Decisions over
// both, which applies every entry through the decision core as the daemon
// does. Entries are synthetic but shaped like the daemon's: 768 float32
// features, L2-normalised Gaussian noise, keyed by index::compute_key over
// the configuration's projection; distinct 16-byte digests; a share of
// near-duplicates (an earlier feature plus a little noise, dot ~0.995, so the
// core finds and reads it and decides duplicate); encoded by
// index::encode_entry and published to "<stream>.entries" as the daemon's
// appends are, with a message id each.
//
// Usage (every command prints one line of key=value pairs on stdout):
//   bench_cluster join --config CFG [--set-rules]
//       Opens CFG's index as a replica of CFG's cluster stream (the first
//       replica writes the stream's header), with --set-rules appends the
//       configuration's rules entry, then calls Decisions::catch_up() until
//       the index has applied the stream's last entry: entries, seconds,
//       entries/s, applied, last, peak RSS of this process.
//   bench_cluster publish --config CFG --count N [--seed S] [--prefix P]
//           [--near-share F] [--rate R]
//       Publishes N entries (async publish, up to 4096 in flight; at R
//       entries/s when given): seconds, entries/s, first and last sequence.
//   bench_cluster lag --config CFG --rate R --seconds T [--seed S] [--prefix P]
//           [--period-ms 200] [--near-share F] [--eager]
//       A replica that follows the stream the way the daemon's Service::follow
//       does (Decisions::catch_up(), at most 4096 entries, on a timer that
//       restarts 200 ms after each round ends), while a thread publishes R
//       entries/s for T seconds (entries made beforehand); per entry, from the
//       moment its publish is called to the moment the replica has applied
//       it: p50, p99, max, mean ms; the publish rate reached. --eager starts
//       the next round at once while the replica is behind the stream's end
//       (the timer only once it has caught up), as Service::follow does;
//       without it, the 200 ms after every round, for comparison.
#include <nats/nats.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.hpp"
#include "config/config.hpp"
#include "daemon/cluster/cluster_stream.hpp"
#include "daemon/cluster/jetstream_stream.hpp"
#include "daemon/route/configured.hpp"
#include "daemon/route/decisions.hpp"
#include "daemon/route/match_rule.hpp"
#include "daemon/route/relocator.hpp"
#include "daemon/route/router.hpp"
#include "index/hash/entry.hpp"
#include "index/hash/key.hpp"
#include "index/hash/projection.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using ndrd::bench::SplitMix64;
namespace idx = ndrd::index;
namespace dm = ndrd::daemon;

double seconds_since(Clock::time_point t0)
{
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// VmHWM of this process in MiB (what /proc says; getrusage agrees on Linux).
double peak_rss_mib()
{
    return ndrd::bench::peak_rss_mib();
}

// ------------------------------------------------------------ the entries

// Standard normal deviates (Box-Muller, both of each pair) from the fully
// specified stream.
class Gaussian {
public:
    double operator()(SplitMix64& rng)
    {
        if (have_spare_) {
            have_spare_ = false;
            return spare_;
        }
        const double u1 = std::max(rng.uniform(), 1e-300);
        const double u2 = rng.uniform();
        const double r = std::sqrt(-2.0 * std::log(u1));
        spare_ = r * std::sin(2.0 * M_PI * u2);
        have_spare_ = true;
        return r * std::cos(2.0 * M_PI * u2);
    }

private:
    double spare_ = 0;
    bool have_spare_ = false;
};

void normalise(std::vector<double>& v)
{
    double n = 0;
    for (double x : v) {
        n += x * x;
    }
    n = std::sqrt(n);
    for (double& x : v) {
        x /= n;
    }
}

// Hashed-item entries like the daemon's, numbered from 0, deterministic for
// a seed. A near-duplicate perturbs one of the last 4096 features.
class EntryMaker {
public:
    EntryMaker(idx::Projection projection, std::uint64_t seed, std::string prefix, double near_share)
        : projection_(std::move(projection)), rng_(seed), prefix_(std::move(prefix)), near_share_(near_share)
    {
    }

    idx::HashedItem make(std::uint64_t i)
    {
        idx::Feature f;
        f.values.resize(768);
        if (!recent_.empty() && rng_.uniform() < near_share_) {
            const auto& base = recent_[rng_.below(recent_.size())];
            // sigma 0.0036 per component: |noise|^2 ~ 0.01, dot ~ 0.995, dot^50 ~ 0.78.
            for (std::size_t k = 0; k < f.values.size(); ++k) {
                f.values[k] = base[k] + 0.0036 * gaussian_(rng_);
            }
            ++near_;
        } else {
            for (double& x : f.values) {
                x = gaussian_(rng_);
            }
        }
        normalise(f.values);
        if (recent_.size() < 4096) {
            recent_.push_back(f.values);
        } else {
            recent_[next_recent_++ % recent_.size()] = f.values;
        }
        idx::HashedItem h;
        h.key = idx::compute_key(f, projection_);
        h.feature = idx::stored_values(f);
        h.digest.resize(16);
        const std::uint64_t a = rng_.next();
        const std::uint64_t b = rng_.next() ^ i; // distinct within a seed; seeds differ per phase
        std::memcpy(h.digest.data(), &a, 8);
        std::memcpy(h.digest.data() + 8, &b, 8);
        h.size = 200'000 + rng_.below(400'000);
        char name[64];
        std::snprintf(name, sizeof name, "/img_%09llu.jpg", static_cast<unsigned long long>(i));
        h.source = prefix_ + name;
        h.origin = "bench-producer";
        return h;
    }
    [[nodiscard]] std::uint64_t near() const { return near_; }

private:
    idx::Projection projection_;
    SplitMix64 rng_;
    Gaussian gaussian_;
    std::string prefix_;
    double near_share_;
    std::vector<std::vector<double>> recent_;
    std::size_t next_recent_ = 0;
    std::uint64_t near_ = 0;
};

// ------------------------------------------------- the async publisher

void nats_check(natsStatus s, const std::string& what)
{
    if (s != NATS_OK) {
        natsStatus last = NATS_OK;
        const char* detail = nats_GetLastError(&last);
        throw std::runtime_error(what + ": " + natsStatus_GetText(s) +
                                 (detail != nullptr ? std::string(" ") + detail : ""));
    }
}

// Publishes to "<stream>.entries" without waiting for each acknowledgement
// (up to 4096 in flight), recording per entry when its publish was called
// and which sequence the server gave it.
class Publisher {
public:
    Publisher(const ndrd::config::ClusterParams& cluster, std::uint64_t count)
        : stream_(cluster.stream), subject_(cluster.stream + ".entries"), sent_ns_(count, 0), seq_(count, 0)
    {
        natsOptions* opts = nullptr;
        nats_check(natsOptions_Create(&opts), "nats options");
        std::vector<const char*> urls;
        urls.reserve(cluster.servers.size());
        for (const auto& s : cluster.servers) {
            urls.push_back(s.c_str());
        }
        nats_check(natsOptions_SetServers(opts, urls.data(), static_cast<int>(urls.size())), "servers");
        nats_check(natsOptions_SetName(opts, "bench_cluster publisher"), "name");
        const natsStatus s = natsConnection_Connect(&nc_, opts);
        natsOptions_Destroy(opts);
        nats_check(s, "connect");
        jsOptions jo;
        nats_check(jsOptions_Init(&jo), "js options");
        jo.PublishAsync.MaxPending = 4096;
        jo.PublishAsync.AckHandler = &Publisher::on_ack;
        jo.PublishAsync.AckHandlerClosure = this;
        nats_check(natsConnection_JetStream(&js_, nc_, &jo), "jetstream");
    }
    Publisher(const Publisher&) = delete;
    Publisher& operator=(const Publisher&) = delete;
    ~Publisher()
    {
        jsCtx_Destroy(js_);
        natsConnection_Destroy(nc_);
    }

    void publish(std::uint64_t i, const std::string& id, const std::string& bytes)
    {
        jsPubOptions po;
        nats_check(jsPubOptions_Init(&po), "publish options");
        po.MsgId = id.c_str();
        po.ExpectStream = stream_.c_str();
        sent_ns_[i] = Clock::now().time_since_epoch().count();
        nats_check(js_PublishAsync(js_, subject_.c_str(), bytes.data(), static_cast<int>(bytes.size()), &po),
                   "publish " + id);
    }

    // Waits for every acknowledgement; throws if any publish failed.
    void complete()
    {
        jsPubOptions po;
        nats_check(jsPubOptions_Init(&po), "publish options");
        po.MaxWait = 60'000;
        nats_check(js_PublishAsyncComplete(js_, &po), "waiting for the acknowledgements");
        if (failed_ > 0) {
            throw std::runtime_error(std::to_string(failed_.load()) + " publishes failed, first: " + first_error_);
        }
    }

    [[nodiscard]] std::int64_t sent_ns(std::uint64_t i) const { return sent_ns_[i]; }
    [[nodiscard]] std::uint64_t seq(std::uint64_t i) const { return seq_[i]; }

private:
    static void on_ack(jsCtx* /*js*/, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure)
    {
        auto* self = static_cast<Publisher*>(closure);
        const char* id = nullptr;
        if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) == NATS_OK && id != nullptr) {
            const char* slash = std::strrchr(id, '/');
            const std::uint64_t i = std::strtoull(slash != nullptr ? slash + 1 : id, nullptr, 10);
            if (pa != nullptr && i < self->seq_.size()) {
                self->seq_[i] = pa->Sequence;
            }
        }
        if (pae != nullptr) {
            if (self->failed_++ == 0) {
                const std::scoped_lock lock(self->mu_);
                self->first_error_ =
                    std::string(natsStatus_GetText(pae->Err)) + " " + (pae->ErrText != nullptr ? pae->ErrText : "");
            }
        }
        natsMsg_Destroy(msg);
    }

    std::string stream_;
    std::string subject_;
    natsConnection* nc_ = nullptr;
    jsCtx* js_ = nullptr;
    std::vector<std::int64_t> sent_ns_;
    std::vector<std::uint64_t> seq_;
    std::atomic<std::uint64_t> failed_{0};
    std::mutex mu_;
    std::string first_error_;
};

// Publishes `count` entries, at `rate` per second when > 0 (each at its
// scheduled time; late ones go at once, without catching up in a burst
// beyond what is due). Returns the bytes published.
// `next(i)` gives entry i's encoded bytes.
template <class Next>
std::uint64_t publish_entries(Publisher& pub, Next&& next, const std::string& prefix, std::uint64_t count, double rate,
                              Clock::time_point start)
{
    std::uint64_t total = 0;
    for (std::uint64_t i = 0; i < count; ++i) {
        if (rate > 0) {
            const auto due =
                start + std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 * static_cast<double>(i) / rate));
            std::this_thread::sleep_until(due);
        }
        const std::string& bytes = next(i);
        pub.publish(i, prefix + "/" + std::to_string(i), bytes);
        total += bytes.size();
    }
    pub.complete();
    return total;
}

// ------------------------------------------------------------ the replica

// A stream that times each entry's application: what the daemon's stream
// is, with a clock on its subscriber.
class TimedStream final : public dm::EntryStream {
public:
    explicit TimedStream(std::unique_ptr<dm::JetStreamStream> inner) : inner_(std::move(inner)) {}
    void subscribe(Subscriber apply, Passer pass) override
    {
        inner_->subscribe(
            [this, apply = std::move(apply)](const idx::Entry& e) {
                apply(e);
                if (record_) applied_ns_.emplace_back(e.seq, Clock::now().time_since_epoch().count());
            },
            std::move(pass));
    }
    std::uint64_t append(idx::EntryBody body, std::string_view id) override
    {
        return inner_->append(std::move(body), id);
    }
    std::size_t catch_up() override { return inner_->catch_up(); }
    [[nodiscard]] bool shared() const override { return true; }

    dm::JetStreamStream& inner() { return *inner_; }
    void record(bool on) { record_ = on; }
    [[nodiscard]] const std::vector<std::pair<std::uint64_t, std::int64_t>>& applied_ns() const { return applied_ns_; }

private:
    std::unique_ptr<dm::JetStreamStream> inner_;
    bool record_ = false;
    std::vector<std::pair<std::uint64_t, std::int64_t>> applied_ns_;
};

// One cluster member's index and decision stream, as the daemon builds them.
struct Replica {
    ndrd::config::Config cfg;
    idx::HashIndex index;
    dm::Router router;
    dm::Relocator relocator;
    TimedStream* stream = nullptr; // owned by decisions, set while it is made
    dm::Decisions decisions;

    explicit Replica(ndrd::config::Config c)
        : cfg((ndrd::config::prepare_directories(c), std::move(c))), index(dm::open_index(cfg)),
          router(cfg.ingest_dir, cfg.output_dir), relocator(index, router, dm::areas_of(cfg)),
          decisions(index, relocator, dm::stream_rules(cfg), open_stream(), cfg.cluster.value().instance)
    {
    }

private:
    std::unique_ptr<dm::EntryStream> open_stream()
    {
        auto timed = std::make_unique<TimedStream>(
            dm::open_cluster_stream(cfg.cluster.value(), index, [](const std::string& why) {
                std::cerr << "bench_cluster: waiting for the cluster: " << why << "\n";
            }));
        stream = timed.get();
        return timed;
    }
};

// ------------------------------------------------------------ commands

struct Args {
    std::string command;
    std::string config;
    std::uint64_t count = 0;
    std::uint64_t seed = 1;
    std::string prefix = "bench";
    double near_share = 0.1;
    double rate = 0;
    double seconds = 0;
    int period_ms = 200;
    bool set_rules = false;
    bool eager = false;
};

ndrd::config::Config load(const Args& a)
{
    auto cfg = ndrd::config::load_config(a.config);
    if (!cfg.cluster) throw std::runtime_error(a.config + " has no cluster section");
    return cfg;
}

int join(const Args& a)
{
    const auto t_open = Clock::now();
    Replica r(load(a));
    const double open_s = seconds_since(t_open);
    if (a.set_rules) (void)r.decisions.set_rules(dm::stream_rules(r.cfg));
    const std::uint64_t from = r.index.applied_entry();
    const auto t0 = Clock::now();
    std::uint64_t last = r.stream->inner().last_sequence();
    std::uint64_t calls = 0;
    while (r.index.applied_entry() < last) {
        (void)r.decisions.catch_up();
        ++calls;
        if (r.index.applied_entry() >= last) last = r.stream->inner().last_sequence();
    }
    const double s = seconds_since(t0);
    const std::uint64_t n = r.index.applied_entry() - from;
    std::printf("join entries=%llu seconds=%.3f entries_per_s=%.1f applied=%llu last=%llu catch_up_calls=%llu "
                "open_s=%.3f kept=%llu duplicated=%llu rss_mib=%.0f stream=%s\n",
                static_cast<unsigned long long>(n), s, s > 0 ? static_cast<double>(n) / s : 0.0,
                static_cast<unsigned long long>(r.index.applied_entry()), static_cast<unsigned long long>(last),
                static_cast<unsigned long long>(calls), open_s, static_cast<unsigned long long>(r.index.counts().kept),
                static_cast<unsigned long long>(r.index.counts().duplicated), peak_rss_mib(),
                r.stream->inner().identity().c_str());
    return 0;
}

int publish(const Args& a)
{
    const auto cfg = load(a);
    EntryMaker maker(dm::configured_projection(cfg), a.seed, a.prefix, a.near_share);
    Publisher pub(cfg.cluster.value(), a.count);
    const auto t0 = Clock::now();
    std::string bytes_of;
    const std::uint64_t bytes = publish_entries(
        pub,
        [&](std::uint64_t i) -> const std::string& {
            bytes_of = idx::encode_entry(idx::EntryBody(maker.make(i)));
            return bytes_of;
        },
        a.prefix, a.count, a.rate, t0);
    const double s = seconds_since(t0);
    std::uint64_t first = UINT64_MAX;
    std::uint64_t last = 0;
    for (std::uint64_t i = 0; i < a.count; ++i) {
        first = std::min(first, pub.seq(i));
        last = std::max(last, pub.seq(i));
    }
    std::printf("publish entries=%llu seconds=%.3f entries_per_s=%.1f first_seq=%llu last_seq=%llu near=%llu "
                "bytes_per_entry=%.0f\n",
                static_cast<unsigned long long>(a.count), s, s > 0 ? static_cast<double>(a.count) / s : 0.0,
                static_cast<unsigned long long>(first), static_cast<unsigned long long>(last),
                static_cast<unsigned long long>(maker.near()),
                static_cast<double>(bytes) / static_cast<double>(a.count));
    return 0;
}

double percentile(std::vector<double>& v, double p)
{
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size())));
    return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

int lag(const Args& a)
{
    Replica r(load(a));
    // Start level with the stream, untimed.
    std::uint64_t last = r.stream->inner().last_sequence();
    while (r.index.applied_entry() < last) {
        (void)r.decisions.catch_up();
    }
    const auto count = static_cast<std::uint64_t>(std::llround(a.rate * a.seconds));
    // Made before the clock starts, so that the publisher thread only
    // publishes: on two cores, making entries would take CPU the follower
    // needs, which no real publisher (another host) takes.
    const auto t_gen = Clock::now();
    EntryMaker maker(r.index.projection(), a.seed, a.prefix, a.near_share);
    std::vector<std::string> made(count);
    for (std::uint64_t i = 0; i < count; ++i) {
        made[i] = idx::encode_entry(idx::EntryBody(maker.make(i)));
    }
    const double gen_s = seconds_since(t_gen);
    Publisher pub(r.cfg.cluster.value(), count);
    r.stream->record(true);
    std::atomic<bool> published{false};
    std::string publish_error;
    const auto t0 = Clock::now();
    double publish_s = 0;
    std::thread publisher([&] {
        try {
            (void)publish_entries(
                pub, [&](std::uint64_t i) -> const std::string& { return made[i]; }, a.prefix, count, a.rate, t0);
        } catch (const std::exception& e) {
            publish_error = e.what();
        }
        publish_s = seconds_since(t0);
        published = true;
    });
    // Service::follow on its timer: catch up, ask where the stream ends,
    // then wait period_ms from the end of that before the next round.
    std::uint64_t rounds = 0;
    std::uint64_t max_batch = 0;
    for (;;) {
        const bool done = published.load();
        const std::size_t n = r.decisions.catch_up();
        last = r.stream->inner().last_sequence();
        (void)r.decisions.take_pending_moves();
        ++rounds;
        max_batch = std::max<std::uint64_t>(max_batch, n);
        if (done && r.index.applied_entry() >= last) break;
        // --eager: the next round at once while the replica is behind, as
        // Service::follow does; the timer only once it has caught up.
        if (a.eager && r.index.applied_entry() < last) continue;
        std::this_thread::sleep_for(std::chrono::milliseconds(a.period_ms));
    }
    publisher.join();
    if (!publish_error.empty()) throw std::runtime_error(publish_error);
    std::map<std::uint64_t, std::int64_t> applied_at(r.stream->applied_ns().begin(), r.stream->applied_ns().end());
    std::vector<double> ms;
    ms.reserve(count);
    std::uint64_t missing = 0;
    for (std::uint64_t i = 0; i < count; ++i) {
        const auto it = applied_at.find(pub.seq(i));
        if (pub.seq(i) == 0 || it == applied_at.end()) {
            ++missing;
            continue;
        }
        ms.push_back(static_cast<double>(it->second - pub.sent_ns(i)) / 1e6);
    }
    double mean = 0;
    for (double v : ms) {
        mean += v;
    }
    mean = ms.empty() ? 0 : mean / static_cast<double>(ms.size());
    const double p50 = percentile(ms, 0.50);
    const double p99 = percentile(ms, 0.99);
    const double max = ms.empty() ? 0 : ms.back();
    std::printf(
        "lag entries=%llu target_rate=%.1f publish_rate=%.1f publish_s=%.3f p50_ms=%.1f p99_ms=%.1f "
        "max_ms=%.1f mean_ms=%.1f follow_rounds=%llu max_batch=%llu missing=%llu applied=%llu eager=%d make_s=%.1f\n",
        static_cast<unsigned long long>(count), a.rate, publish_s > 0 ? static_cast<double>(count) / publish_s : 0.0,
        publish_s, p50, p99, max, mean, static_cast<unsigned long long>(rounds),
        static_cast<unsigned long long>(max_batch), static_cast<unsigned long long>(missing),
        static_cast<unsigned long long>(r.index.applied_entry()), a.eager ? 1 : 0, gen_s);
    return missing == 0 ? 0 : 1;
}

Args parse(int argc, char** argv)
{
    if (argc < 2) throw std::invalid_argument("a command: join, publish or lag");
    Args a;
    a.command = argv[1];
    for (int i = 2; i < argc; ++i) {
        const std::string k = argv[i];
        const auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw std::invalid_argument(k + " needs a value");
            return argv[++i];
        };
        if (k == "--config")
            a.config = value();
        else if (k == "--count")
            a.count = std::stoull(value());
        else if (k == "--seed")
            a.seed = std::stoull(value());
        else if (k == "--prefix")
            a.prefix = value();
        else if (k == "--near-share")
            a.near_share = std::stod(value());
        else if (k == "--rate")
            a.rate = std::stod(value());
        else if (k == "--seconds")
            a.seconds = std::stod(value());
        else if (k == "--period-ms")
            a.period_ms = std::stoi(value());
        else if (k == "--set-rules")
            a.set_rules = true;
        else if (k == "--eager")
            a.eager = true;
        else
            throw std::invalid_argument("unknown option " + k);
    }
    if (a.config.empty()) throw std::invalid_argument("--config is required");
    return a;
}

} // namespace

int main(int argc, char** argv)
{
    try {
        const Args a = parse(argc, argv);
        if (a.command == "join") return join(a);
        if (a.command == "publish") {
            if (a.count == 0) throw std::invalid_argument("publish needs --count");
            return publish(a);
        }
        if (a.command == "lag") {
            if (a.rate <= 0 || a.seconds <= 0) throw std::invalid_argument("lag needs --rate and --seconds");
            return lag(a);
        }
        throw std::invalid_argument("unknown command " + a.command);
    } catch (const std::invalid_argument& e) {
        std::cerr << "bench_cluster: " << e.what()
                  << "\nusage: bench_cluster join|publish|lag --config CFG [options] (see bench/cluster.cpp)\n";
        return 64;
    } catch (const std::exception& e) {
        std::cerr << "bench_cluster: " << e.what() << "\n";
        return 1;
    }
}
