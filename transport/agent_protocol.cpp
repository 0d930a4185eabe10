#include "transport/agent_protocol.hpp"

#include "base/rel_path.hpp"

#include <algorithm>
#include <type_traits>

#include <fmt/format.h>

namespace fsmirror::transport::agent {

namespace {

// Message type codes: requests are 1 + their index in RequestBody, replies 64 + their index in
// ReplyBody, so the two can never be confused.
constexpr std::uint8_t k_reply_base = 64;
constexpr std::size_t k_max_name = 255;
constexpr std::size_t k_max_agent_version = 256;
constexpr std::size_t k_max_digest = 256;
// The smallest encoded DirEntry (1-byte name, empty link target), to bound a count before
// trusting it.
constexpr std::size_t k_min_entry_size = 4 + 1 + 1 + 8 + 8 + 4 + 4 + 4 + 4;

template <class Variant, class T, std::size_t I = 0> constexpr std::uint8_t index_of() {
    if constexpr (std::is_same_v<std::variant_alternative_t<I, Variant>, T>)
        return static_cast<std::uint8_t>(I);
    else
        return index_of<Variant, T, I + 1>();
}

class Writer {
public:
    Writer() { m_out.resize(4); } // room for the length prefix

    void u8(std::uint8_t v) { m_out.push_back(static_cast<char>(v)); }
    void boolean(bool v) { u8(v ? 1 : 0); }
    void u32(std::uint32_t v) {
        for (int shift = 24; shift >= 0; shift -= 8)
            u8(static_cast<std::uint8_t>(v >> shift));
    }
    void u64(std::uint64_t v) {
        for (int shift = 56; shift >= 0; shift -= 8)
            u8(static_cast<std::uint8_t>(v >> shift));
    }
    void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
    void i32(std::int32_t v) { u32(static_cast<std::uint32_t>(v)); }
    void string(std::string_view v) {
        u32(static_cast<std::uint32_t>(v.size()));
        m_out.append(v);
    }
    void raw(std::string_view v) { m_out.append(v); }
    void info(const EntryInfo& e) {
        u8(static_cast<std::uint8_t>(e.type));
        u64(e.size);
        i64(e.mtime_ns);
        u32(e.mode);
        u32(e.uid);
        u32(e.gid);
        string(e.link_target);
    }
    void error(const base::Error& e) {
        u8(static_cast<std::uint8_t>(e.kind));
        i32(e.native_code);
        string(std::string_view(e.message).substr(0, k_max_message));
    }

    std::string finish() {
        const auto length = static_cast<std::uint32_t>(m_out.size() - 4);
        for (int i = 0; i < 4; ++i)
            m_out[static_cast<std::size_t>(i)] = static_cast<char>(length >> (24 - 8 * i));
        return std::move(m_out);
    }

private:
    std::string m_out;
};

// Reads fields from one payload. Every read checks the remaining length first; the first
// failure is kept and every later read returns a zero value, so decoders read straight through
// and check ok() once.
class Reader {
public:
    explicit Reader(std::string_view in) : m_in(in) {}

    bool ok() const { return !m_error; }
    const std::string& error() const { return *m_error; }
    std::size_t remaining() const { return m_in.size() - m_pos; }

    void fail(std::string message) {
        if (!m_error)
            m_error = std::move(message);
    }

    std::uint8_t u8(const char* field) {
        if (!need(1, field))
            return 0;
        return static_cast<std::uint8_t>(m_in[m_pos++]);
    }
    bool boolean(const char* field) {
        auto v = u8(field);
        if (v > 1)
            fail(fmt::format("{} must be 0 or 1, got {}", field, v));
        return v == 1;
    }
    std::uint32_t u32(const char* field) {
        if (!need(4, field))
            return 0;
        std::uint32_t v = 0;
        for (int i = 0; i < 4; ++i)
            v = (v << 8) | static_cast<std::uint8_t>(m_in[m_pos++]);
        return v;
    }
    std::uint64_t u64(const char* field) {
        if (!need(8, field))
            return 0;
        std::uint64_t v = 0;
        for (int i = 0; i < 8; ++i)
            v = (v << 8) | static_cast<std::uint8_t>(m_in[m_pos++]);
        return v;
    }
    std::int64_t i64(const char* field) { return static_cast<std::int64_t>(u64(field)); }
    std::int32_t i32(const char* field) { return static_cast<std::int32_t>(u32(field)); }

    std::string string(const char* field, std::size_t max) {
        auto length = u32(field);
        if (!ok())
            return {};
        if (length > max) {
            fail(fmt::format("{} is {} bytes long, more than the {} allowed", field, length, max));
            return {};
        }
        if (!need(length, field))
            return {};
        std::string v(m_in.substr(m_pos, length));
        m_pos += length;
        return v;
    }

    std::string raw(std::size_t length, const char* field) {
        if (!need(length, field))
            return {};
        std::string v(m_in.substr(m_pos, length));
        m_pos += length;
        return v;
    }

    // A relative path inside the tree; "" (the root) only when `allow_root`.
    std::string path(const char* field, bool allow_root) {
        auto v = string(field, k_max_path);
        if (!ok())
            return {};
        if (v.empty() && !allow_root)
            fail(fmt::format("{} must not be empty", field));
        else if (!base::is_clean_rel(v))
            fail(fmt::format("{} '{}' is not a clean relative path (absolute, '.', '..', an "
                             "empty component or a NUL)",
                             field, printable(v)));
        return v;
    }

    // A single directory entry name.
    std::string name(const char* field) {
        auto v = string(field, k_max_name);
        if (!ok())
            return {};
        if (v.empty() || v == "." || v == ".." || v.find('/') != std::string::npos ||
            v.find('\0') != std::string::npos)
            fail(fmt::format("{} '{}' is not a valid file name", field, printable(v)));
        return v;
    }

    EntryInfo info(const char* field) {
        EntryInfo e;
        auto type = u8(field);
        if (type > static_cast<std::uint8_t>(EntryType::other))
            fail(fmt::format("{}: unknown entry type {}", field, type));
        e.type = static_cast<EntryType>(type);
        e.size = u64(field);
        e.mtime_ns = i64(field);
        e.mode = u32(field);
        if (e.mode > 07777)
            fail(fmt::format("{}: mode {:o} has bits beyond 07777", field, e.mode));
        e.uid = u32(field);
        e.gid = u32(field);
        e.link_target = string(field, k_max_path);
        if (ok() && e.link_target.find('\0') != std::string::npos)
            fail(fmt::format("{}: symlink target contains a NUL", field));
        if (ok() && e.type != EntryType::symlink && !e.link_target.empty())
            fail(fmt::format("{}: only a symlink has a link target", field));
        if (ok() && e.type == EntryType::symlink && e.link_target.empty())
            fail(fmt::format("{}: a symlink needs a link target", field));
        return e;
    }

    base::Error error_value(const char* field) {
        base::Error e;
        auto kind = u8(field);
        if (kind > static_cast<std::uint8_t>(base::ErrorKind::fatal))
            fail(fmt::format("{}: unknown error kind {}", field, kind));
        e.kind = static_cast<base::ErrorKind>(kind);
        e.native_code = i32(field);
        e.message = string(field, k_max_message);
        return e;
    }

    Digest digest(const char* field) {
        Digest d{};
        auto bytes = raw(d.size(), field);
        if (ok())
            std::copy(bytes.begin(), bytes.end(), d.begin());
        return d;
    }

    void expect_end() {
        if (ok() && remaining() != 0)
            fail(fmt::format("{} unexpected bytes after the message", remaining()));
    }

private:
    bool need(std::size_t n, const char* field) {
        if (!ok())
            return false;
        if (remaining() < n) {
            fail(fmt::format("message truncated in {} (needs {} more bytes, {} left)", field, n,
                             remaining()));
            return false;
        }
        return true;
    }

    static std::string printable(std::string_view v) {
        std::string out;
        for (char c : v.substr(0, 200))
            out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
        return out;
    }

    std::string_view m_in;
    std::size_t m_pos = 0;
    std::optional<std::string> m_error;
};

template <class... Ts> struct Overloaded : Ts... { using Ts::operator()...; };

void write_body(Writer& w, const RequestBody& body) {
    std::visit(Overloaded{
                   [&](const Hello& m) {
                       w.raw(k_magic);
                       w.u32(m.min_version);
                       w.u32(m.max_version);
                       w.boolean(m.attributes.mode);
                       w.boolean(m.attributes.times);
                       w.boolean(m.attributes.owner);
                       w.u8(static_cast<std::uint8_t>(m.durability));
                   },
                   [&](const CheckRoot&) {},
                   [&](const Stat& m) { w.string(m.path); },
                   [&](const List& m) { w.string(m.path); },
                   [&](const MakeDirectory& m) {
                       w.string(m.path);
                       w.info(m.info);
                   },
                   [&](const PutSymlink& m) {
                       w.string(m.path);
                       w.info(m.info);
                   },
                   [&](const Rename& m) {
                       w.string(m.from);
                       w.string(m.to);
                   },
                   [&](const Remove& m) { w.string(m.path); },
                   [&](const SetAttributes& m) {
                       w.string(m.path);
                       w.info(m.info);
                   },
                   [&](const Flush&) {},
                   [&](const Signature& m) { w.string(m.path); },
                   [&](const RangeSignature& m) {
                       w.string(m.path);
                       w.u64(m.offset);
                       w.u64(m.length);
                   },
                   [&](const SegmentHashes& m) {
                       w.string(m.path);
                       w.u64(m.segment_size);
                   },
                   [&](const PutRange& m) {
                       w.u8(static_cast<std::uint8_t>(m.kind));
                       w.u64(m.offset);
                       w.u64(m.length);
                   },
                   [&](const PutBegin& m) {
                       w.string(m.path);
                       w.info(m.info);
                       w.u8(static_cast<std::uint8_t>(m.mode));
                       w.u8(m.durable ? 1 : 0);
                   },
                   [&](const PutData& m) { w.string(m.bytes); },
                   [&](const PutEnd& m) {
                       w.raw(std::string_view(reinterpret_cast<const char*>(m.content_hash.data()),
                                              m.content_hash.size()));
                   },
                   [&](const Hash& m) { w.string(m.path); },
                   [&](const Ping&) {},
                   [&](const PutAbort&) {},
                   [&](const ReadFile& m) {
                       w.string(m.path);
                       w.u32(m.max_bytes);
                   },
                   [&](const StatFileSystem&) {},
                   [&](const InspectDatabase& m) {
                       w.string(m.path);
                       w.boolean(m.integrity_check);
                   },
               },
               body);
}

void write_body(Writer& w, const ReplyBody& body) {
    std::visit(Overloaded{
                   [&](const HelloReply& m) {
                       w.u32(m.version);
                       w.string(m.agent_version);
                   },
                   [&](const Failure& m) { w.error(m.error); },
                   [&](const Done&) {},
                   [&](const EntryReply& m) {
                       w.boolean(m.info.has_value());
                       if (m.info)
                           w.info(*m.info);
                   },
                   [&](const Entries& m) {
                       w.u32(static_cast<std::uint32_t>(m.entries.size()));
                       for (const auto& entry : m.entries) {
                           w.string(entry.name);
                           w.info(entry.info);
                       }
                       w.boolean(m.more);
                   },
                   [&](const SignatureChunk& m) {
                       w.string(m.bytes);
                       w.boolean(m.more);
                   },
                   [&](const PutDone& m) {
                       w.u64(m.bytes_written);
                       w.boolean(m.delta);
                   },
                   [&](const HashValue& m) {
                       w.raw(std::string_view(reinterpret_cast<const char*>(m.digest.data()),
                                              m.digest.size()));
                   },
                   [&](const Pong&) {},
                   [&](const SegmentHashChunk& m) {
                       w.u64(m.basis_size);
                       w.u32(static_cast<std::uint32_t>(m.hashes.size()));
                       for (auto hash : m.hashes)
                           w.u64(hash);
                       w.boolean(m.more);
                   },
                   [&](const FileBytes& m) { w.string(m.bytes); },
                   [&](const FileSystemReply& m) {
                       w.u64(m.info.space.bytes_free);
                       w.u64(m.info.space.inodes_free);
                       w.boolean(m.info.space.inodes_known);
                       w.u8(static_cast<std::uint8_t>(m.info.root_mount));
                   },
                   [&](const DatabaseReply& m) {
                       w.string(m.content.digest);
                       w.boolean(m.content.integrity.has_value());
                       if (m.content.integrity)
                           w.string(
                               std::string_view(*m.content.integrity).substr(0, k_max_message));
                   },
               },
               body);
}

base::Error protocol_error(std::string message) {
    return base::Error{base::ErrorKind::protocol, std::move(message), 0};
}

RequestBody read_request_body(Reader& r, std::uint8_t type) {
    switch (type) {
    case index_of<RequestBody, Hello>() + 1: {
        Hello m;
        if (r.raw(k_magic.size(), "hello magic") != k_magic && r.ok())
            r.fail("hello does not start with the fsmirror magic: not an fsmirror client");
        m.min_version = r.u32("hello min_version");
        m.max_version = r.u32("hello max_version");
        if (r.ok() && m.min_version > m.max_version)
            r.fail(fmt::format("hello offers versions {} to {}", m.min_version, m.max_version));
        m.attributes.mode = r.boolean("hello attributes.mode");
        m.attributes.times = r.boolean("hello attributes.times");
        m.attributes.owner = r.boolean("hello attributes.owner");
        auto durability = r.u8("hello durability");
        if (durability > static_cast<std::uint8_t>(Durability::none))
            r.fail(fmt::format("hello: unknown durability {}", durability));
        m.durability = static_cast<Durability>(durability);
        return m;
    }
    case index_of<RequestBody, CheckRoot>() + 1:
        return CheckRoot{};
    case index_of<RequestBody, Stat>() + 1:
        return Stat{r.path("stat path", true)};
    case index_of<RequestBody, List>() + 1:
        return List{r.path("list path", true)};
    case index_of<RequestBody, MakeDirectory>() + 1: {
        MakeDirectory m;
        m.path = r.path("mkdir path", true);
        m.info = r.info("mkdir info");
        return m;
    }
    case index_of<RequestBody, PutSymlink>() + 1: {
        PutSymlink m;
        m.path = r.path("symlink path", false);
        m.info = r.info("symlink info");
        if (r.ok() && m.info.type != EntryType::symlink)
            r.fail("symlink info does not describe a symlink");
        return m;
    }
    case index_of<RequestBody, Rename>() + 1: {
        Rename m;
        m.from = r.path("rename from", false);
        m.to = r.path("rename to", false);
        return m;
    }
    case index_of<RequestBody, Remove>() + 1:
        return Remove{r.path("remove path", false)};
    case index_of<RequestBody, SetAttributes>() + 1: {
        SetAttributes m;
        m.path = r.path("set_attributes path", true);
        m.info = r.info("set_attributes info");
        return m;
    }
    case index_of<RequestBody, Flush>() + 1:
        return Flush{};
    case index_of<RequestBody, Signature>() + 1:
        return Signature{r.path("signature path", false)};
    case index_of<RequestBody, RangeSignature>() + 1: {
        RangeSignature m;
        m.path = r.path("signature path", false);
        m.offset = r.u64("signature offset");
        m.length = r.u64("signature length");
        return m;
    }
    case index_of<RequestBody, SegmentHashes>() + 1: {
        SegmentHashes m;
        m.path = r.path("segment hashes path", false);
        m.segment_size = r.u64("segment size");
        if (r.ok() && (m.segment_size < k_min_segment || m.segment_size > k_max_segment))
            r.fail(fmt::format("segment size {} is outside {}..{}", m.segment_size, k_min_segment,
                               k_max_segment));
        return m;
    }
    case index_of<RequestBody, PutRange>() + 1: {
        PutRange m;
        auto kind = r.u8("range kind");
        if (kind > static_cast<std::uint8_t>(RangeKind::patch))
            r.fail(fmt::format("put range: unknown kind {}", kind));
        m.kind = static_cast<RangeKind>(kind);
        m.offset = r.u64("range offset");
        m.length = r.u64("range length");
        return m;
    }
    case index_of<RequestBody, PutBegin>() + 1: {
        PutBegin m;
        m.path = r.path("put path", false);
        m.info = r.info("put info");
        auto mode = r.u8("put mode");
        if (mode > static_cast<std::uint8_t>(PutMode::segments))
            r.fail(fmt::format("put: unknown mode {}", mode));
        m.mode = static_cast<PutMode>(mode);
        auto durable = r.u8("put durability");
        if (durable > 1)
            r.fail(fmt::format("put: durability must be 0 or 1, got {}", durable));
        m.durable = durable == 1;
        return m;
    }
    case index_of<RequestBody, PutData>() + 1:
        return PutData{r.string("put data", k_max_payload)};
    case index_of<RequestBody, PutEnd>() + 1:
        return PutEnd{r.digest("put content hash")};
    case index_of<RequestBody, Hash>() + 1:
        return Hash{r.path("hash path", false)};
    case index_of<RequestBody, Ping>() + 1:
        return Ping{};
    case index_of<RequestBody, PutAbort>() + 1:
        return PutAbort{};
    case index_of<RequestBody, ReadFile>() + 1: {
        ReadFile m;
        m.path = r.path("read path", false);
        m.max_bytes = r.u32("read max_bytes");
        if (r.ok() && m.max_bytes > k_max_read_file)
            r.fail(fmt::format("read max_bytes {} is above the {} allowed", m.max_bytes,
                               k_max_read_file));
        return m;
    }
    case index_of<RequestBody, StatFileSystem>() + 1:
        return StatFileSystem{};
    case index_of<RequestBody, InspectDatabase>() + 1: {
        InspectDatabase m;
        m.path = r.path("inspect_database path", false);
        m.integrity_check = r.boolean("inspect_database integrity_check");
        return m;
    }
    default:
        r.fail(fmt::format("unknown request type {}", type));
        return Ping{};
    }
}

ReplyBody read_reply_body(Reader& r, std::uint8_t type) {
    switch (type) {
    case k_reply_base + index_of<ReplyBody, HelloReply>(): {
        HelloReply m;
        m.version = r.u32("hello reply version");
        m.agent_version = r.string("hello reply agent version", k_max_agent_version);
        return m;
    }
    case k_reply_base + index_of<ReplyBody, Failure>():
        return Failure{r.error_value("failure")};
    case k_reply_base + index_of<ReplyBody, Done>():
        return Done{};
    case k_reply_base + index_of<ReplyBody, EntryReply>(): {
        EntryReply m;
        if (r.boolean("entry present"))
            m.info = r.info("entry info");
        return m;
    }
    case k_reply_base + index_of<ReplyBody, Entries>(): {
        Entries m;
        auto count = r.u32("entries count");
        if (r.ok() && count > r.remaining() / k_min_entry_size)
            r.fail(fmt::format("entries count {} cannot fit in the {} bytes left", count,
                               r.remaining()));
        if (r.ok())
            m.entries.reserve(count);
        for (std::uint32_t i = 0; i < count && r.ok(); ++i) {
            DirEntry entry;
            entry.name = r.name("entry name");
            entry.info = r.info("entry info");
            m.entries.push_back(std::move(entry));
        }
        m.more = r.boolean("entries more");
        return m;
    }
    case k_reply_base + index_of<ReplyBody, SignatureChunk>(): {
        SignatureChunk m;
        m.bytes = r.string("signature bytes", k_max_payload);
        m.more = r.boolean("signature more");
        return m;
    }
    case k_reply_base + index_of<ReplyBody, PutDone>(): {
        PutDone m;
        m.bytes_written = r.u64("put bytes written");
        m.delta = r.boolean("put delta");
        return m;
    }
    case k_reply_base + index_of<ReplyBody, HashValue>():
        return HashValue{r.digest("hash value")};
    case k_reply_base + index_of<ReplyBody, Pong>():
        return Pong{};
    case k_reply_base + index_of<ReplyBody, SegmentHashChunk>(): {
        SegmentHashChunk m;
        m.basis_size = r.u64("basis size");
        auto count = r.u32("hash count");
        if (r.ok() && count > k_max_hashes_per_chunk)
            r.fail(fmt::format("{} segment hashes in one chunk, more than the {} allowed", count,
                               k_max_hashes_per_chunk));
        for (std::uint32_t i = 0; r.ok() && i < count; ++i)
            m.hashes.push_back(r.u64("segment hash"));
        m.more = r.boolean("segment hashes more");
        return m;
    }
    case k_reply_base + index_of<ReplyBody, FileBytes>():
        return FileBytes{r.string("file bytes", k_max_read_file)};
    case k_reply_base + index_of<ReplyBody, FileSystemReply>(): {
        FileSystemReply m;
        m.info.space.bytes_free = r.u64("file system bytes_free");
        m.info.space.inodes_free = r.u64("file system inodes_free");
        m.info.space.inodes_known = r.boolean("file system inodes_known");
        auto mount = r.u8("file system root_mount");
        if (mount > static_cast<std::uint8_t>(RootMount::yes))
            r.fail(fmt::format("file system: unknown root_mount {}", mount));
        m.info.root_mount = static_cast<RootMount>(mount);
        return m;
    }
    case k_reply_base + index_of<ReplyBody, DatabaseReply>(): {
        DatabaseReply m;
        m.content.digest = r.string("database digest", k_max_digest);
        if (r.boolean("database integrity present"))
            m.content.integrity = r.string("database integrity", k_max_message);
        return m;
    }
    default:
        r.fail(fmt::format("unknown reply type {}", type));
        return Pong{};
    }
}

} // namespace

bool is_final(const ReplyBody& body) {
    if (const auto* entries = std::get_if<Entries>(&body))
        return !entries->more;
    if (const auto* chunk = std::get_if<SignatureChunk>(&body))
        return !chunk->more;
    if (const auto* hashes = std::get_if<SegmentHashChunk>(&body))
        return !hashes->more;
    return true;
}

std::string encode(const Request& request) {
    Writer w;
    w.u8(static_cast<std::uint8_t>(request.body.index() + 1));
    w.u32(request.id);
    write_body(w, request.body);
    return w.finish();
}

std::string encode(const Reply& reply) {
    Writer w;
    w.u8(static_cast<std::uint8_t>(k_reply_base + reply.body.index()));
    w.u32(reply.id);
    write_body(w, reply.body);
    return w.finish();
}

base::Result<Request> decode_request(std::string_view payload) {
    Reader r(payload);
    auto type = r.u8("message type");
    Request request;
    request.id = r.u32("request id");
    if (!r.ok())
        return std::unexpected(protocol_error("malformed request: " + r.error()));
    request.body = read_request_body(r, type);
    r.expect_end();
    if (!r.ok())
        return std::unexpected(protocol_error(fmt::format("malformed request: {}", r.error())));
    return request;
}

base::Result<Reply> decode_reply(std::string_view payload) {
    Reader r(payload);
    auto type = r.u8("message type");
    Reply reply;
    reply.id = r.u32("reply id");
    if (!r.ok())
        return std::unexpected(protocol_error("malformed reply: " + r.error()));
    reply.body = read_reply_body(r, type);
    r.expect_end();
    if (!r.ok())
        return std::unexpected(protocol_error(fmt::format("malformed reply: {}", r.error())));
    return reply;
}

void FrameReader::feed(std::string_view bytes) {
    // Drop what was consumed before growing, so the buffer stays about one frame long.
    if (m_offset > 0 && m_offset >= m_buffer.size() / 2) {
        m_buffer.erase(0, m_offset);
        m_offset = 0;
    }
    m_buffer.append(bytes);
}

base::Result<std::optional<std::string>> FrameReader::next() {
    if (buffered() < 4)
        return std::optional<std::string>{};
    std::uint32_t length = 0;
    for (std::size_t i = 0; i < 4; ++i)
        length = (length << 8) | static_cast<std::uint8_t>(m_buffer[m_offset + i]);
    if (length == 0 || length > k_max_payload)
        return std::unexpected(protocol_error(fmt::format(
            "frame announces {} bytes; the limit is 1 to {} (not the fsmirror protocol, or "
            "corrupted)",
            length, k_max_payload)));
    if (buffered() < 4 + std::size_t{length})
        return std::optional<std::string>{};
    std::string payload = m_buffer.substr(m_offset + 4, length);
    m_offset += 4 + length;
    if (m_offset == m_buffer.size()) {
        m_buffer.clear();
        m_offset = 0;
    }
    return std::optional<std::string>(std::move(payload));
}

const char* request_name(const RequestBody& body) {
    static constexpr const char* k_names[] = {
        "hello",     "check_root",      "stat",      "list",    "mkdir",           "symlink",
        "rename",    "remove",          "set_attrs", "flush",   "signature",       "put_begin",
        "put_data",  "put_end",         "hash",      "ping",    "put_abort",       "segment_hashes",
        "put_range", "range_signature", "read_file", "statvfs", "inspect_database"};
    static_assert(std::size(k_names) == std::variant_size_v<RequestBody>);
    return k_names[body.index()];
}

const char* reply_name(const ReplyBody& body) {
    static constexpr const char* k_names[] = {"hello",   "failure",         "done",       "entry",
                                              "entries", "signature_chunk", "put_done",   "hash",
                                              "pong",    "segment_hashes",  "file_bytes", "statvfs",
                                              "database"};
    static_assert(std::size(k_names) == std::variant_size_v<ReplyBody>);
    return k_names[body.index()];
}

} // namespace fsmirror::transport::agent
