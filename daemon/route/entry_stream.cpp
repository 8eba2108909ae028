// The single-host decision stream (see entry_stream.hpp).
#include "daemon/route/entry_stream.hpp"

#include <stdexcept>

namespace ndrd::daemon {

void InProcessStream::append(index::EntryBody body)
{
    if (!apply_) {
        throw std::logic_error("an entry stream needs its subscriber before the first append");
    }
    // The index holds the position, written with each entry's records, so
    // every stream over it (pipeline, rebalancer, overrides) numbers alike.
    apply_(index::Entry{index_.applied_entry() + 1, std::move(body)});
}

} // namespace ndrd::daemon
