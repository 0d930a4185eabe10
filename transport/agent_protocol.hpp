#pragma once
// The protocol between the SSH transport and `fsmirror agent` on the remote machine: pure
// encode/decode functions, no IO. A frame is a 4-byte big-endian payload length followed by the
// payload: a 1-byte message type, a 4-byte request id, then the message's fields (integers big
// endian, strings as a 4-byte length and bytes). The decoder validates every length, count,
// enum value and path and returns an error for anything malformed; it never trusts a length it
// has not checked against the bytes actually present.
//
// A session starts with Hello (client) and HelloReply (agent); then the client sends requests
// with ids of its choosing and the agent answers each id with one or more replies, in order per
// id. Replies for different ids may interleave. Entries and SignatureChunk replies come in
// several frames; the last one has `more == false` (so do SegmentHashChunk replies). A put is
// PutBegin, any number of PutData (and, in a segments put, PutRange), then PutEnd (or
// PutAbort), all with the same id; only PutEnd is answered. A failure anywhere
// in a put is answered at once, and the remaining frames of that id are then ignored.

#include "base/error.hpp"
#include "transport/entry_info.hpp"
#include "transport/transport.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace fsmirror::transport::agent {

// 2: Put carries its own durability (SQLite snapshots are always fsynced).
// 3: a changed large file goes as segments (SegmentHashes, RangeSignature, PutRange), and
//    ReadFile (the target's marker), StatFileSystem (free space and whether the root is a mount
//    point, for the pre-flight checks) and InspectDatabase (verify's SQLite digest). The
//    messages of 2 are encoded as before, so both ends speak 2 to 3 and a session uses the
//    highest version both speak: an upgraded side still works with the other's older fsmirror
//    (whole-file deltas; the requests of 3 are never sent to an agent of 2, and those
//    operations then say the agent is too old). Versions outside the range are refused at
//    Hello, with both ranges named, instead of failing on a request.
inline constexpr std::uint32_t k_min_protocol_version = 2;
inline constexpr std::uint32_t k_protocol_version = 3;
// Sent first in Hello, so an agent talking to something else fails at once.
inline constexpr std::string_view k_magic = "fsmirror";
// Largest payload either side accepts; a bigger announced length ends the session.
inline constexpr std::uint32_t k_max_payload = 1u << 20;
// How much file data, delta or signature one frame carries.
inline constexpr std::size_t k_chunk_size = 256 * 1024;
// The segment sizes SegmentHashes accepts: each hash stands for one segment of the basis.
inline constexpr std::uint64_t k_min_segment = 64 * 1024;
inline constexpr std::uint64_t k_max_segment = 64ull * 1024 * 1024;
// Most hashes one SegmentHashChunk carries (8 bytes each, well under the frame limit).
inline constexpr std::size_t k_max_hashes_per_chunk = 16 * 1024;
// Longest relative path or symlink target accepted (Linux's PATH_MAX).
inline constexpr std::size_t k_max_path = 4096;
// Longest error message accepted.
inline constexpr std::size_t k_max_message = 4096;
// Largest file a ReadFile request may ask for (a marker is a few hundred bytes).
inline constexpr std::uint32_t k_max_read_file = 64 * 1024;
// Error code (Error::native_code) of a delta whose basis file is gone or changed type: the
// client sends the whole file instead.
inline constexpr int k_code_basis_missing = 0x10001;
// Error code of a put whose received content does not hash to what the client sent.
inline constexpr int k_code_hash_mismatch = 0x10002;

using Digest = std::array<std::uint8_t, 16>;

enum class Durability : std::uint8_t { per_file = 0, per_batch = 1, none = 2 };

enum class PutMode : std::uint8_t {
    whole = 0, // PutData carries the file's bytes
    delta = 1, // PutData carries a librsync delta against the file now at the path
    // The new content is assembled in order from PutRange frames against the file now at the
    // path: a copy of one of its ranges, or a librsync patch of one of its ranges (the delta in
    // the PutData frames that follow, up to the delta's own end).
    segments = 2,
};

enum class RangeKind : std::uint8_t {
    copy = 0,  // the basis range as it is (copy_file_range: shared extents where supported)
    patch = 1, // a delta against the basis range follows in PutData frames
};

// --- requests (client -> agent) ---
struct Hello {
    std::uint32_t min_version = k_min_protocol_version;
    std::uint32_t max_version = k_protocol_version;
    AttributePolicy attributes;
    Durability durability = Durability::per_batch;
};
struct CheckRoot {};
struct Stat {
    std::string path;
};
struct List {
    std::string path;
};
struct MakeDirectory {
    std::string path;
    EntryInfo info;
};
struct PutSymlink {
    std::string path;
    EntryInfo info;
};
struct Rename {
    std::string from;
    std::string to;
};
struct Remove {
    std::string path;
};
struct SetAttributes {
    std::string path;
    EntryInfo info;
};
struct Flush {};
struct Signature {
    std::string path;
};
// The librsync signature of the basis range [offset, offset + length) (clipped at its end),
// with a block length chosen for the range's length; answered as Signature is.
struct RangeSignature {
    std::string path;
    std::uint64_t offset = 0;
    std::uint64_t length = UINT64_MAX;
};
// XXH3-64 of each `segment_size` bytes of the file, in order, streamed as SegmentHashChunk.
struct SegmentHashes {
    std::string path;
    std::uint64_t segment_size = 0;
};
struct PutBegin {
    std::string path;
    EntryInfo info; // the attributes the file gets
    PutMode mode = PutMode::whole;
    // The file and its directory are fsynced before the put is answered, whatever the
    // session's durability (an SQLite snapshot must never be lost once it replaced the last).
    bool durable = false;
};
struct PutData {
    std::string bytes;
};
// The next piece of a segments put (see PutMode::segments).
struct PutRange {
    RangeKind kind = RangeKind::copy;
    std::uint64_t offset = 0;
    std::uint64_t length = 0; // a patch's basis range may end past the basis's end (clipped)
};
struct PutEnd {
    Digest content_hash{}; // xxh3-128 of the file's new content
};
struct Hash {
    std::string path;
};
struct Ping {};
// Abandons a put: the agent removes its temporary file and does not answer.
struct PutAbort {};
// Asks for a small regular file's content (at most max_bytes, up to k_max_read_file).
struct ReadFile {
    std::string path;
    std::uint32_t max_bytes = k_max_read_file;
};
// Asks for the root's file system: free space, and whether the root is a mount point.
struct StatFileSystem {};
// Asks for a SQLite database's logical digest, read by a helper process on the remote.
struct InspectDatabase {
    std::string path;
    bool integrity_check = false;
};

using RequestBody = std::variant<Hello, CheckRoot, Stat, List, MakeDirectory, PutSymlink, Rename,
                                 Remove, SetAttributes, Flush, Signature, PutBegin, PutData, PutEnd,
                                 Hash, Ping, PutAbort, SegmentHashes, PutRange, RangeSignature,
                                 ReadFile, StatFileSystem, InspectDatabase>;

struct Request {
    std::uint32_t id = 0;
    RequestBody body;
};

// --- replies (agent -> client) ---
struct HelloReply {
    std::uint32_t version = k_protocol_version; // the session's: the highest both ends speak
    std::string agent_version;
};
struct Failure {
    base::Error error;
};
struct Done {};
struct EntryReply {
    std::optional<EntryInfo> info; // nullopt: nothing there
};
struct Entries {
    std::vector<DirEntry> entries;
    bool more = false;
};
struct SignatureChunk {
    std::string bytes;
    bool more = false;
};
struct SegmentHashChunk {
    std::uint64_t basis_size = 0; // the file's size when hashing began
    std::vector<std::uint64_t> hashes;
    bool more = false;
};
struct PutDone {
    std::uint64_t bytes_written = 0; // bytes the agent wrote into the file
    bool delta = false;
};
struct HashValue {
    Digest digest{};
};
struct Pong {};
struct FileBytes {
    std::string bytes;
};
struct FileSystemReply {
    FileSystemInfo info;
};
struct DatabaseReply {
    DatabaseDigest content;
};

using ReplyBody =
    std::variant<HelloReply, Failure, Done, EntryReply, Entries, SignatureChunk, PutDone, HashValue,
                 Pong, SegmentHashChunk, FileBytes, FileSystemReply, DatabaseReply>;

struct Reply {
    std::uint32_t id = 0;
    ReplyBody body;
};

// True when `body` is the last reply for its id.
bool is_final(const ReplyBody& body);

// Returns the frame (length prefix included) carrying `request` / `reply`.
std::string encode(const Request& request);
std::string encode(const Reply& reply);

// Returns the message in `payload` (one frame without its length prefix), or a protocol error
// naming what is wrong: an unknown type, a truncated or oversized field, an invalid enum value,
// an unsafe path (absolute, "..", NUL, too long), trailing bytes.
base::Result<Request> decode_request(std::string_view payload);
base::Result<Reply> decode_reply(std::string_view payload);

// Splits a byte stream into frames. Feed it what was read; take complete payloads with next().
class FrameReader {
public:
    // Appends `bytes` to what is buffered.
    void feed(std::string_view bytes);

    // Returns the next complete payload, nullopt when more bytes are needed, or a protocol
    // error when the announced length is 0 or above k_max_payload (the stream cannot be
    // resynchronised after that).
    base::Result<std::optional<std::string>> next();

    // Bytes buffered and not yet returned.
    std::size_t buffered() const { return m_buffer.size() - m_offset; }

private:
    std::string m_buffer;
    std::size_t m_offset = 0;
};

// Returns the short name of a request type, for logs ("stat", "put_begin").
const char* request_name(const RequestBody& body);

// Returns the short name of a reply type, for messages ("done", "entry").
const char* reply_name(const ReplyBody& body);

} // namespace fsmirror::transport::agent
