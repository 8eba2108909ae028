// The decision stream on JetStream (see jetstream_stream.hpp).
#include "daemon/cluster/jetstream_stream.hpp"

#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "index/hash/codec.hpp"

namespace ndrd::daemon {

namespace {

// How long an entry just appended may take to come back to this host
// before the stream counts as out of reach (then read again once).
constexpr std::int64_t delivery_timeout_ms = 2000;
// Entries applied per catch_up() call, so the event loop stays responsive.
constexpr std::size_t catch_up_batch = 4096;

std::string hex64(std::uint64_t v)
{
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

} // namespace

std::string stream_header(const index::HashIndex& index)
{
    const auto& p = index.params();
    const auto values = index.projection().data();
    const std::uint64_t checksum = XXH3_64bits(values.data(), values.size_bytes());
    return "ndrd-stream 1 algorithm=" + p.algorithm + " grid=" + std::to_string(p.grid.rows) + "x" +
           std::to_string(p.grid.cols) + " hash_dim=" + std::to_string(p.hash_dim) +
           (p.exif_orientation ? " exif_orientation=apply" : "") + " projection=" + hex64(checksum);
}

JetStreamStream::JetStreamStream(JetStreamLog log, const index::HashIndex& index)
    : log_(std::move(log)), index_(index), header_(stream_header(index))
{
    check_history();
    log_.follow(index_.applied_entry() + 1);
}

// Whether this index can go on from where it is on the stream as it is now.
// Each refusal names what happened and the way out; none is retried, since
// waiting changes nothing.
void JetStreamStream::check_history()
{
    identity_ = log_.identity();
    const std::string where = "index " + index_.dir().string();
    const std::string stream = "stream " + log_.stream();
    const std::uint64_t applied = index_.applied_entry();
    const std::string& recorded = index_.stream_id();
    if (!recorded.empty() && recorded != identity_) {
        throw StreamDiverged(where + " is a replica of " + recorded + ", but " + stream + " now is " + identity_ +
                             " (deleted and created again): start this instance with an empty index_dir, or "
                             "from an 'ndrd snapshot' of a replica of the new stream");
    }
    if (recorded.empty() && applied > 0) {
        throw StreamMismatch(where + " holds " + std::to_string(applied) +
                             " entries of a single host's decisions: a cluster member starts with an empty "
                             "index_dir, or from an 'ndrd snapshot' of a replica");
    }
    std::uint64_t last = log_.last_sequence();
    if (applied > last) {
        throw StreamDiverged(where + " applied entries up to " + std::to_string(applied) + ", but " + stream +
                             " ends at " + std::to_string(last) +
                             ": the stream lost entries (purged, or restored from an older copy). Start this "
                             "instance from an 'ndrd snapshot' of a replica that agrees with the stream");
    }
    if (last == 0) {
        // The first host writes the header, only into an empty stream (a
        // hint of "empty" from a server just restarted must not put a
        // second header at the end); the others read it.
        (void)log_.append_first("ndrd-header", header_);
        last = log_.last_sequence();
    }
    const std::uint64_t first = log_.first_sequence();
    if (first > applied + 1) {
        throw StreamDiverged(stream + " no longer holds entries " + std::to_string(applied + 1) + " to " +
                             std::to_string(first - 1) + " (removed by its retention limits), which " + where +
                             " has not applied: start this instance from an 'ndrd snapshot' of a replica taken at "
                             "entry " +
                             std::to_string(first - 1) + " or later");
    }
    if (applied == 0) {
        const auto header = log_.read(1);
        if (!header || *header != header_) {
            throw StreamMismatch(stream + " was made with '" + header.value_or("(no header)") +
                                 "', this instance's index with '" + header_ +
                                 "': every instance needs the same algorithm, gradient.block_shape, "
                                 "gradient.hash_dim and projection (seed or gradient.projection)");
        }
    }
}

void JetStreamStream::subscribe(Subscriber apply, Passer pass)
{
    apply_ = std::move(apply);
    pass_ = std::move(pass);
}

std::uint64_t JetStreamStream::append(index::EntryBody body, std::string_view id)
{
    const std::string bytes = index::encode_entry(body);
    const auto started = std::chrono::steady_clock::now();
    JetStreamLog::Appended appended;
    try {
        appended = log_.append_checked(id, bytes);
    } catch (const LogUnavailable& e) {
        throw StreamUnavailable(e.what());
    }
    const std::uint64_t seq = appended.seq;
    if (!appended.duplicate && seq <= index_.applied_entry()) {
        throw StreamDiverged("stream " + log_.stream() + " stored a new entry at " + std::to_string(seq) +
                             ", a position index " + index_.dir().string() +
                             " has applied already: the stream was replaced or lost entries. Stop this instance "
                             "and start it from an 'ndrd snapshot' of a replica that agrees with the stream");
    }
    catch_up_to(seq);
    if (on_appended_) {
        on_appended_(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
    return seq;
}

void JetStreamStream::catch_up_to(std::uint64_t seq)
{
    int misses = 0;
    while (index_.applied_entry() < seq) {
        if (deliver(delivery_timeout_ms)) {
            misses = 0;
            continue;
        }
        if (++misses >= 2) {
            throw StreamUnavailable("stream " + log_.stream() + ": entry " + std::to_string(seq) +
                                    " was not delivered within " + std::to_string(2 * delivery_timeout_ms) +
                                    " ms (applied up to " + std::to_string(index_.applied_entry()) + ")");
        }
        refollow_ = true; // a consumer that lost its way: read again from the next entry
    }
}

std::size_t JetStreamStream::catch_up()
{
    // Asking where the stream ends costs one request; waiting on the
    // consumer when nothing is there would hold the event loop up.
    const std::uint64_t before = index_.applied_entry();
    const std::uint64_t last = last_sequence();
    last_seen_ = last;
    if (last > before) {
        catch_up_to(std::min<std::uint64_t>(last, before + catch_up_batch));
    }
    return index_.applied_entry() - before;
}

std::uint64_t JetStreamStream::last_sequence()
{
    try {
        return log_.last_sequence();
    } catch (const LogUnavailable& e) {
        throw StreamUnavailable(e.what());
    }
}

void JetStreamStream::refollow()
{
    try {
        log_.follow(index_.applied_entry() + 1);
    } catch (const LogUnavailable& e) {
        throw StreamUnavailable(e.what());
    }
    refollow_ = false;
}

bool JetStreamStream::deliver(std::int64_t timeout_ms)
{
    if (refollow_) {
        refollow();
    }
    std::optional<JetStreamLog::Delivered> d;
    try {
        d = log_.next(timeout_ms);
    } catch (const LogUnavailable& e) {
        refollow_ = true;
        throw StreamUnavailable(e.what());
    }
    if (!d) {
        return false;
    }
    const std::uint64_t applied = index_.applied_entry();
    if (d->seq <= applied) {
        return true; // delivered again after a restart of the consumer
    }
    if (d->seq > applied + 1) {
        // A gap: the entry may only have been skipped by the consumer (read
        // again from it), or be gone from the stream (deleted by hand, or
        // trimmed past this replica), which waiting does not change.
        std::optional<std::string> missing;
        try {
            missing = log_.read(applied + 1);
        } catch (const LogUnavailable& e) {
            refollow_ = true;
            throw StreamUnavailable(e.what());
        }
        if (!missing) {
            throw StreamDiverged("stream " + log_.stream() + " no longer holds entry " + std::to_string(applied + 1) +
                                 ", the next one index " + index_.dir().string() +
                                 " needs: start this instance from an 'ndrd snapshot' of a replica taken at that "
                                 "entry or later");
        }
        refollow_ = true;
        return true;
    }
    try {
        apply(*d);
    } catch (...) {
        refollow_ = true; // not applied: it must be delivered again
        throw;
    }
    return true;
}

void JetStreamStream::apply(const JetStreamLog::Delivered& d)
{
    if (d.seq == 1) {
        if (d.bytes != header_) {
            throw StreamMismatch("stream " + log_.stream() + " was made with '" + d.bytes +
                                 "', this instance's index with '" + header_ + "'");
        }
        pass_(1, identity_);
        return;
    }
    index::EntryBody body;
    try {
        body = index::decode_entry(d.bytes);
    } catch (const index::CorruptRecord& e) {
        // Every replica stops here alike: applying past it would decide
        // without an entry the others may know.
        throw StreamMismatch("stream " + log_.stream() + ": entry " + std::to_string(d.seq) +
                             " cannot be read by this version of ndrd (" + e.what() +
                             "); upgrade it to the version the other instances run");
    }
    apply_(index::Entry{d.seq, std::move(body)});
}

} // namespace ndrd::daemon
