// Opening the shared decision stream (see cluster_stream.hpp).
#include "daemon/cluster/cluster_stream.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include "daemon/telemetry/logger.hpp"

namespace ndrd::daemon {

namespace {

JetStreamLogOptions log_options(const config::ClusterParams& c)
{
    JetStreamLogOptions o;
    o.servers = c.servers;
    o.stream = c.stream;
    o.replicas = c.replicas;
    o.client_name = "ndrd " + c.instance;
    o.credentials = c.credentials.value_or("").string();
    o.token = c.token.value_or("");
    o.tls_ca = c.tls_ca.value_or("").string();
    return o;
}

} // namespace

std::unique_ptr<JetStreamStream> open_cluster_stream(const config::ClusterParams& cluster,
                                                     const index::HashIndex& index,
                                                     const std::function<void(const std::string&)>& on_wait)
{
    auto delay = std::chrono::seconds(1);
    for (;;) {
        try {
            auto stream = std::make_unique<JetStreamStream>(JetStreamLog(log_options(cluster)), index);
            log_info("cluster: instance ", cluster.instance, " on stream ", stream->identity(), ", replica at entry ",
                     index.applied_entry());
            return stream;
        } catch (const LogUnavailable& e) {
            // Nothing is in flight yet: waiting is the plan, and SIGTERM's
            // default action is a clean way out of it.
            log_error("cannot start: ", e.what(), "; trying again in ", delay.count(), " s");
            on_wait(e.what());
        }
        std::this_thread::sleep_for(delay);
        delay = std::min(delay * 2, std::chrono::seconds(30));
    }
}

} // namespace ndrd::daemon
