// The decision log on NATS JetStream (see jetstream_log.hpp), over nats.c.
#include "daemon/cluster/jetstream_log.hpp"

#include <nats/nats.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <utility>

namespace ndrd::daemon {

// nats.c's objects, each released by its own destroy function. Named, not
// anonymous: JetStreamLog::Connection holds two of them.
namespace nats_handles {
template <class T, void (*Destroy)(T*)> struct Deleter {
    void operator()(T* p) const { Destroy(p); }
};
template <class T, void (*Destroy)(T*)> using Owned = std::unique_ptr<T, Deleter<T, Destroy>>;
} // namespace nats_handles

namespace {

using nats_handles::Owned;
using OptionsPtr = Owned<natsOptions, natsOptions_Destroy>;
using ConnectionPtr = Owned<natsConnection, natsConnection_Destroy>;
using ContextPtr = Owned<jsCtx, jsCtx_Destroy>;
using MsgPtr = Owned<natsMsg, natsMsg_Destroy>;
using PubAckPtr = Owned<jsPubAck, jsPubAck_Destroy>;
using StreamInfoPtr = Owned<jsStreamInfo, jsStreamInfo_Destroy>;
using SubscriptionPtr = Owned<natsSubscription, natsSubscription_Destroy>;
using MetaPtr = Owned<jsMsgMetaData, jsMsgMetaData_Destroy>;

std::string joined(const std::vector<std::string>& servers)
{
    std::string out;
    for (const auto& s : servers) {
        out += (out.empty() ? "" : ",") + s;
    }
    return out;
}

// See JetStreamLog::append().
constexpr std::chrono::hours duplicate_window{1};

// What nats.c writes to an error code when the server gave none: not one of
// the enumerators.
constexpr auto no_js_error = static_cast<jsErrCode>(0);

// The library's own account of the last failure, with the JetStream error
// code when the server gave one.
std::string why(natsStatus s, jsErrCode code = no_js_error)
{
    std::string text = natsStatus_GetText(s);
    natsStatus last = NATS_OK;
    // The library's last error may be left from an earlier failure: only
    // its account of this one is added.
    if (const char* detail = nats_GetLastError(&last); last == s && detail != nullptr && *detail != '\0') {
        text += ": ";
        text += detail;
    }
    if (code != 0) {
        text += " (JetStream error " + std::to_string(static_cast<int>(code)) + ")";
    }
    return text;
}

void check(natsStatus s, const std::string& what)
{
    if (s != NATS_OK) {
        throw LogUnavailable(what + ": " + why(s));
    }
}

} // namespace

struct JetStreamLog::Connection {
    JetStreamLogOptions options;
    std::string subject;
    std::string where; // "NATS <servers>", first in every error
    ConnectionPtr nc;
    ContextPtr js;
    SubscriptionPtr follower; // declared last: released before the connection
};

JetStreamLog::JetStreamLog(JetStreamLogOptions options) : c_(std::make_unique<Connection>())
{
    c_->options = std::move(options);
    c_->subject = c_->options.stream + ".entries";
    c_->where = "NATS " + joined(c_->options.servers);
    const std::string& where = c_->where;

    natsOptions* raw_opts = nullptr;
    check(natsOptions_Create(&raw_opts), where);
    const OptionsPtr opts(raw_opts);
    std::vector<const char*> urls;
    urls.reserve(c_->options.servers.size());
    for (const auto& s : c_->options.servers) {
        urls.push_back(s.c_str());
    }
    check(natsOptions_SetServers(opts.get(), urls.data(), static_cast<int>(urls.size())), where);
    check(natsOptions_SetName(opts.get(), c_->options.client_name.c_str()), where);
    check(natsOptions_SetTimeout(opts.get(), c_->options.timeout_ms), where);
    // Reconnect for ever: an outage pauses ingestion, it does not end it.
    check(natsOptions_SetMaxReconnect(opts.get(), -1), where);
    check(natsOptions_SetRetryOnFailedConnect(opts.get(), false, nullptr, nullptr), where);
    if (!c_->options.credentials.empty()) {
        check(natsOptions_SetUserCredentialsFromFiles(opts.get(), c_->options.credentials.c_str(), nullptr),
              where + ": credentials " + c_->options.credentials);
    }
    if (!c_->options.token.empty()) {
        check(natsOptions_SetToken(opts.get(), c_->options.token.c_str()), where);
    }
    if (!c_->options.tls_ca.empty()) {
        check(natsOptions_SetSecure(opts.get(), true), where);
        check(natsOptions_LoadCATrustedCertificates(opts.get(), c_->options.tls_ca.c_str()),
              where + ": CA file " + c_->options.tls_ca);
    }

    natsConnection* raw_nc = nullptr;
    check(natsConnection_Connect(&raw_nc, opts.get()), where + ": cannot connect");
    c_->nc.reset(raw_nc);

    jsOptions jo;
    check(jsOptions_Init(&jo), where);
    jo.Wait = c_->options.timeout_ms;
    jsCtx* raw_js = nullptr;
    check(natsConnection_JetStream(&raw_js, c_->nc.get(), &jo), where + ": no JetStream context");
    c_->js.reset(raw_js);

    jsStreamInfo* raw_si = nullptr;
    jsErrCode code = no_js_error;
    natsStatus s = js_GetStreamInfo(&raw_si, c_->js.get(), c_->options.stream.c_str(), nullptr, &code);
    StreamInfoPtr si(raw_si);
    if (s == NATS_NOT_FOUND || code == JSStreamNotFoundErr) {
        jsStreamConfig cfg;
        check(jsStreamConfig_Init(&cfg), where);
        const char* subjects[] = {c_->subject.c_str()};
        cfg.Name = c_->options.stream.c_str();
        cfg.Subjects = subjects;
        cfg.SubjectsLen = 1;
        cfg.Storage = js_FileStorage;
        cfg.Replicas = c_->options.replicas;
        // How long a repeated id is recognised: longer than any outage after
        // which a host appends again what it may have appended before.
        cfg.Duplicates = std::chrono::duration_cast<std::chrono::nanoseconds>(duplicate_window).count();
        raw_si = nullptr;
        s = js_AddStream(&raw_si, c_->js.get(), &cfg, nullptr, &code);
        si.reset(raw_si);
    }
    if (s != NATS_OK) {
        throw LogUnavailable(where + ": stream " + c_->options.stream + ": " + why(s, code));
    }
}

std::string JetStreamLog::identity()
{
    jsStreamInfo* raw = nullptr;
    jsErrCode code = no_js_error;
    const natsStatus s = js_GetStreamInfo(&raw, c_->js.get(), stream().c_str(), nullptr, &code);
    const StreamInfoPtr si(raw);
    if (s != NATS_OK) {
        throw LogUnavailable(c_->where + ": stream " + stream() + ": " + why(s, code));
    }
    return stream() + "@" + std::to_string(si->Created);
}

void JetStreamLog::follow(std::uint64_t seq)
{
    if (c_->follower) {
        // nats.c no longer deletes the consumer on destroy: the server would
        // keep each replaced one until its inactivity timeout.
        (void)natsSubscription_Unsubscribe(c_->follower.get());
    }
    c_->follower.reset();
    jsSubOptions so;
    check(jsSubOptions_Init(&so), "stream " + stream());
    so.Stream = c_->options.stream.c_str();
    so.Ordered = true; // the library restarts the consumer on a gap or a lost heartbeat
    so.Config.DeliverPolicy = js_DeliverByStartSequence;
    so.Config.OptStartSeq = std::max<std::uint64_t>(seq, 1);
    natsSubscription* raw = nullptr;
    jsErrCode code = no_js_error;
    const natsStatus s = js_SubscribeSync(&raw, c_->js.get(), c_->subject.c_str(), nullptr, &so, &code);
    c_->follower.reset(raw);
    if (s != NATS_OK) {
        c_->follower.reset();
        throw LogUnavailable(c_->where + ": stream " + stream() + ": reading from " + std::to_string(seq) + ": " +
                             why(s, code));
    }
}

std::optional<JetStreamLog::Delivered> JetStreamLog::next(std::int64_t timeout_ms)
{
    if (!c_->follower) {
        throw std::logic_error("JetStreamLog::next() before follow()");
    }
    natsMsg* raw = nullptr;
    const natsStatus s = natsSubscription_NextMsg(&raw, c_->follower.get(), std::max<std::int64_t>(timeout_ms, 1));
    const MsgPtr msg(raw);
    if (s == NATS_TIMEOUT) {
        return std::nullopt;
    }
    if (s != NATS_OK) {
        throw LogUnavailable(c_->where + ": stream " + stream() + ": reading: " + why(s));
    }
    jsMsgMetaData* raw_meta = nullptr;
    check(natsMsg_GetMetaData(&raw_meta, msg.get()), c_->where + ": stream " + stream() + ": a delivered entry");
    const MetaPtr meta(raw_meta);
    Delivered d;
    d.seq = meta->Sequence.Stream;
    d.bytes.assign(natsMsg_GetData(msg.get()), static_cast<std::size_t>(natsMsg_GetDataLength(msg.get())));
    return d;
}

JetStreamLog::JetStreamLog(JetStreamLog&&) noexcept = default;
JetStreamLog& JetStreamLog::operator=(JetStreamLog&&) noexcept = default;
JetStreamLog::~JetStreamLog()
{
    if (!c_) {
        return; // moved from
    }
    // Closed before it is destroyed: the consumer goes from the server, and
    // the library's reader thread ends before the connection's destroy
    // joins it.
    if (c_->follower) {
        (void)natsSubscription_Unsubscribe(c_->follower.get());
        c_->follower.reset();
    }
    if (c_->nc) {
        natsConnection_Close(c_->nc.get());
    }
}

const std::string& JetStreamLog::stream() const
{
    return c_->options.stream;
}

void JetStreamLog::require_connected() const
{
    // While the client reconnects, a request would wait out its whole
    // timeout (and hold its caller's event loop): say so at once instead.
    if (natsConnection_Status(c_->nc.get()) != NATS_CONN_STATUS_CONNECTED) {
        throw LogUnavailable(c_->where + ": stream " + stream() + ": not connected (reconnecting)");
    }
}

std::uint64_t JetStreamLog::append(std::string_view msg_id, std::string_view bytes)
{
    return publish(msg_id, bytes, false).seq;
}

std::optional<std::uint64_t> JetStreamLog::append_first(std::string_view msg_id, std::string_view bytes)
{
    try {
        return publish(msg_id, bytes, true).seq;
    } catch (const NotFirst&) {
        return std::nullopt;
    }
}

JetStreamLog::Appended JetStreamLog::publish(std::string_view msg_id, std::string_view bytes, bool first)
{
    require_connected();
    const std::string id(msg_id);
    jsPubOptions po;
    check(jsPubOptions_Init(&po), "stream " + stream());
    po.MsgId = id.c_str();
    po.ExpectStream = c_->options.stream.c_str();
    po.ExpectNoMessage = first;
    // While the stream elects a leader, publishes fail at once ("no
    // responders", or the cluster not available): tried again, with the
    // same id, for up to one request timeout in all.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(c_->options.timeout_ms);
    for (;;) {
        jsPubAck* raw_ack = nullptr;
        jsErrCode code = no_js_error;
        const natsStatus s = js_Publish(&raw_ack, c_->js.get(), c_->subject.c_str(), bytes.data(),
                                        static_cast<int>(bytes.size()), &po, &code);
        const PubAckPtr ack(raw_ack);
        if (s == NATS_OK) {
            return {ack->Sequence, ack->Duplicate};
        }
        if (first && code == JSStreamWrongLastSequenceErr) {
            throw NotFirst();
        }
        const bool electing = s == NATS_NO_RESPONDERS || code == JSClusterNotAvailErr;
        if (!electing || std::chrono::steady_clock::now() >= deadline) {
            // Not known to be stored: the caller appends again with the same id.
            throw LogUnavailable(c_->where + ": stream " + stream() + ": append " + id + ": " + why(s, code));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

std::optional<std::string> JetStreamLog::read(std::uint64_t seq)
{
    natsMsg* raw = nullptr;
    jsErrCode code = no_js_error;
    const natsStatus s = js_GetMsg(&raw, c_->js.get(), stream().c_str(), seq, nullptr, &code);
    const MsgPtr msg(raw);
    if (s == NATS_NOT_FOUND || code == JSNoMessageFoundErr) {
        return std::nullopt;
    }
    if (s != NATS_OK) {
        throw LogUnavailable(c_->where + ": stream " + stream() + ": read " + std::to_string(seq) + ": " +
                             why(s, code));
    }
    return std::string(natsMsg_GetData(msg.get()), static_cast<std::size_t>(natsMsg_GetDataLength(msg.get())));
}

namespace {

struct Held {
    std::uint64_t messages = 0;
    std::uint64_t first = 0;
    std::uint64_t last = 0;
};

Held held_by(jsCtx* js, const std::string& where, const std::string& stream)
{
    jsStreamInfo* raw = nullptr;
    jsErrCode code = no_js_error;
    const natsStatus s = js_GetStreamInfo(&raw, js, stream.c_str(), nullptr, &code);
    const StreamInfoPtr si(raw);
    if (s != NATS_OK) {
        throw LogUnavailable(where + ": stream " + stream + ": " + why(s, code));
    }
    return {si->State.Msgs, si->State.FirstSeq, si->State.LastSeq};
}

} // namespace

std::uint64_t JetStreamLog::first_sequence()
{
    const Held h = held_by(c_->js.get(), c_->where, stream());
    if (h.messages == 0) {
        return h.last == 0 ? 0 : h.last + 1;
    }
    return h.first;
}

void JetStreamLog::trim_before(std::uint64_t seq)
{
    jsOptions o;
    check(jsOptions_Init(&o), "stream " + stream());
    o.Stream.Purge.Sequence = seq;
    jsErrCode code = no_js_error;
    const natsStatus s = js_PurgeStream(c_->js.get(), stream().c_str(), &o, &code);
    if (s != NATS_OK) {
        throw LogUnavailable(c_->where + ": stream " + stream() + ": removing entries before " + std::to_string(seq) +
                             ": " + why(s, code));
    }
}

std::uint64_t JetStreamLog::last_sequence()
{
    require_connected();
    return held_by(c_->js.get(), c_->where, stream()).last;
}

} // namespace ndrd::daemon
