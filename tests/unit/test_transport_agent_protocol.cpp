#include "transport/agent_protocol.hpp"

#include <string>

#include <catch2/catch.hpp>

using namespace fsmirror;
using namespace fsmirror::transport;
using namespace fsmirror::transport::agent;

namespace {

EntryInfo sample_file() {
    EntryInfo info;
    info.type = EntryType::file;
    info.size = 123456789;
    info.mtime_ns = -1'500'000'001; // before the epoch: signed round trip
    info.mode = 04755;
    info.uid = 1000;
    info.gid = 4294967295u;
    return info;
}

EntryInfo sample_link() {
    EntryInfo info;
    info.type = EntryType::symlink;
    info.size = 5;
    info.mtime_ns = 1'700'000'000'123'456'789;
    info.mode = 0777;
    info.link_target = "../x y";
    return info;
}

bool same(const EntryInfo& a, const EntryInfo& b) {
    return a.type == b.type && a.size == b.size && a.mtime_ns == b.mtime_ns && a.mode == b.mode &&
           a.uid == b.uid && a.gid == b.gid && a.link_target == b.link_target;
}

// The payload of an encoded frame (without its length prefix).
std::string payload_of(const std::string& frame) {
    REQUIRE(frame.size() >= 4);
    return frame.substr(4);
}

Request round_trip(const Request& request) {
    auto decoded = decode_request(payload_of(encode(request)));
    INFO((decoded ? "" : decoded.error().message));
    REQUIRE(decoded);
    CHECK(decoded->id == request.id);
    CHECK(decoded->body.index() == request.body.index());
    return *decoded;
}

Reply round_trip(const Reply& reply) {
    auto decoded = decode_reply(payload_of(encode(reply)));
    INFO((decoded ? "" : decoded.error().message));
    REQUIRE(decoded);
    CHECK(decoded->id == reply.id);
    CHECK(decoded->body.index() == reply.body.index());
    return *decoded;
}

// A request payload built by hand: type, id, then raw field bytes.
std::string raw_request(std::uint8_t type, std::uint32_t id, const std::string& fields) {
    std::string payload(1, static_cast<char>(type));
    for (int shift = 24; shift >= 0; shift -= 8)
        payload += static_cast<char>(id >> shift);
    return payload + fields;
}

std::string u32(std::uint32_t v) {
    std::string out;
    for (int shift = 24; shift >= 0; shift -= 8)
        out += static_cast<char>(v >> shift);
    return out;
}

constexpr std::uint8_t k_stat_type = 3; // 1 + index of Stat in RequestBody

} // namespace

TEST_CASE("every request survives an encode/decode round trip", "[transport][agent_protocol]") {
    Hello hello;
    hello.attributes = AttributePolicy{true, false, true};
    hello.durability = Durability::none;
    auto decoded_hello = round_trip(Request{0, hello});
    const auto& h = std::get<Hello>(decoded_hello.body);
    CHECK(h.attributes.mode);
    CHECK_FALSE(h.attributes.times);
    CHECK(h.attributes.owner);
    CHECK(h.durability == Durability::none);

    CHECK(std::get<Stat>(round_trip(Request{7, Stat{"a/b c"}}).body).path == "a/b c");
    CHECK(std::get<List>(round_trip(Request{8, List{""}}).body).path.empty());
    auto mkdir =
        std::get<MakeDirectory>(round_trip(Request{9, MakeDirectory{"d", sample_file()}}).body);
    CHECK(same(mkdir.info, sample_file()));
    auto link = std::get<PutSymlink>(round_trip(Request{10, PutSymlink{"l", sample_link()}}).body);
    CHECK(same(link.info, sample_link()));
    auto rename = std::get<Rename>(round_trip(Request{11, Rename{"a", "b/c"}}).body);
    CHECK(rename.from == "a");
    CHECK(rename.to == "b/c");
    round_trip(Request{12, Remove{"x"}});
    round_trip(Request{13, SetAttributes{"", sample_file()}});
    round_trip(Request{14, Flush{}});
    round_trip(Request{15, CheckRoot{}});
    round_trip(Request{16, Signature{"big"}});
    auto begin = std::get<PutBegin>(
        round_trip(Request{17, PutBegin{"f", sample_file(), PutMode::delta, true}}).body);
    CHECK(begin.mode == PutMode::delta);
    CHECK(begin.durable);
    std::string binary("\0\x01\xff data", 8);
    CHECK(std::get<PutData>(round_trip(Request{17, PutData{binary}}).body).bytes == binary);
    Digest digest{};
    digest[0] = 0xab;
    digest[15] = 0xcd;
    CHECK(std::get<PutEnd>(round_trip(Request{17, PutEnd{digest}}).body).content_hash == digest);
    round_trip(Request{18, Hash{"f"}});
    round_trip(Request{19, Ping{}});
    round_trip(Request{0xffffffffu, PutAbort{}});

    auto ranged = std::get<RangeSignature>(
        round_trip(Request{20, RangeSignature{"big", 1u << 20, 4096}}).body);
    CHECK(ranged.path == "big");
    CHECK(ranged.offset == 1u << 20);
    CHECK(ranged.length == 4096);
    auto hashes =
        std::get<SegmentHashes>(round_trip(Request{21, SegmentHashes{"big", 1u << 20}}).body);
    CHECK(hashes.path == "big");
    CHECK(hashes.segment_size == 1u << 20);
    auto range =
        std::get<PutRange>(round_trip(Request{22, PutRange{RangeKind::patch, 7, 1ull << 33}}).body);
    CHECK(range.kind == RangeKind::patch);
    CHECK(range.offset == 7);
    CHECK(range.length == 1ull << 33);
    CHECK(std::get<PutBegin>(
              round_trip(Request{22, PutBegin{"f", sample_file(), PutMode::segments}}).body)
              .mode == PutMode::segments);
    auto read = std::get<ReadFile>(round_trip(Request{20, ReadFile{".fsmirror", 4096}}).body);
    CHECK(read.path == ".fsmirror");
    CHECK(read.max_bytes == 4096);
    round_trip(Request{21, StatFileSystem{}});
    auto inspect =
        std::get<InspectDatabase>(round_trip(Request{22, InspectDatabase{"d/app.db", true}}).body);
    CHECK(inspect.path == "d/app.db");
    CHECK(inspect.integrity_check);
}

TEST_CASE("segment requests with a size or kind out of range are refused",
          "[transport][agent_protocol]") {
    CHECK_FALSE(decode_request(payload_of(encode(Request{1, SegmentHashes{"f", 4096}}))));
    CHECK_FALSE(decode_request(payload_of(encode(Request{1, SegmentHashes{"f", 1ull << 40}}))));
    auto range = payload_of(encode(Request{1, PutRange{RangeKind::copy, 0, 1}}));
    range[5] = 7; // the kind byte, after the type and the id
    auto bad_kind = decode_request(range);
    REQUIRE_FALSE(bad_kind);
    CHECK(bad_kind.error().message.find("unknown kind") != std::string::npos);
}

TEST_CASE("every reply survives an encode/decode round trip", "[transport][agent_protocol]") {
    CHECK(std::get<HelloReply>(round_trip(Reply{0, HelloReply{1, "0.1.0"}}).body).agent_version ==
          "0.1.0");
    auto failure = std::get<Failure>(
        round_trip(Reply{3, Failure{base::Error{base::ErrorKind::no_space, "full", 28}}}).body);
    CHECK(failure.error.kind == base::ErrorKind::no_space);
    CHECK(failure.error.native_code == 28);
    CHECK(failure.error.message == "full");
    round_trip(Reply{4, Done{}});
    CHECK_FALSE(std::get<EntryReply>(round_trip(Reply{5, EntryReply{}}).body).info);
    CHECK(same(*std::get<EntryReply>(round_trip(Reply{5, EntryReply{sample_file()}}).body).info,
               sample_file()));
    Entries entries{{DirEntry{"a", sample_file()}, DirEntry{"l", sample_link()}}, true};
    auto listed = std::get<Entries>(round_trip(Reply{6, entries}).body);
    REQUIRE(listed.entries.size() == 2);
    CHECK(listed.more);
    CHECK(same(listed.entries[1].info, sample_link()));
    CHECK(std::get<SignatureChunk>(round_trip(Reply{7, SignatureChunk{"sig", false}}).body).bytes ==
          "sig");
    auto done = std::get<PutDone>(round_trip(Reply{8, PutDone{1ull << 40, true}}).body);
    CHECK(done.bytes_written == 1ull << 40);
    CHECK(done.delta);
    round_trip(Reply{9, HashValue{}});
    round_trip(Reply{10, Pong{}});
    auto chunk = std::get<SegmentHashChunk>(
        round_trip(Reply{11, SegmentHashChunk{1ull << 35, {1, 0xffffffffffffffffull}, true}}).body);
    CHECK(chunk.basis_size == 1ull << 35);
    CHECK(chunk.hashes == std::vector<std::uint64_t>{1, 0xffffffffffffffffull});
    CHECK(chunk.more);
    CHECK_FALSE(is_final(chunk));
    CHECK(is_final(SegmentHashChunk{0, {}, false}));
    CHECK(std::get<FileBytes>(round_trip(Reply{11, FileBytes{"source=/srv\n"}}).body).bytes ==
          "source=/srv\n");
    FileSystemInfo info;
    info.space = FileSystemSpace{1ull << 42, 12345, false};
    info.root_mount = RootMount::yes;
    auto fs_reply = std::get<FileSystemReply>(round_trip(Reply{12, FileSystemReply{info}}).body);
    CHECK(fs_reply.info.space.bytes_free == 1ull << 42);
    CHECK(fs_reply.info.space.inodes_free == 12345);
    CHECK_FALSE(fs_reply.info.space.inodes_known);
    CHECK(fs_reply.info.root_mount == RootMount::yes);
    auto database = std::get<DatabaseReply>(
        round_trip(Reply{13, DatabaseReply{DatabaseDigest{"sqlite:00ff", "ok"}}}).body);
    CHECK(database.content.digest == "sqlite:00ff");
    CHECK(database.content.integrity == std::optional<std::string>("ok"));
    CHECK_FALSE(
        std::get<DatabaseReply>(
            round_trip(Reply{14, DatabaseReply{DatabaseDigest{"sqlite:00", std::nullopt}}}).body)
            .content.integrity);
}

TEST_CASE("a read request above the agent's limit is refused", "[transport][agent_protocol]") {
    constexpr std::uint8_t k_read_type = 21; // 1 + index of ReadFile in RequestBody
    std::string path = ".fsmirror";
    auto decoded = decode_request(raw_request(
        k_read_type, 5, u32(static_cast<std::uint32_t>(path.size())) + path + u32(1u << 20)));
    REQUIRE_FALSE(decoded);
    CHECK_THAT(decoded.error().message, Catch::Contains("max_bytes"));
    CHECK(decode_request(
        raw_request(k_read_type, 5,
                    u32(static_cast<std::uint32_t>(path.size())) + path + u32(k_max_read_file))));
}

TEST_CASE("is_final marks the last reply of a stream", "[transport][agent_protocol]") {
    CHECK(is_final(Done{}));
    CHECK_FALSE(is_final(Entries{{}, true}));
    CHECK(is_final(Entries{{}, false}));
    CHECK_FALSE(is_final(SignatureChunk{"", true}));
}

TEST_CASE("request and reply names say which type a message is", "[transport][agent_protocol]") {
    CHECK(std::string(request_name(Stat{"a"})) == "stat");
    CHECK(std::string(request_name(StatFileSystem{})) == "statvfs");
    CHECK(std::string(reply_name(Done{})) == "done");
    CHECK(std::string(reply_name(EntryReply{})) == "entry");
    CHECK(std::string(reply_name(Failure{})) == "failure");
    CHECK(std::string(reply_name(DatabaseReply{})) == "database");
}

TEST_CASE("unsafe paths are refused by the decoder", "[transport][agent_protocol]") {
    for (const char* path :
         {"../etc/passwd", "/etc/passwd", "a/../../b", "a//b", "a/./b", "a/", ".", ".."}) {
        INFO(path);
        auto decoded = decode_request(payload_of(encode(Request{1, Stat{path}})));
        REQUIRE_FALSE(decoded);
        CHECK(decoded.error().kind == base::ErrorKind::protocol);
    }
    std::string with_nul("a\0b", 3);
    CHECK_FALSE(decode_request(payload_of(encode(Request{1, Stat{with_nul}}))));
    // The root is valid where a directory is meant, never for a file or a rename.
    CHECK(decode_request(payload_of(encode(Request{1, Stat{""}}))));
    CHECK_FALSE(decode_request(payload_of(encode(Request{1, Remove{""}}))));
    CHECK_FALSE(decode_request(payload_of(encode(Request{1, Rename{"a", ""}}))));
    CHECK_FALSE(decode_request(
        payload_of(encode(Request{1, PutBegin{"", sample_file(), PutMode::whole}}))));
    CHECK_FALSE(decode_request(payload_of(encode(Request{1, Stat{std::string(5000, 'a')}}))));
}

TEST_CASE("malformed fields are refused, never trusted", "[transport][agent_protocol]") {
    SECTION("truncated anywhere") {
        auto payload =
            payload_of(encode(Request{1, PutBegin{"dir/f", sample_file(), PutMode::delta}}));
        for (std::size_t cut = 0; cut < payload.size(); ++cut) {
            INFO("cut at " << cut);
            CHECK_FALSE(decode_request(payload.substr(0, cut)));
        }
        auto reply = payload_of(encode(Reply{2, Entries{{DirEntry{"a", sample_link()}}, false}}));
        for (std::size_t cut = 0; cut < reply.size(); ++cut)
            CHECK_FALSE(decode_reply(reply.substr(0, cut)));
    }
    SECTION("trailing bytes") {
        CHECK_FALSE(decode_request(payload_of(encode(Request{1, Ping{}})) + "x"));
    }
    SECTION("a string length beyond the message") {
        auto decoded = decode_request(raw_request(k_stat_type, 1, u32(0x7fffffff) + "abc"));
        REQUIRE_FALSE(decoded);
        CHECK(decoded.error().message.find("more than") != std::string::npos);
        CHECK_FALSE(decode_request(raw_request(k_stat_type, 1, u32(10) + "abc")));
    }
    SECTION("unknown types and enum values") {
        CHECK_FALSE(decode_request(raw_request(0, 1, "")));
        CHECK_FALSE(decode_request(raw_request(200, 1, "")));
        CHECK_FALSE(decode_reply(raw_request(1, 1, "")));
        auto frame = payload_of(encode(Request{1, MakeDirectory{"d", sample_file()}}));
        frame[5 + 4 + 1] = 9; // entry type
        CHECK_FALSE(decode_request(frame));
        auto put = payload_of(encode(Request{1, PutBegin{"f", sample_file(), PutMode::whole}}));
        put[put.size() - 2] = 7; // put mode
        CHECK_FALSE(decode_request(put));
        put = payload_of(encode(Request{1, PutBegin{"f", sample_file(), PutMode::whole}}));
        put.back() = 2; // durability
        CHECK_FALSE(decode_request(put));
    }
    SECTION("mode bits beyond 07777 and inconsistent link targets") {
        auto info = sample_file();
        info.mode = 0170777;
        CHECK_FALSE(decode_request(payload_of(encode(Request{1, SetAttributes{"f", info}}))));
        info = sample_file();
        info.link_target = "x";
        CHECK_FALSE(decode_request(payload_of(encode(Request{1, SetAttributes{"f", info}}))));
        info = sample_link();
        info.link_target.clear();
        CHECK_FALSE(decode_request(payload_of(encode(Request{1, PutSymlink{"l", info}}))));
        CHECK_FALSE(decode_request(payload_of(encode(Request{1, PutSymlink{"l", sample_file()}}))));
    }
    SECTION("a hello from something else") {
        auto payload = payload_of(encode(Request{0, Hello{}}));
        payload[5] = 'X';
        CHECK_FALSE(decode_request(payload));
        Hello backwards;
        backwards.min_version = 3;
        backwards.max_version = 2;
        CHECK_FALSE(decode_request(payload_of(encode(Request{0, backwards}))));
    }
    SECTION("an entry count that cannot fit") {
        std::string fields = u32(0xffffffffu) + std::string(1, '\0');
        std::string payload(1, static_cast<char>(64 + 4)); // Entries
        payload += u32(3) + fields;
        auto decoded = decode_reply(payload);
        REQUIRE_FALSE(decoded);
        CHECK(decoded.error().message.find("cannot fit") != std::string::npos);
    }
    SECTION("entry names with a slash or dot-dot") {
        for (const char* name : {"a/b", "..", ".", ""}) {
            auto payload =
                payload_of(encode(Reply{1, Entries{{DirEntry{name, sample_file()}}, false}}));
            CHECK_FALSE(decode_reply(payload));
        }
    }
}

TEST_CASE("FrameReader splits a stream and refuses absurd lengths", "[transport][agent_protocol]") {
    FrameReader reader;
    std::string stream = encode(Request{1, Stat{"a"}}) + encode(Request{2, Ping{}});
    // Byte by byte: frames come out whole and in order.
    std::vector<std::string> payloads;
    for (char c : stream) {
        reader.feed(std::string_view(&c, 1));
        for (;;) {
            auto next = reader.next();
            REQUIRE(next);
            if (!*next)
                break;
            payloads.push_back(**next);
        }
    }
    REQUIRE(payloads.size() == 2);
    CHECK(decode_request(payloads[0])->id == 1);
    CHECK(reader.buffered() == 0);

    FrameReader huge;
    huge.feed(u32(0xfffffff0u));
    auto failed = huge.next();
    REQUIRE_FALSE(failed);
    CHECK(failed.error().kind == base::ErrorKind::protocol);
    FrameReader empty;
    empty.feed(u32(0));
    CHECK_FALSE(empty.next());
    FrameReader shell_banner;
    shell_banner.feed("Welcome to the server!\n");
    CHECK_FALSE(shell_banner.next());
}
