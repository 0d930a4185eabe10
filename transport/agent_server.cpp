#include "transport/agent_server.hpp"

#include "base/rel_path.hpp"
#include "transport/agent_protocol.hpp"
#include "transport/content_hash.hpp"
#include "transport/file_content.hpp"
#include "transport/local_transport.hpp"
#include "transport/rsync_delta.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include <sys/stat.h>
#include <unistd.h>

namespace fsmirror::transport {

namespace {

using namespace agent;

// Puts in progress at once; more is a misbehaving client.
constexpr std::size_t k_max_open_puts = 256;
// Ids of failed puts whose remaining frames are ignored; the oldest are forgotten first.
constexpr std::size_t k_max_failed_puts = 4096;
constexpr std::size_t k_read_buffer = 256 * 1024;
// Segment hashes sent together: small frames early, so the client compares while we hash.
constexpr std::size_t k_hashes_per_chunk = 8;
// Encoded entries per Entries frame, well under the frame limit.
constexpr std::size_t k_entries_per_frame_bytes = 256 * 1024;

enum class Exit { keep_going, clean, io_error, protocol_error };

base::Status write_all(int fd, std::string_view bytes, const char* what) {
    while (!bytes.empty()) {
        ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return base::fail_errno(what);
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

// One file being received.
struct PutState {
    std::optional<IncomingFile> file;
    EntryInfo info;
    PutMode mode = PutMode::whole;
    bool durable = false;
    base::UniqueFd basis;
    std::optional<RsyncJob> patch; // a delta put's job; in a segments put, the open patch range
    ContentHasher hasher;
    std::uint64_t written = 0;
};

class AgentServer {
public:
    AgentServer(int input_fd, int output_fd, std::filesystem::path root, std::string_view version,
                const AgentServices& services, base::Logger& logger)
        : m_in(input_fd), m_out(output_fd), m_root(std::move(root)), m_version(version),
          m_services(services), m_logger(logger) {}

    int run();

private:
    Exit handle_frame(std::string_view payload);
    Exit handle(std::uint32_t id, RequestBody& body);
    Exit handle_hello(std::uint32_t id, const Hello& hello);
    Exit handle_list(std::uint32_t id, const std::string& path);
    Exit handle_signature(std::uint32_t id, const RangeSignature& request);
    Exit handle_segment_hashes(std::uint32_t id, const SegmentHashes& request);
    Exit handle_put_range(std::uint32_t id, const PutRange& range);
    // Appends the basis range to a segments put's file, hashing what landed there.
    base::Status copy_basis_range(PutState& put, std::uint64_t offset, std::uint64_t length);
    Exit handle_hash(std::uint32_t id, const std::string& path);
    Exit handle_read_file(std::uint32_t id, const ReadFile& read);
    Exit handle_stat_file_system(std::uint32_t id);
    Exit handle_inspect_database(std::uint32_t id, const InspectDatabase& inspect);
    Exit handle_put_begin(std::uint32_t id, const PutBegin& begin);
    Exit handle_put_data(std::uint32_t id, const std::string& bytes);
    Exit handle_put_end(std::uint32_t id, const PutEnd& end);
    base::Status write_to_put(PutState& put, std::string_view bytes);
    Exit fail_put(std::uint32_t id, base::Error error);

    Exit send(std::uint32_t id, ReplyBody body);
    Exit send_status(std::uint32_t id, const base::Status& status) {
        if (!status)
            return send(id, Failure{status.error()});
        return send(id, Done{});
    }

    int m_in;
    int m_out;
    std::filesystem::path m_root;
    std::string_view m_version;
    const AgentServices& m_services;
    base::Logger& m_logger;
    std::unique_ptr<LocalTransport> m_transport; // set by the hello
    std::unordered_map<std::uint32_t, PutState> m_puts;
    std::set<std::uint32_t> m_failed_puts;
    std::deque<std::uint32_t> m_failed_order;
};

int AgentServer::run() {
    FrameReader reader;
    std::vector<char> buffer(k_read_buffer);
    for (;;) {
        for (;;) {
            auto frame = reader.next();
            if (!frame) {
                m_logger.error("agent: {}", frame.error().message);
                send(0, Failure{frame.error()});
                return 2;
            }
            if (!*frame)
                break;
            switch (handle_frame(**frame)) {
            case Exit::keep_going:
                break;
            case Exit::clean:
                return 0;
            case Exit::io_error:
                return 1;
            case Exit::protocol_error:
                return 2;
            }
        }
        ssize_t got = ::read(m_in, buffer.data(), buffer.size());
        if (got < 0) {
            if (errno == EINTR)
                continue;
            m_logger.error("agent: reading requests: {}", std::strerror(errno));
            return 1;
        }
        if (got == 0) {
            if (reader.buffered() != 0) {
                m_logger.error("agent: input ended inside a frame ({} bytes left over)",
                               reader.buffered());
                return 2;
            }
            return 0; // the client is done; unfinished puts are removed by their destructors
        }
        reader.feed(std::string_view(buffer.data(), static_cast<std::size_t>(got)));
    }
}

Exit AgentServer::handle_frame(std::string_view payload) {
    auto request = decode_request(payload);
    if (!request) {
        // The frame boundary is intact, so the session can go on; answer the id if there is one.
        std::uint32_t id = 0;
        if (payload.size() >= 5)
            for (std::size_t i = 1; i < 5; ++i)
                id = (id << 8) | static_cast<std::uint8_t>(payload[i]);
        m_logger.warning("agent: {}", request.error().message);
        if (!m_transport) {
            send(id, Failure{request.error()});
            return Exit::protocol_error;
        }
        if (m_puts.contains(id))
            return fail_put(id, request.error());
        if (m_failed_puts.contains(id))
            return Exit::keep_going;
        return send(id, Failure{request.error()});
    }
    if (!m_transport && !std::holds_alternative<Hello>(request->body)) {
        send(request->id, Failure{base::Error{base::ErrorKind::protocol,
                                              "the session must start with a hello", 0}});
        return Exit::protocol_error;
    }
    return handle(request->id, request->body);
}

Exit AgentServer::handle(std::uint32_t id, RequestBody& body) {
    if (auto* hello = std::get_if<Hello>(&body))
        return handle_hello(id, *hello);
    if (std::holds_alternative<CheckRoot>(body))
        return send_status(id, m_transport->check_root());
    if (auto* stat = std::get_if<Stat>(&body)) {
        auto info = m_transport->stat(stat->path);
        if (!info)
            return send(id, Failure{info.error()});
        return send(id, EntryReply{*info});
    }
    if (auto* list = std::get_if<List>(&body))
        return handle_list(id, list->path);
    if (auto* mkdir = std::get_if<MakeDirectory>(&body))
        return send_status(id, m_transport->make_directory(mkdir->path, mkdir->info));
    if (auto* symlink = std::get_if<PutSymlink>(&body))
        return send_status(id, m_transport->put_symlink(symlink->path, symlink->info));
    if (auto* rename = std::get_if<Rename>(&body))
        return send_status(id, m_transport->rename(rename->from, rename->to));
    if (auto* remove = std::get_if<Remove>(&body))
        return send_status(id, m_transport->remove(remove->path));
    if (auto* attrs = std::get_if<SetAttributes>(&body))
        return send_status(id, m_transport->set_attributes(attrs->path, attrs->info));
    if (std::holds_alternative<Flush>(body))
        return send_status(id, m_transport->flush());
    if (auto* signature = std::get_if<Signature>(&body))
        return handle_signature(id, RangeSignature{signature->path});
    if (auto* ranged = std::get_if<RangeSignature>(&body))
        return handle_signature(id, *ranged);
    if (auto* hashes = std::get_if<SegmentHashes>(&body))
        return handle_segment_hashes(id, *hashes);
    if (auto* range = std::get_if<PutRange>(&body))
        return handle_put_range(id, *range);
    if (auto* hash = std::get_if<Hash>(&body))
        return handle_hash(id, hash->path);
    if (auto* begin = std::get_if<PutBegin>(&body))
        return handle_put_begin(id, *begin);
    if (auto* data = std::get_if<PutData>(&body))
        return handle_put_data(id, data->bytes);
    if (auto* end = std::get_if<PutEnd>(&body))
        return handle_put_end(id, *end);
    if (std::holds_alternative<Ping>(body))
        return send(id, Pong{});
    if (auto* read = std::get_if<ReadFile>(&body))
        return handle_read_file(id, *read);
    if (std::holds_alternative<StatFileSystem>(body))
        return handle_stat_file_system(id);
    if (auto* inspect = std::get_if<InspectDatabase>(&body))
        return handle_inspect_database(id, *inspect);
    if (std::holds_alternative<PutAbort>(body)) {
        m_puts.erase(id); // removes the temporary file
        m_failed_puts.erase(id);
        return Exit::keep_going;
    }
    return send(id, Failure{base::Error{base::ErrorKind::protocol, "unhandled request", 0}});
}

Exit AgentServer::handle_hello(std::uint32_t id, const Hello& hello) {
    if (m_transport)
        return send(id, Failure{base::Error{base::ErrorKind::protocol, "second hello", 0}});
    if (hello.min_version > k_protocol_version || hello.max_version < k_min_protocol_version) {
        send(id, Failure{base::Error{base::ErrorKind::protocol,
                                     fmt::format("the client speaks protocol versions {} to {}; "
                                                 "this agent ({}) speaks {} to {}",
                                                 hello.min_version, hello.max_version, m_version,
                                                 k_min_protocol_version, k_protocol_version),
                                     0}});
        return Exit::protocol_error;
    }
    LocalTransportOptions options;
    options.root = m_root;
    options.attributes = hello.attributes;
    options.write_mode = WriteMode::replace;
    switch (hello.durability) {
    case agent::Durability::per_file:
        options.durability = transport::Durability::per_file;
        break;
    case agent::Durability::per_batch:
        options.durability = transport::Durability::per_batch;
        break;
    case agent::Durability::none:
        options.durability = transport::Durability::none;
        break;
    }
    auto opened = LocalTransport::open(options);
    if (!opened) {
        m_logger.error("agent: {}", opened.error().message);
        send(id, Failure{opened.error()});
        return Exit::io_error;
    }
    m_transport = std::move(*opened);
    return send(
        id, HelloReply{std::min(hello.max_version, k_protocol_version), std::string(m_version)});
}

Exit AgentServer::handle_list(std::uint32_t id, const std::string& path) {
    auto entries = m_transport->list_directory(path);
    if (!entries)
        return send(id, Failure{entries.error()});
    Entries frame;
    std::size_t bytes = 0;
    for (auto& entry : *entries) {
        bytes += entry.name.size() + entry.info.link_target.size() + 48;
        frame.entries.push_back(std::move(entry));
        if (bytes >= k_entries_per_frame_bytes) {
            frame.more = true;
            if (auto sent = send(id, std::move(frame)); sent != Exit::keep_going)
                return sent;
            frame = Entries{};
            bytes = 0;
        }
    }
    frame.more = false;
    return send(id, std::move(frame));
}

Exit AgentServer::handle_signature(std::uint32_t id, const RangeSignature& request) {
    const std::string& path = request.path;
    auto file = m_transport->open_file(path);
    if (!file)
        return send(id, Failure{file.error()});
    struct stat st {};
    if (::fstat(file->get(), &st) != 0)
        return send(id, Failure{base::error_from_errno(errno, "stat " + path)});
    const auto size = static_cast<std::uint64_t>(st.st_size);
    const std::uint64_t start = std::min(request.offset, size);
    const std::uint64_t length = std::min(request.length, size - start);
    // The block length follows the range's length: a small changed range gets small blocks.
    auto job = RsyncJob::signature(length);
    std::string pending;
    Exit exit = Exit::keep_going;
    auto sink = [&](std::string_view bytes) -> base::Status {
        pending.append(bytes);
        if (pending.size() >= k_chunk_size) {
            exit = send(id, SignatureChunk{std::move(pending), true});
            pending.clear();
            if (exit != Exit::keep_going)
                return base::fail(base::ErrorKind::transient, "output closed");
        }
        return {};
    };
    std::vector<char> buffer(k_read_buffer);
    std::uint64_t done = 0;
    for (;;) {
        auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), length - done));
        ssize_t got =
            want == 0 ? 0
                      : ::pread(file->get(), buffer.data(), want, static_cast<off_t>(start + done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return send(id, Failure{base::error_from_errno(errno, "read " + path)});
        done += static_cast<std::uint64_t>(got);
        auto fed = job.feed(std::string_view(buffer.data(), static_cast<std::size_t>(got)),
                            got == 0, sink);
        if (exit != Exit::keep_going)
            return exit;
        if (!fed)
            return send(id, Failure{fed.error()});
        if (*fed)
            break;
        if (got == 0)
            return send(id, Failure{base::Error{base::ErrorKind::fatal,
                                                "signature job did not finish", 0}});
    }
    return send(id, SignatureChunk{std::move(pending), false});
}

Exit AgentServer::handle_segment_hashes(std::uint32_t id, const SegmentHashes& request) {
    auto file = m_transport->open_file(request.path);
    if (!file)
        return send(id, Failure{file.error()});
    struct stat st {};
    if (::fstat(file->get(), &st) != 0)
        return send(id, Failure{base::error_from_errno(errno, "stat " + request.path)});
    SegmentHashChunk chunk;
    chunk.basis_size = static_cast<std::uint64_t>(st.st_size);
    std::vector<char> buffer(request.segment_size);
    for (std::uint64_t offset = 0; offset < chunk.basis_size;) {
        auto want = static_cast<std::size_t>(
            std::min<std::uint64_t>(request.segment_size, chunk.basis_size - offset));
        std::size_t have = 0;
        while (have < want) {
            ssize_t got = ::pread(file->get(), buffer.data() + have, want - have,
                                  static_cast<off_t>(offset + have));
            if (got < 0 && errno == EINTR)
                continue;
            if (got < 0)
                return send(id, Failure{base::error_from_errno(errno, "read " + request.path)});
            if (got == 0)
                break; // shrank: the client finds the segments past here missing
            have += static_cast<std::size_t>(got);
        }
        if (have == 0)
            break;
        chunk.hashes.push_back(segment_hash(std::string_view(buffer.data(), have)));
        offset += have;
        if (have < want)
            break;
        if (chunk.hashes.size() >= k_hashes_per_chunk) {
            chunk.more = true;
            if (auto sent = send(id, chunk); sent != Exit::keep_going)
                return sent;
            chunk.hashes.clear();
        }
    }
    chunk.more = false;
    return send(id, std::move(chunk));
}

Exit AgentServer::handle_hash(std::uint32_t id, const std::string& path) {
    auto file = m_transport->open_file(path);
    if (!file)
        return send(id, Failure{file.error()});
    auto digest = hash_file(file->get());
    if (!digest)
        return send(id, Failure{digest.error()});
    return send(id, HashValue{*digest});
}

Exit AgentServer::handle_read_file(std::uint32_t id, const ReadFile& read) {
    auto bytes = m_transport->read_small_file(read.path, read.max_bytes);
    if (!bytes)
        return send(id, Failure{bytes.error()});
    return send(id, FileBytes{std::move(*bytes)});
}

Exit AgentServer::handle_stat_file_system(std::uint32_t id) {
    auto info = m_transport->file_system();
    if (!info)
        return send(id, Failure{info.error()});
    if (m_services.is_mount_point) {
        auto mounted = m_services.is_mount_point(m_root);
        if (!mounted)
            return send(id, Failure{mounted.error()});
        info->root_mount = *mounted ? RootMount::yes : RootMount::no;
    }
    return send(id, FileSystemReply{*info});
}

// Runs in the agent's only thread: a large database holds up the session's other requests
// while it is read, which verify (the only caller) can afford.
Exit AgentServer::handle_inspect_database(std::uint32_t id, const InspectDatabase& inspect) {
    if (!m_services.inspect_database)
        return send(id, Failure{base::Error{base::ErrorKind::fatal,
                                            "this agent cannot read SQLite databases", ENOTSUP}});
    auto directory = m_transport->open_directory(base::parent_rel(inspect.path));
    if (!directory)
        return send(id, Failure{directory.error()});
    auto content = m_services.inspect_database(
        directory->get(), std::string(base::base_name(inspect.path)), inspect.integrity_check);
    if (!content)
        return send(id, Failure{content.error()});
    return send(id, DatabaseReply{std::move(*content)});
}

Exit AgentServer::fail_put(std::uint32_t id, base::Error error) {
    m_puts.erase(id); // removes the temporary file
    if (m_failed_puts.insert(id).second) {
        m_failed_order.push_back(id);
        if (m_failed_order.size() > k_max_failed_puts) {
            m_failed_puts.erase(m_failed_order.front());
            m_failed_order.pop_front();
        }
    }
    return send(id, Failure{std::move(error)});
}

Exit AgentServer::handle_put_begin(std::uint32_t id, const PutBegin& begin) {
    if (m_puts.contains(id) || m_failed_puts.contains(id))
        return fail_put(id, base::Error{base::ErrorKind::protocol,
                                        fmt::format("request id {} is already in use", id), 0});
    if (m_puts.size() >= k_max_open_puts)
        return fail_put(
            id,
            base::Error{base::ErrorKind::limit_reached,
                        fmt::format("more than {} files in transfer at once", k_max_open_puts), 0});
    if (begin.info.type != EntryType::file)
        return fail_put(id, base::Error{base::ErrorKind::protocol,
                                        "put of something that is not a regular file", 0});
    PutState put;
    put.info = begin.info;
    put.mode = begin.mode;
    put.durable = begin.durable;
    if (begin.mode != PutMode::whole) {
        auto basis = m_transport->open_file(begin.path);
        if (!basis) {
            auto error = basis.error();
            if (error.kind == base::ErrorKind::not_found)
                error.native_code = k_code_basis_missing;
            return fail_put(id, std::move(error));
        }
        put.basis = std::move(*basis);
        if (begin.mode == PutMode::delta)
            put.patch.emplace(RsyncJob::patch(put.basis.get()));
    }
    auto file = m_transport->begin_incoming(begin.path);
    if (!file)
        return fail_put(id, file.error());
    put.file.emplace(std::move(*file));
    m_puts.emplace(id, std::move(put));
    return Exit::keep_going;
}

base::Status AgentServer::write_to_put(PutState& put, std::string_view bytes) {
    put.hasher.update(bytes);
    // At an explicit offset: copied ranges (copy_file_range) do not move the file offset.
    while (!bytes.empty()) {
        ssize_t n =
            ::pwrite(put.file->fd(), bytes.data(), bytes.size(), static_cast<off_t>(put.written));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return base::fail_errno("write received file");
        }
        put.written += static_cast<std::uint64_t>(n);
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

Exit AgentServer::handle_put_data(std::uint32_t id, const std::string& bytes) {
    auto found = m_puts.find(id);
    if (found == m_puts.end())
        return Exit::keep_going; // a failed put (already answered), or a stray frame
    PutState& put = found->second;
    if (put.mode == PutMode::whole) {
        if (auto written = write_to_put(put, bytes); !written)
            return fail_put(id, written.error());
        return Exit::keep_going;
    }
    if (!put.patch)
        return fail_put(id, base::Error{base::ErrorKind::protocol,
                                        "put data outside a patch range of a segments put", 0});
    auto fed =
        put.patch->feed(bytes, false, [&](std::string_view out) { return write_to_put(put, out); });
    if (!fed)
        return fail_put(id, fed.error());
    // A patch range ends where its delta does; the next PutRange may follow.
    if (*fed && put.mode == PutMode::segments)
        put.patch.reset();
    return Exit::keep_going;
}

Exit AgentServer::handle_put_end(std::uint32_t id, const PutEnd& end) {
    auto found = m_puts.find(id);
    if (found == m_puts.end()) {
        if (m_failed_puts.erase(id) > 0)
            return Exit::keep_going; // already answered
        return send(id,
                    Failure{base::Error{base::ErrorKind::protocol,
                                        fmt::format("no transfer in progress for id {}", id), 0}});
    }
    PutState& put = found->second;
    if (put.patch) {
        auto fed =
            put.patch->feed({}, true, [&](std::string_view out) { return write_to_put(put, out); });
        if (!fed)
            return fail_put(id, fed.error());
        if (!*fed)
            return fail_put(id, base::Error{base::ErrorKind::protocol, "delta truncated", 0});
    }
    if (put.hasher.digest() != end.content_hash)
        return fail_put(id, base::Error{base::ErrorKind::protocol,
                                        "received content does not match the sender's hash",
                                        k_code_hash_mismatch});
    if (auto committed = m_transport->commit_incoming(*put.file, put.info, put.durable); !committed)
        return fail_put(id, committed.error());
    PutDone done{put.written, put.mode != PutMode::whole};
    m_puts.erase(found);
    m_failed_puts.erase(id);
    return send(id, done);
}

Exit AgentServer::handle_put_range(std::uint32_t id, const PutRange& range) {
    auto found = m_puts.find(id);
    if (found == m_puts.end())
        return Exit::keep_going; // a failed put (already answered), or a stray frame
    PutState& put = found->second;
    if (put.mode != PutMode::segments)
        return fail_put(
            id, base::Error{base::ErrorKind::protocol, "a put range outside a segments put", 0});
    if (put.patch)
        return fail_put(id, base::Error{base::ErrorKind::protocol,
                                        "a put range before the previous patch's delta ended", 0});
    if (range.kind == RangeKind::patch) {
        put.patch.emplace(RsyncJob::patch(put.basis.get(), range.offset, range.length));
        return Exit::keep_going;
    }
    if (auto copied = copy_basis_range(put, range.offset, range.length); !copied)
        return fail_put(id, copied.error());
    return Exit::keep_going;
}

base::Status AgentServer::copy_basis_range(PutState& put, std::uint64_t offset,
                                           std::uint64_t length) {
    const std::uint64_t at = put.written;
    auto copied = copy_range(put.basis.get(), offset, put.file->fd(), at, length);
    if (!copied)
        return std::unexpected(copied.error());
    if (*copied != length)
        // The basis is shorter than when it was hashed: the client sends the whole file.
        return base::fail(base::ErrorKind::not_found, "the file changed during the transfer",
                          k_code_basis_missing);
    // Hash what is now in the file, read back (from the page cache), so the content check
    // covers the copied ranges as well as the patched ones.
    std::vector<char> buffer(k_read_buffer);
    for (std::uint64_t done = 0; done < length;) {
        auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), length - done));
        ssize_t got = ::pread(put.file->fd(), buffer.data(), want, static_cast<off_t>(at + done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return base::fail_errno("read back the received file");
        if (got == 0)
            return base::fail(base::ErrorKind::fatal, "the received file is shorter than written");
        put.hasher.update(std::string_view(buffer.data(), static_cast<std::size_t>(got)));
        done += static_cast<std::uint64_t>(got);
    }
    put.written += length;
    return {};
}

Exit AgentServer::send(std::uint32_t id, ReplyBody body) {
    auto frame = encode(Reply{id, std::move(body)});
    if (auto written = write_all(m_out, frame, "write reply"); !written) {
        m_logger.error("agent: {}", written.error().message);
        return Exit::io_error;
    }
    return Exit::keep_going;
}

} // namespace

int serve_agent(int input_fd, int output_fd, const std::filesystem::path& root,
                std::string_view agent_version, const AgentServices& services,
                base::Logger& logger) {
    return AgentServer(input_fd, output_fd, root, agent_version, services, logger).run();
}

} // namespace fsmirror::transport
