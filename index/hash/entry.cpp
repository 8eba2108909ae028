// The decision stream's entries and the encoding of control entries (see entry.hpp).
#include "index/hash/entry.hpp"

#include <stdexcept>

#include "index/hash/codec.hpp"
#include "index/hash/invariance.hpp"

namespace ndrd::index {

namespace {

// One byte of kind first, so that a later kind is refused by an older reader.
enum class ControlKind : std::uint8_t { rules = 1, override_item = 2, rebalance = 3, vanished = 6, expire = 7 };
// The item kinds continue the numbering: one byte space for every entry.
enum class ItemKind : std::uint8_t { hashed = 4, rejected = 5 };

void encode_rules(Writer& w, const Rules& r)
{
    w.f64(r.match.sim_threshold);
    w.varint(static_cast<std::uint64_t>(r.match.probe_radius));
    w.varint(r.match.variants.size());
    for (const Variant v : r.match.variants) {
        w.u8(static_cast<std::uint8_t>(v));
    }
    w.u8(r.exact_copy ? 1 : 0);
    w.u8(static_cast<std::uint8_t>(r.compat));
    if (r.keep != Keep::first) {
        w.u8(static_cast<std::uint8_t>(r.keep)); // appended: earlier rules entries end before it
    }
}

Rules decode_rules(Reader& r)
{
    Rules rules;
    rules.match.sim_threshold = r.f64();
    rules.match.probe_radius = static_cast<int>(r.varint());
    const std::uint64_t n = r.varint();
    for (std::uint64_t i = 0; i < n; ++i) {
        const std::uint8_t v = r.u8();
        if (v > static_cast<std::uint8_t>(Variant::transverse)) {
            throw CorruptRecord("unknown variant " + std::to_string(v) + " in a rules entry");
        }
        rules.match.variants.push_back(static_cast<Variant>(v));
    }
    rules.exact_copy = r.u8() != 0;
    rules.compat = r.u8() == 0 ? Compat::off : Compat::datumaro;
    if (!r.done()) {
        const std::uint8_t keep = r.u8();
        if (keep > static_cast<std::uint8_t>(Keep::best)) {
            throw CorruptRecord("unknown keep rule " + std::to_string(keep) + " in a rules entry");
        }
        rules.keep = static_cast<Keep>(keep);
    }
    return rules;
}

void encode_hashed(Writer& w, const HashedItem& h)
{
    w.u8(static_cast<std::uint8_t>(ItemKind::hashed));
    w.bytes(h.digest);
    w.bytes(h.key.bytes);
    w.floats(h.feature);
    w.u8(h.degenerate ? 1 : 0);
    w.varint(h.size);
    w.bytes(h.source);
    w.bytes(h.origin);
    w.varint(h.pixels);
}

HashedItem decode_hashed(Reader& r)
{
    HashedItem h;
    h.digest = std::string(r.bytes());
    h.key.bytes = std::string(r.bytes());
    h.feature = r.floats();
    h.degenerate = r.u8() != 0;
    h.size = r.varint();
    h.source = std::string(r.bytes());
    h.origin = std::string(r.bytes());
    if (!r.done()) {
        h.pixels = r.varint(); // absent from entries written before it was kept
    }
    return h;
}

void encode_rejected(Writer& w, const RejectedItem& x)
{
    w.u8(static_cast<std::uint8_t>(ItemKind::rejected));
    w.bytes(x.digest);
    w.varint(x.size);
    w.bytes(x.source);
    w.bytes(x.reason);
    w.bytes(x.origin);
}

RejectedItem decode_rejected(Reader& r)
{
    RejectedItem x;
    x.digest = std::string(r.bytes());
    x.size = r.varint();
    x.source = std::string(r.bytes());
    x.reason = std::string(r.bytes());
    x.origin = std::string(r.bytes());
    return x;
}

ExpireItems decode_expire(Reader& r)
{
    ExpireItems x;
    x.at_ms = static_cast<std::int64_t>(r.varint());
    const std::uint64_t n = r.varint();
    // No reserve: a corrupt count runs out of bytes (and throws) long before
    // it could allocate that much.
    for (std::uint64_t i = 0; i < n; ++i) {
        x.items.push_back(r.varint());
    }
    return x;
}

} // namespace

bool makes_item(const EntryBody& body)
{
    return std::holds_alternative<HashedItem>(body) || std::holds_alternative<RejectedItem>(body);
}

std::string_view kind_name(const EntryBody& body)
{
    constexpr std::string_view names[] = {"hashed", "rejected", "rules", "override", "rebalance", "vanished", "expire"};
    return names[body.index()];
}

std::string encode_control(const EntryBody& body)
{
    Writer w;
    if (const auto* rules = std::get_if<RulesChange>(&body)) {
        w.u8(static_cast<std::uint8_t>(ControlKind::rules));
        encode_rules(w, rules->rules);
    } else if (const auto* o = std::get_if<OperatorOverride>(&body)) {
        w.u8(static_cast<std::uint8_t>(ControlKind::override_item));
        w.varint(o->item);
        w.u8(static_cast<std::uint8_t>(o->action));
    } else if (const auto* rb = std::get_if<RebalanceRequest>(&body)) {
        w.u8(static_cast<std::uint8_t>(ControlKind::rebalance));
        w.u8(rb->num_cut ? 1 : 0);
        w.varint(rb->num_cut.value_or(0));
        w.u8(static_cast<std::uint8_t>(rb->over));
        w.u8(static_cast<std::uint8_t>(rb->under));
        w.varint(rb->seed);
    } else if (const auto* v = std::get_if<VanishedItem>(&body)) {
        w.u8(static_cast<std::uint8_t>(ControlKind::vanished));
        w.varint(v->item);
    } else if (const auto* x = std::get_if<ExpireItems>(&body)) {
        w.u8(static_cast<std::uint8_t>(ControlKind::expire));
        w.varint(static_cast<std::uint64_t>(x->at_ms));
        w.varint(x->items.size());
        for (const std::uint64_t item : x->items) {
            w.varint(item);
        }
    } else {
        throw std::invalid_argument("an item entry is stored as its record, not as a control entry");
    }
    return w.take();
}

EntryBody decode_control(std::string_view bytes)
{
    Reader r(bytes);
    const auto kind = static_cast<ControlKind>(r.u8());
    switch (kind) {
    case ControlKind::rules: return RulesChange{decode_rules(r)};
    case ControlKind::override_item: {
        OperatorOverride o;
        o.item = r.varint();
        const std::uint8_t action = r.u8();
        if (action > static_cast<std::uint8_t>(Override::marked_duplicate)) {
            throw CorruptRecord("unknown override action " + std::to_string(action));
        }
        o.action = static_cast<Override>(action);
        return o;
    }
    case ControlKind::rebalance: {
        RebalanceRequest rb;
        const bool has_cut = r.u8() != 0;
        const std::uint64_t cut = r.varint();
        if (has_cut) rb.num_cut = cut;
        rb.over = r.u8() == 0 ? OverSample::random : OverSample::similarity;
        rb.under = r.u8() == 0 ? UnderSample::uniform : UnderSample::inverse;
        rb.seed = r.varint();
        return rb;
    }
    case ControlKind::vanished: return VanishedItem{r.varint()};
    case ControlKind::expire: return decode_expire(r);
    }
    throw CorruptRecord("unknown control entry kind " + std::to_string(static_cast<int>(kind)));
}

std::string encode_entry(const EntryBody& body)
{
    if (const auto* h = std::get_if<HashedItem>(&body)) {
        Writer w;
        encode_hashed(w, *h);
        return w.take();
    }
    if (const auto* x = std::get_if<RejectedItem>(&body)) {
        Writer w;
        encode_rejected(w, *x);
        return w.take();
    }
    return encode_control(body);
}

EntryBody decode_entry(std::string_view bytes)
{
    if (bytes.empty()) {
        throw CorruptRecord("an empty entry");
    }
    const auto kind = static_cast<std::uint8_t>(bytes.front());
    if (kind != static_cast<std::uint8_t>(ItemKind::hashed) && kind != static_cast<std::uint8_t>(ItemKind::rejected)) {
        return decode_control(bytes);
    }
    Reader r(bytes.substr(1));
    EntryBody body;
    if (kind == static_cast<std::uint8_t>(ItemKind::hashed)) {
        body = decode_hashed(r);
    } else {
        body = decode_rejected(r);
    }
    if (!r.done()) {
        throw CorruptRecord("trailing bytes after an item entry");
    }
    return body;
}

} // namespace ndrd::index
