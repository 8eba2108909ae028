// The configuration's cluster section as this host's decision stream: the
// connection to the NATS servers (waited for at start-up, as a disk with no
// room is), and the replica checks of the shared stream.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "daemon/cluster/jetstream_stream.hpp"
#include "index/store/hash_index.hpp"

namespace ndrd::daemon {

// Connects to `cluster`'s servers, retrying with back-off while none can be
// reached (each attempt logged, systemd's start timeout extended by
// `on_wait`), and opens the stream as a replica of `index`. Throws
// StreamMismatch and StreamDiverged, which waiting would not change.
std::unique_ptr<JetStreamStream> open_cluster_stream(const config::ClusterParams& cluster,
                                                     const index::HashIndex& index,
                                                     const std::function<void(const std::string&)>& on_wait);

} // namespace ndrd::daemon
