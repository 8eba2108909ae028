// A NATS JetStream stream as the shared, ordered log of decision entries:
// appends are de-duplicated by message id (a publish repeated after a crash
// is dropped by the server) and any host reads the log in stream order from
// any sequence. Bytes only: what an entry means is index/hash/entry.hpp's.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ndrd::daemon {

// The servers could not be reached, or refused a request: the message names
// the servers or stream and the server's own words.
class LogUnavailable : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct JetStreamLogOptions {
    std::vector<std::string> servers; // nats://host:port, tried in turn
    std::string stream = "ndrd";      // the stream's name; its one subject is "<stream>.entries"
    int replicas = 1;                 // for a stream this log creates (1, 3 or 5)
    std::string client_name = "ndrd"; // shown by the server's monitoring
    std::int64_t timeout_ms = 5000;   // per request
    std::string credentials;          // a .creds file (empty: none)
    std::string token;                // an authentication token (empty: none)
    std::string tls_ca;               // CA certificates: TLS with verified servers (empty: as the URLs say)
};

class JetStreamLog {
public:
    // Connects and creates the stream (file storage) unless it exists.
    // Throws LogUnavailable.
    explicit JetStreamLog(JetStreamLogOptions options);
    JetStreamLog(const JetStreamLog&) = delete;
    JetStreamLog& operator=(const JetStreamLog&) = delete;
    JetStreamLog(JetStreamLog&&) noexcept;
    JetStreamLog& operator=(JetStreamLog&&) noexcept;
    ~JetStreamLog();

    // Appends `bytes` under `msg_id` once the stream has stored it (on a
    // quorum of its replicas) and returns its sequence; a repeated id within
    // the server's duplicate window returns the first one's sequence. During
    // a leader election it tries again for up to timeout_ms. LogUnavailable
    // means "not known to be stored" (the client may still send it after a
    // reconnect): append again with the same id.
    std::uint64_t append(std::string_view msg_id, std::string_view bytes);
    // The same, and whether the server had the id already.
    struct Appended {
        std::uint64_t seq = 0;
        bool duplicate = false;
    };
    Appended append_checked(std::string_view msg_id, std::string_view bytes) { return publish(msg_id, bytes, false); }
    // Appends only into an empty stream: nothing when it holds an entry.
    std::optional<std::uint64_t> append_first(std::string_view msg_id, std::string_view bytes);

    // The entry at `seq`, or nothing when the stream does not hold it (not
    // yet written, or trimmed away: compare with first_sequence()).
    [[nodiscard]] std::optional<std::string> read(std::uint64_t seq);

    // Removes the entries before `seq` (the stream keeps its numbering), as
    // retention limits do: a new replica then starts from a snapshot.
    void trim_before(std::uint64_t seq);

    // The stream's first and last sequence held now: 0 and 0 for a stream
    // never written, last + 1 and last when all were removed. A hint, not a
    // read of the log: through a server that has just restarted they may be
    // behind for a moment (read() is not).
    [[nodiscard]] std::uint64_t first_sequence();
    [[nodiscard]] std::uint64_t last_sequence();

    // What tells this stream from another of the same name: its name and
    // creation time. A stream deleted and created again has another.
    [[nodiscard]] std::string identity();

    // Reading in order: entries from `seq` on are delivered to this client
    // (an ordered consumer, no acknowledgements), and next() hands them out
    // one by one with their sequence. next() returns nothing when none
    // arrives within `timeout_ms`. A new follow() replaces the previous one.
    struct Delivered {
        std::uint64_t seq = 0;
        std::string bytes;
    };
    void follow(std::uint64_t seq);
    [[nodiscard]] std::optional<Delivered> next(std::int64_t timeout_ms);

    [[nodiscard]] const std::string& stream() const;

private:
    struct NotFirst {};
    Appended publish(std::string_view msg_id, std::string_view bytes, bool first);
    void require_connected() const;

    struct Connection;
    std::unique_ptr<Connection> c_;
};

} // namespace ndrd::daemon
