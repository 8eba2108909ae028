// RocksDB's diagnostics routed to one sink (see storage_log.hpp).
#include "index/store/storage_log.hpp"

#include <array>
#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <string>

#include <rocksdb/env.h>

namespace ndrd::index {

namespace {

std::mutex sink_mutex;
// Empty until set_storage_log: RocksDB's lines then go to stderr.
std::function<void(std::string_view)> current_sink;

class SinkLogger : public rocksdb::Logger {
public:
    SinkLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::ERROR_LEVEL) {}

    using rocksdb::Logger::Logv;
    void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override
    {
        if (level < GetInfoLogLevel() || level == rocksdb::InfoLogLevel::HEADER_LEVEL) {
            return;
        }
        std::array<char, 1024> buf{};
        std::vsnprintf(buf.data(), buf.size(), format, ap);
        std::string line = std::string("rocksdb: ") + buf.data();
        while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) {
            line.pop_back();
        }
        const std::scoped_lock lock(sink_mutex);
        if (current_sink) {
            current_sink(line);
        } else {
            std::fprintf(stderr, "%s\n", line.c_str());
        }
    }
};

} // namespace

void set_storage_log(std::function<void(std::string_view)> sink)
{
    const std::scoped_lock lock(sink_mutex);
    current_sink = std::move(sink);
}

std::shared_ptr<rocksdb::Logger> storage_logger()
{
    static const auto logger = std::make_shared<SinkLogger>();
    return logger;
}

} // namespace ndrd::index
