// The options the daemon/cluster tests connect with: the test's servers, a
// stream of the test's own, short request timeouts (loopback answers in
// milliseconds; an outage should fail a request quickly).
#pragma once

#include <string>
#include <vector>

#include "daemon/cluster/jetstream_log.hpp"

namespace ndrd::test {

inline daemon::JetStreamLogOptions log_options(std::vector<std::string> servers, std::string stream = "ndrd_test",
                                               int replicas = 1, std::string client = "ndrd test")
{
    daemon::JetStreamLogOptions o;
    o.servers = std::move(servers);
    o.stream = std::move(stream);
    o.replicas = replicas;
    o.client_name = std::move(client);
    o.timeout_ms = 3000;
    return o;
}

} // namespace ndrd::test
