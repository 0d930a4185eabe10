#include "transport/agent_transport.hpp"

#include "transport/content_hash.hpp"
#include "transport/rsync_delta.hpp"

#include <algorithm>
#include <cerrno>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include <unistd.h>

namespace fsmirror::transport {

namespace {

// The error for a reply of a type the request is not answered with: names both.
base::Error unexpected_reply(const char* request, const agent::ReplyBody& reply) {
    return base::Error{base::ErrorKind::protocol,
                       fmt::format("the agent answered a {} request with an unexpected {} reply",
                                   request, agent::reply_name(reply)),
                       0};
}

// Returns the `Reply` that `reply` holds. Fails with the transport's error, the agent's Failure,
// or a protocol error naming `request` and the reply that came instead.
template <typename Reply>
base::Result<Reply> expect_reply(base::Result<agent::ReplyBody> reply, const char* request) {
    if (!reply)
        return std::unexpected(reply.error());
    if (auto* failure = std::get_if<agent::Failure>(&*reply))
        return std::unexpected(failure->error);
    auto* wanted = std::get_if<Reply>(&*reply);
    if (wanted == nullptr)
        return std::unexpected(unexpected_reply(request, *reply));
    return std::move(*wanted);
}

// A chunk of a reply streamed about the basis (the target's old copy): as expect_reply, with a
// basis the agent cannot find marked k_code_basis_missing (the caller then sends whole).
template <typename Chunk>
base::Result<Chunk> expect_basis_chunk(base::Result<agent::ReplyBody> reply, const char* request) {
    if (auto* failure = reply ? std::get_if<agent::Failure>(&*reply) : nullptr) {
        auto error = failure->error;
        if (error.kind == base::ErrorKind::not_found)
            error.native_code = agent::k_code_basis_missing;
        return std::unexpected(error);
    }
    return expect_reply<Chunk>(std::move(reply), request);
}

// Sends `request` as a call of its own and returns its one reply, which must be a `Reply`
// (failures as expect_reply's).
template <typename Reply>
base::Result<Reply> request_reply(AgentClient& client, agent::RequestBody request) {
    const char* name = agent::request_name(request);
    return expect_reply<Reply>(client.request(std::move(request)), name);
}

// Reads `size` bytes at `offset` of `fd`, retrying on EINTR. Returns the bytes read (fewer at
// the end of the file).
base::Result<std::size_t> read_at(int fd, char* buffer, std::size_t size, off_t offset) {
    for (;;) {
        ssize_t got = ::pread(fd, buffer, size, offset);
        if (got >= 0)
            return static_cast<std::size_t>(got);
        if (errno != EINTR)
            return base::fail_errno("read source file");
    }
}

// Ends a put with the content hash and waits for the agent's verdict: `result` once it renamed
// the file into place, its failure (e.g. a hash mismatch) otherwise.
base::Result<PutResult> finish_put(AgentClient::Call& call, const agent::Digest& digest,
                                   PutResult result) {
    if (auto sent = call.send(agent::PutEnd{digest}); !sent)
        return std::unexpected(sent.error());
    if (auto done = expect_reply<agent::PutDone>(call.next(), "put"); !done)
        return std::unexpected(done.error());
    return result;
}

// The agent's early answer to a put still being sent: its failure, or a protocol error.
base::Error early_answer(agent::ReplyBody reply) {
    if (auto* failure = std::get_if<agent::Failure>(&reply))
        return failure->error;
    return unexpected_reply("put", reply);
}

// Abandons the agent's side of a put that ends early on this side (a source read error), so
// its temporary file does not wait for the end of the session.
class PutGuard {
public:
    explicit PutGuard(AgentClient::Call& call) : m_call(call) {}
    ~PutGuard() {
        if (m_open) [[maybe_unused]]
            auto sent = m_call.send(agent::PutAbort{});
    }
    PutGuard(const PutGuard&) = delete;
    PutGuard& operator=(const PutGuard&) = delete;

    // The put ended: PutEnd was sent, or the agent already answered.
    void close() { m_open = false; }

private:
    AgentClient::Call& m_call;
    bool m_open = true;
};

// True when the agent must fsync this file and its directory before answering.
bool is_durable(const SourceFile& source) {
    return source.safety == FileSafety::atomic_and_durable;
}

// The entry a stat request was answered with.
base::Result<std::optional<EntryInfo>> entry_of(base::Result<agent::ReplyBody> reply) {
    auto entry = expect_reply<agent::EntryReply>(std::move(reply), "stat");
    if (!entry)
        return std::unexpected(entry.error());
    return std::move(entry->info);
}

// Returns the loaded signature the agent streams in answer to `request` (Signature for the
// whole remote file, RangeSignature for one range of it).
base::Result<DeltaSource> fetch_signature(AgentClient& client, agent::RequestBody request) {
    DeltaSource signature;
    auto call = client.call();
    if (auto sent = call.send(std::move(request)); !sent)
        return std::unexpected(sent.error());
    for (;;) {
        auto chunk = expect_basis_chunk<agent::SignatureChunk>(call.next(), "signature");
        if (!chunk)
            return std::unexpected(chunk.error());
        if (auto loaded = signature.load(chunk->bytes, !chunk->more); !loaded)
            return std::unexpected(loaded.error());
        if (!chunk->more)
            return signature;
    }
}

} // namespace

AgentTransport::AgentTransport(std::unique_ptr<AgentClient> client, std::string description)
    : m_client(std::move(client)), m_description(std::move(description)) {}

std::string AgentTransport::mode() const {
    return fmt::format("fsmirror agent {} (protocol {}), librsync deltas",
                       m_client->hello().agent_version, m_client->hello().version);
}

std::optional<base::Error> AgentTransport::too_old_for(std::uint32_t version,
                                                       const std::string& what) const {
    const auto& hello = m_client->hello();
    if (hello.version >= version)
        return std::nullopt;
    return base::Error{base::ErrorKind::fatal,
                       fmt::format("{} cannot {}: the fsmirror agent there ({}) speaks protocol "
                                   "{}, this needs {}; upgrade fsmirror on the remote",
                                   m_description, what, hello.agent_version, hello.version,
                                   version),
                       ENOTSUP};
}

base::Status AgentTransport::simple(agent::RequestBody body) {
    if (auto done = request_reply<agent::Done>(*m_client, std::move(body)); !done)
        return std::unexpected(done.error());
    return {};
}

base::Status AgentTransport::check_root() {
    return simple(agent::CheckRoot{});
}

base::Result<std::optional<EntryInfo>> AgentTransport::stat(std::string_view path) {
    return entry_of(m_client->request(agent::Stat{std::string(path)}));
}

std::vector<base::Result<std::optional<EntryInfo>>>
AgentTransport::stat_many(const std::vector<std::string>& paths) {
    std::vector<base::Result<std::optional<EntryInfo>>> results;
    results.reserve(paths.size());
    // Bounded rounds keep the replies waiting in memory small for a huge batch; within a round
    // every request is on its way before the first reply is awaited.
    for (std::size_t first = 0; first < paths.size(); first += k_stats_per_round) {
        const std::size_t last = std::min(paths.size(), first + k_stats_per_round);
        std::vector<AgentClient::Call> calls;
        std::vector<base::Status> sent;
        calls.reserve(last - first);
        sent.reserve(last - first);
        for (std::size_t i = first; i < last; ++i) {
            calls.push_back(m_client->call());
            sent.push_back(calls.back().send(agent::Stat{paths[i]}));
        }
        for (std::size_t i = 0; i < calls.size(); ++i) {
            if (!sent[i]) {
                results.push_back(std::unexpected(sent[i].error()));
                continue;
            }
            results.push_back(entry_of(calls[i].next()));
        }
    }
    return results;
}

base::Result<std::vector<DirEntry>> AgentTransport::list_directory(std::string_view path) {
    auto call = m_client->call();
    if (auto sent = call.send(agent::List{std::string(path)}); !sent)
        return std::unexpected(sent.error());
    std::vector<DirEntry> entries;
    for (;;) {
        auto part = expect_reply<agent::Entries>(call.next(), "list");
        if (!part)
            return std::unexpected(part.error());
        for (auto& entry : part->entries)
            entries.push_back(std::move(entry));
        if (!part->more)
            return entries;
    }
}

base::Status AgentTransport::make_directory(std::string_view path, const EntryInfo& info) {
    return simple(agent::MakeDirectory{std::string(path), info});
}

base::Status AgentTransport::put_symlink(std::string_view path, const EntryInfo& info) {
    return simple(agent::PutSymlink{std::string(path), info});
}

base::Status AgentTransport::rename(std::string_view from, std::string_view to) {
    return simple(agent::Rename{std::string(from), std::string(to)});
}

base::Status AgentTransport::remove(std::string_view path) {
    return simple(agent::Remove{std::string(path)});
}

base::Status AgentTransport::set_attributes(std::string_view path, const EntryInfo& info) {
    return simple(agent::SetAttributes{std::string(path), info});
}

base::Status AgentTransport::flush() {
    return simple(agent::Flush{});
}

base::Result<ContentDigest> AgentTransport::hash_file(std::string_view path) {
    auto value = request_reply<agent::HashValue>(*m_client, agent::Hash{std::string(path)});
    if (!value)
        return std::unexpected(value.error());
    return value->digest;
}

base::Result<std::string> AgentTransport::read_small_file(std::string_view path,
                                                          std::size_t max_bytes) {
    if (auto old = too_old_for(3, "read /" + std::string(path)))
        return std::unexpected(*old);
    if (max_bytes > agent::k_max_read_file)
        return base::fail(base::ErrorKind::limit_reached,
                          fmt::format("the agent reads files of at most {} bytes, not {}",
                                      agent::k_max_read_file, max_bytes));
    auto bytes = request_reply<agent::FileBytes>(
        *m_client, agent::ReadFile{std::string(path), static_cast<std::uint32_t>(max_bytes)});
    if (!bytes)
        return std::unexpected(bytes.error());
    return std::move(bytes->bytes);
}

base::Result<FileSystemInfo> AgentTransport::file_system() {
    if (auto old = too_old_for(3, "read its file system's free space and mount point"))
        return std::unexpected(*old);
    auto answer = request_reply<agent::FileSystemReply>(*m_client, agent::StatFileSystem{});
    if (!answer)
        return std::unexpected(answer.error());
    return answer->info;
}

base::Result<DatabaseDigest> AgentTransport::inspect_database(std::string_view path,
                                                              bool integrity_check) {
    if (auto old = too_old_for(3, "read SQLite databases such as /" + std::string(path)))
        return std::unexpected(*old);
    auto answer = request_reply<agent::DatabaseReply>(
        *m_client, agent::InspectDatabase{std::string(path), integrity_check});
    if (!answer)
        return std::unexpected(answer.error());
    return std::move(answer->content);
}

base::Result<PutResult> AgentTransport::put_file(std::string_view path, const SourceFile& source,
                                                 const std::optional<EntryInfo>& existing) {
    if (existing && existing->type == EntryType::file && existing->size >= k_delta_threshold) {
        // Segments need protocol 3; an older agent gets one delta of the whole file.
        auto sent =
            m_client->hello().version >= 3 ? put_segments(path, source) : put_delta(path, source);
        if (sent)
            return sent;
        // The remote copy vanished or changed under the delta: send the whole file.
        int code = sent.error().native_code;
        if (code != agent::k_code_basis_missing && code != agent::k_code_hash_mismatch)
            return sent;
    }
    return put_whole(path, source);
}

base::Result<PutResult> AgentTransport::put_whole(std::string_view path, const SourceFile& source) {
    auto call = m_client->call();
    if (auto sent = call.send(agent::PutBegin{std::string(path), source.info, agent::PutMode::whole,
                                              is_durable(source)});
        !sent)
        return std::unexpected(sent.error());
    PutGuard guard(call);
    ContentHasher hasher;
    std::string buffer(agent::k_chunk_size, '\0');
    std::uint64_t total = 0;
    for (;;) {
        auto got = read_at(source.fd, buffer.data(), buffer.size(), static_cast<off_t>(total));
        if (!got)
            return std::unexpected(got.error()); // the call's destructor drops the agent's put
        if (*got == 0)
            break;
        std::string_view bytes(buffer.data(), *got);
        hasher.update(bytes);
        total += *got;
        if (auto sent = call.send(agent::PutData{std::string(bytes)}); !sent)
            return std::unexpected(sent.error());
        if (auto early = call.poll()) {
            guard.close();
            return std::unexpected(early_answer(std::move(*early)));
        }
    }
    guard.close();
    return finish_put(call, hasher.digest(), PutResult{total, false});
}

base::Result<PutResult> AgentTransport::put_delta(std::string_view path, const SourceFile& source) {
    // The signature of the remote copy.
    auto fetched = fetch_signature(*m_client, agent::Signature{std::string(path)});
    if (!fetched)
        return std::unexpected(fetched.error());
    DeltaSource signature = std::move(*fetched);
    auto job = signature.delta_job();
    if (!job)
        return std::unexpected(job.error());

    // The delta of the source against it, streamed as it is computed.
    auto call = m_client->call();
    if (auto sent = call.send(agent::PutBegin{std::string(path), source.info, agent::PutMode::delta,
                                              is_durable(source)});
        !sent)
        return std::unexpected(sent.error());
    PutGuard guard(call);
    std::string pending;
    std::uint64_t delta_bytes = 0;
    auto flush_pending = [&]() -> base::Status {
        delta_bytes += pending.size();
        auto sent = call.send(agent::PutData{std::move(pending)});
        pending.clear();
        return sent;
    };
    auto sink = [&](std::string_view bytes) -> base::Status {
        pending.append(bytes);
        if (pending.size() >= agent::k_chunk_size)
            return flush_pending();
        return {};
    };
    ContentHasher hasher;
    std::string buffer(agent::k_chunk_size, '\0');
    std::uint64_t offset = 0;
    for (bool done = false; !done;) {
        auto got = read_at(source.fd, buffer.data(), buffer.size(), static_cast<off_t>(offset));
        if (!got)
            return std::unexpected(got.error());
        std::string_view bytes(buffer.data(), *got);
        hasher.update(bytes);
        offset += *got;
        auto fed = job->feed(bytes, *got == 0, sink);
        if (!fed)
            return std::unexpected(fed.error());
        done = *fed;
        if (*got == 0 && !done)
            return base::fail(base::ErrorKind::fatal, "librsync delta did not finish");
        if (auto early = call.poll()) {
            guard.close();
            return std::unexpected(early_answer(std::move(*early)));
        }
    }
    if (!pending.empty()) {
        if (auto sent = flush_pending(); !sent)
            return std::unexpected(sent.error());
    }
    guard.close();
    return finish_put(call, hasher.digest(), PutResult{delta_bytes, true});
}

namespace {

// The remote's segment hashes, as they arrive.
struct RemoteHashes {
    AgentClient::Call& call;
    std::vector<std::uint64_t> hashes;
    std::uint64_t basis_size = 0;
    bool done = false;

    // Returns the basis's hash of segment `index`, nullopt past its end; waits for it to come.
    base::Result<std::optional<std::uint64_t>> at(std::size_t index) {
        while (index >= hashes.size() && !done) {
            auto chunk = expect_basis_chunk<agent::SegmentHashChunk>(call.next(), "segment hashes");
            if (!chunk)
                return std::unexpected(chunk.error());
            basis_size = chunk->basis_size;
            hashes.insert(hashes.end(), chunk->hashes.begin(), chunk->hashes.end());
            done = !chunk->more;
        }
        if (index < hashes.size())
            return hashes[index];
        return std::optional<std::uint64_t>{};
    }
};

// Reads up to `size` bytes at `offset`, fewer only at the end of the file.
base::Result<std::size_t> read_full_at(int fd, char* buffer, std::size_t size, off_t offset) {
    std::size_t have = 0;
    while (have < size) {
        auto got = read_at(fd, buffer + have, size - have, offset + static_cast<off_t>(have));
        if (!got)
            return std::unexpected(got.error());
        if (*got == 0)
            break;
        have += *got;
    }
    return have;
}

} // namespace

base::Result<PutResult> AgentTransport::put_segments(std::string_view path,
                                                     const SourceFile& source) {
    // Segments are compared by hash at the same offsets first (both ends hash their file at
    // once, the agent streaming its hashes), so a change in place costs a few bytes per
    // segment on the wire; only runs of differing segments get a librsync signature, of their
    // own range, and a delta. The unchanged ranges are copied by the agent in its kernel.
    const bool compare = source.info.size >= 2 * k_segment_size;
    auto hashes_call = m_client->call();
    if (compare) {
        if (auto sent = hashes_call.send(agent::SegmentHashes{std::string(path), k_segment_size});
            !sent)
            return std::unexpected(sent.error());
    }
    RemoteHashes remote{hashes_call, {}, 0, !compare};

    auto call = m_client->call();
    if (auto sent = call.send(agent::PutBegin{std::string(path), source.info,
                                              agent::PutMode::segments, is_durable(source)});
        !sent)
        return std::unexpected(sent.error());
    PutGuard guard(call);
    std::uint64_t sent_bytes = 0;
    std::string buffer(std::max<std::size_t>(k_segment_size, agent::k_chunk_size), '\0');

    // Sends the delta of the source's [start, end) against the remote's range [start, start +
    // basis_length).
    auto send_run = [&](std::uint64_t start, std::uint64_t end,
                        std::uint64_t basis_length) -> base::Status {
        auto signature = fetch_signature(
            *m_client, agent::RangeSignature{std::string(path), start, basis_length});
        if (!signature)
            return std::unexpected(signature.error());
        auto job = signature->delta_job();
        if (!job)
            return std::unexpected(job.error());
        if (auto sent = call.send(agent::PutRange{agent::RangeKind::patch, start, basis_length});
            !sent)
            return sent;
        std::string pending;
        auto flush_pending = [&]() -> base::Status {
            sent_bytes += pending.size();
            auto sent = call.send(agent::PutData{std::move(pending)});
            pending.clear();
            return sent;
        };
        auto sink = [&](std::string_view bytes) -> base::Status {
            pending.append(bytes);
            if (pending.size() >= agent::k_chunk_size)
                return flush_pending();
            return {};
        };
        for (std::uint64_t offset = start;;) {
            auto want = static_cast<std::size_t>(
                std::min<std::uint64_t>(agent::k_chunk_size, end - offset));
            auto got = read_full_at(source.fd, buffer.data(), want, static_cast<off_t>(offset));
            if (!got)
                return std::unexpected(got.error());
            if (*got < want)
                return base::fail(base::ErrorKind::not_found, "the file shrank while sent");
            offset += *got;
            auto fed = job->feed(std::string_view(buffer.data(), *got), offset == end, sink);
            if (!fed)
                return std::unexpected(fed.error());
            if (*fed)
                break;
            if (offset == end)
                return base::fail(base::ErrorKind::fatal, "librsync delta did not finish");
        }
        if (!pending.empty())
            return flush_pending();
        return {};
    };

    ContentHasher hasher;
    std::uint64_t offset = 0;
    std::uint64_t copy_start = 0;
    std::uint64_t copy_length = 0;
    bool in_run = false; // segments from run_start on differ
    std::uint64_t run_start = 0;
    auto send_copy = [&]() -> base::Status {
        if (copy_length == 0)
            return {};
        auto sent = call.send(agent::PutRange{agent::RangeKind::copy, copy_start, copy_length});
        copy_length = 0;
        return sent;
    };
    for (std::size_t index = 0;; ++index) {
        auto got =
            read_full_at(source.fd, buffer.data(), k_segment_size, static_cast<off_t>(offset));
        if (!got)
            return std::unexpected(got.error());
        if (*got == 0)
            break;
        std::string_view bytes(buffer.data(), *got);
        hasher.update(bytes);
        bool same = false;
        if (compare) {
            auto theirs = remote.at(index);
            if (!theirs)
                return std::unexpected(theirs.error());
            // A segment matches only at the same length: the basis's last one may be shorter.
            same = *theirs && **theirs == segment_hash(bytes) &&
                   remote.basis_size >= offset + *got &&
                   (*got == k_segment_size || remote.basis_size == offset + *got);
        }
        if (same) {
            if (in_run) {
                // The run's delta is computed from a second read of its bytes; a change in
                // between makes the agent's content hash differ, and the file goes whole.
                if (auto sent = send_run(run_start, offset, offset - run_start); !sent)
                    return std::unexpected(sent.error());
                in_run = false;
            }
            if (copy_length == 0)
                copy_start = offset;
            copy_length += *got;
        } else {
            if (auto sent = send_copy(); !sent)
                return std::unexpected(sent.error());
            if (!in_run)
                run_start = offset;
            in_run = true;
        }
        offset += *got;
        if (auto early = call.poll()) {
            guard.close();
            return std::unexpected(early_answer(std::move(*early)));
        }
        if (*got < k_segment_size)
            break;
    }
    // A run reaching the end takes the rest of the basis, however long it is now.
    if (in_run) {
        if (auto sent = send_run(run_start, offset, UINT64_MAX); !sent)
            return std::unexpected(sent.error());
    }
    if (auto sent = send_copy(); !sent)
        return std::unexpected(sent.error());
    guard.close();
    return finish_put(call, hasher.digest(), PutResult{sent_bytes, true});
}

} // namespace fsmirror::transport
