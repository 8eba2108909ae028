// The ordered stream of decision entries, as one interface: in process on a
// single host (InProcessStream), or a log several hosts share (a replicated
// stream implements the same interface). Entries reach the subscriber in
// stream order, each numbered; the subscriber is what applies them.
#pragma once

#include <cstdint>
#include <functional>

#include "index/hash/entry.hpp"
#include "index/store/hash_index.hpp"

namespace ndrd::daemon {

class EntryStream {
public:
    using Subscriber = std::function<void(const index::Entry&)>;

    EntryStream() = default;
    EntryStream(const EntryStream&) = delete;
    EntryStream& operator=(const EntryStream&) = delete;
    EntryStream(EntryStream&&) = delete;
    EntryStream& operator=(EntryStream&&) = delete;
    virtual ~EntryStream() = default;

    // The one subscriber, set before the first append.
    virtual void subscribe(Subscriber apply) = 0;
    // Appends an entry; the subscriber gets it once the stream holds it.
    virtual void append(index::EntryBody body) = 0;
};

// The single-host stream: an entry is numbered after the last one the index
// has applied and handed to the subscriber at once, inside append(). If the
// subscriber throws (the index refused the write), the entry is not in the
// stream and its number goes to the next append.
class InProcessStream final : public EntryStream {
public:
    explicit InProcessStream(const index::HashIndex& index) : index_(index) {}

    void subscribe(Subscriber apply) override { apply_ = std::move(apply); }
    void append(index::EntryBody body) override;

private:
    const index::HashIndex& index_;
    Subscriber apply_;
};

} // namespace ndrd::daemon
