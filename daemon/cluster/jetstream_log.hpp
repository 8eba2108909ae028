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
    // the server's duplicate window returns the first one's sequence.
    std::uint64_t append(std::string_view msg_id, std::string_view bytes);

    // The entry at `seq`, or nothing when the stream does not hold it (not
    // yet written, or trimmed away: compare with first_sequence()).
    [[nodiscard]] std::optional<std::string> read(std::uint64_t seq);

    // The stream's first and last sequence held now (0 when empty).
    [[nodiscard]] std::uint64_t first_sequence();
    [[nodiscard]] std::uint64_t last_sequence();

    [[nodiscard]] const std::string& stream() const;

private:
    struct Connection;
    std::unique_ptr<Connection> c_;
};

} // namespace ndrd::daemon
