// The ordered stream of decision entries, as one interface: in process on a
// single host (InProcessStream), or a log several hosts share (a replicated
// stream implements the same interface). Entries reach the subscriber in
// stream order, each numbered; the subscriber is what applies them.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string_view>

#include "index/hash/entry.hpp"
#include "index/store/hash_index.hpp"

namespace ndrd::daemon {

// A shared stream cannot take or hand out entries now (its servers are
// down or unreachable): nothing was applied; try again later, in order.
class StreamUnavailable : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class EntryStream {
public:
    using Subscriber = std::function<void(const index::Entry&)>;
    // Called for a stream position that holds no entry for the core (a
    // shared stream's header); the subscriber records that it is passed.
    using Passer = std::function<void(std::uint64_t seq, std::string_view stream_id)>;

    EntryStream() = default;
    EntryStream(const EntryStream&) = delete;
    EntryStream& operator=(const EntryStream&) = delete;
    EntryStream(EntryStream&&) = delete;
    EntryStream& operator=(EntryStream&&) = delete;
    virtual ~EntryStream() = default;

    // The one subscriber, set before the first append.
    virtual void subscribe(Subscriber apply, Passer pass) = 0;
    // Appends an entry under `id` (a shared stream keeps one entry per id,
    // so a repeat after a crash is dropped) and returns its position once
    // the subscriber has applied every entry up to it. Throws
    // StreamUnavailable, or what the subscriber threw.
    virtual std::uint64_t append(index::EntryBody body, std::string_view id) = 0;
    // Applies what other hosts appended that is here now; returns how many
    // entries. Throws as append().
    virtual std::size_t catch_up() = 0;
    // Whether other hosts append to this stream too.
    [[nodiscard]] virtual bool shared() const = 0;
};

// The single-host stream: an entry is numbered after the last one the index
// has applied and handed to the subscriber at once, inside append(). If the
// subscriber throws (the index refused the write), the entry is not in the
// stream and its number goes to the next append.
class InProcessStream final : public EntryStream {
public:
    explicit InProcessStream(const index::HashIndex& index) : index_(index) {}

    void subscribe(Subscriber apply, Passer /*unused*/) override { apply_ = std::move(apply); }
    std::uint64_t append(index::EntryBody body, std::string_view id) override;
    std::size_t catch_up() override { return 0; }
    [[nodiscard]] bool shared() const override { return false; }

private:
    const index::HashIndex& index_;
    Subscriber apply_;
};

} // namespace ndrd::daemon
