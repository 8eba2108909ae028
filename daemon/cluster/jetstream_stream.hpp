// The decision stream shared by several hosts: entries are appended to a
// JetStream log and every host applies the whole log in its order, so every
// index is a replica. Position n of the log is entry n; position 1 is the
// stream's header (the parameters fixed at index creation), which every
// host checks against its own before it applies anything.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

#include "daemon/cluster/jetstream_log.hpp"
#include "daemon/route/entry_stream.hpp"
#include "index/store/hash_index.hpp"

namespace ndrd::daemon {

// This host cannot be a replica of the stream as it is: its parameters
// differ from the stream's header (a configuration error), or the stream's
// history is not the one this index applied. The message names the way out.
class StreamMismatch : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};
class StreamDiverged : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The header every host of a stream must agree on: algorithm, grid,
// hash_dim and a checksum of the projection, as one line of text.
[[nodiscard]] std::string stream_header(const index::HashIndex& index);

class JetStreamStream final : public EntryStream {
public:
    // Checks that `index` can be a replica of the log's stream (writing the
    // header when the stream is empty) and starts reading after the
    // index's last applied entry. Throws StreamMismatch, StreamDiverged,
    // LogUnavailable.
    JetStreamStream(JetStreamLog log, const index::HashIndex& index);

    void subscribe(Subscriber apply, Passer pass) override;
    std::uint64_t append(index::EntryBody body, std::string_view id) override;
    // Applies what the stream holds beyond this replica now, up to a batch.
    std::size_t catch_up() override;
    [[nodiscard]] bool shared() const override { return true; }

    // Applies entries until the index has applied `seq`. Throws
    // StreamUnavailable when they do not come.
    void catch_up_to(std::uint64_t seq);
    // Called with the seconds each append took, from the publish to this
    // replica having applied the entry.
    void set_on_appended(std::function<void(double)> fn) { on_appended_ = std::move(fn); }

    // The stream's last position now (for lag), and its identity.
    [[nodiscard]] std::uint64_t last_sequence();
    // The stream's last position as the latest catch_up() found it (no
    // request).
    [[nodiscard]] std::uint64_t last_seen() const { return last_seen_; }
    [[nodiscard]] const std::string& identity() const { return identity_; }

private:
    void check_history();
    // Takes one delivered entry within `timeout_ms` and applies it; false
    // when none came.
    bool deliver(std::int64_t timeout_ms);
    void apply(const JetStreamLog::Delivered& d);
    void refollow();

    JetStreamLog log_;
    const index::HashIndex& index_;
    std::string identity_;
    std::string header_;
    Subscriber apply_;
    Passer pass_;
    std::function<void(double)> on_appended_;
    std::uint64_t last_seen_ = 0;
    bool refollow_ = false; // the delivery was interrupted: read again from the next entry
};

} // namespace ndrd::daemon
