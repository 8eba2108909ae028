// The process_* metrics every Prometheus client library exports (CPU time,
// memory, file descriptors, start time), read from /proc at scrape time.
#pragma once

#include "daemon/telemetry/metrics.hpp"

namespace ndrd::daemon {

// Registers process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds and
// process_start_time_seconds in `registry`. A value /proc cannot give reads
// as 0 rather than failing the scrape.
void add_process_metrics(MetricsRegistry& registry);

} // namespace ndrd::daemon
