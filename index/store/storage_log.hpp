// Where RocksDB's own diagnostics go: errors to a sink the
// daemon sets (its logger), nothing to a LOG file inside the index directory,
// because that file is the first write to fail on a full disk.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

namespace rocksdb {
class Logger;
}

namespace ndrd::index {

// Process-wide; the default sink writes to stderr. The sink must not throw.
void set_storage_log(std::function<void(std::string_view)> sink);

// The logger every HashIndex hands to RocksDB.
std::shared_ptr<rocksdb::Logger> storage_logger();

} // namespace ndrd::index
