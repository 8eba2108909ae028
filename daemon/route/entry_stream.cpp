// The single-host decision stream (see entry_stream.hpp).
#include "daemon/route/entry_stream.hpp"

#include <stdexcept>

namespace ndrd::daemon {

std::uint64_t InProcessStream::append(index::EntryBody body, std::string_view /*id*/)
{
    if (!apply_) {
        throw std::logic_error("an entry stream needs its subscriber before the first append");
    }
    // The index holds the position, written with each entry's records, so
    // every stream over it (pipeline, rebalancer, overrides) numbers alike.
    const std::uint64_t seq = index_.applied_entry() + 1;
    apply_(index::Entry{seq, std::move(body)});
    return seq;
}

} // namespace ndrd::daemon
