// `fsmirror agent` run directly with crafted input, as a hostile or broken client would send it:
// every escape attempt and malformed field is answered with an error, nothing is written
// outside the root, and an absurd frame length ends the session cleanly (never a crash).

#include "tests/integration/mirror_fixture.hpp"
#include "tests/support/file_ops.hpp"
#include "transport/agent_protocol.hpp"
#include "transport/content_hash.hpp"

#include <filesystem>
#include <map>
#include <string>

#include <catch2/catch.hpp>

namespace fs = std::filesystem;
using namespace fsmirror;
using namespace fsmirror::integration;
using namespace fsmirror::test_support;
using namespace fsmirror::transport::agent;
using namespace std::chrono_literals;

namespace {

std::string u32(std::uint32_t v) {
    std::string out;
    for (int shift = 24; shift >= 0; shift -= 8)
        out += static_cast<char>(v >> shift);
    return out;
}

// A frame with a hand-made payload: type, id, raw fields.
std::string raw_frame(std::uint8_t type, std::uint32_t id, const std::string& fields) {
    std::string payload = std::string(1, static_cast<char>(type)) + u32(id) + fields;
    return u32(static_cast<std::uint32_t>(payload.size())) + payload;
}

transport::EntryInfo file_info() {
    transport::EntryInfo info;
    info.type = transport::EntryType::file;
    info.mode = 0644;
    info.mtime_ns = 1'700'000'000'000'000'000;
    return info;
}

struct AgentRun {
    int status;
    std::map<std::uint32_t, std::vector<ReplyBody>> replies;
    std::string log;
};

// Runs `fsmirror agent --root root` with `input` on stdin; decodes what it answered.
AgentRun run_agent(const MirrorFixture& fixture, const fs::path& root, const std::string& input) {
    const fs::path in = fixture.root() / "agent.in";
    const fs::path out = fixture.root() / "agent.out";
    write_file(in, input);
    ChildProcess agent(
        ChildOptions{.argv = {fsmirror_binary().string(), "agent", "--root", root.string()},
                     .log_file = fixture.root() / "agent.log",
                     .working_directory = std::nullopt,
                     .stdin_file = in,
                     .stdout_file = out});
    auto status = agent.wait_for_exit(30s);
    REQUIRE(status.has_value());
    AgentRun run{*status, {}, agent.log_text()};
    FrameReader reader;
    reader.feed(read_file(out));
    for (;;) {
        auto frame = reader.next();
        REQUIRE(frame);
        if (!*frame)
            break;
        auto reply = decode_reply(**frame);
        INFO((reply ? "" : reply.error().message));
        REQUIRE(reply);
        run.replies[reply->id].push_back(reply->body);
    }
    CHECK(reader.buffered() == 0);
    return run;
}

bool is_protocol_failure(const std::vector<ReplyBody>& replies) {
    if (replies.size() != 1)
        return false;
    const auto* failure = std::get_if<Failure>(&replies.front());
    return failure != nullptr && failure->error.kind == base::ErrorKind::protocol;
}

} // namespace

TEST_CASE("the agent rejects path escapes and malformed requests, and survives an absurd length",
          "[integration][ssh][agent]") {
    MirrorFixture fixture;
    const fs::path root = fixture.target();
    write_file(fixture.outside() / "secret", "do not touch");
    // A symlink planted in the tree, pointing out of it.
    make_symlink(fixture.outside().string(), root / "escape");

    std::string input = encode(Request{1, Hello{}});
    input += encode(Request{2, Stat{"../outside/secret"}});
    input += encode(Request{3, Remove{"/etc/passwd"}});
    input += encode(Request{4, Rename{"a", "../../escaped"}});
    input += encode(Request{5, Hash{"escape/secret"}}); // through the planted symlink
    // A write through the planted symlink: lands inside the root, or nowhere.
    input += encode(Request{6, PutBegin{"escape/evil", file_info(), PutMode::whole}});
    input += encode(Request{6, PutData{"pwned"}});
    transport::ContentHasher hasher;
    hasher.update("pwned");
    input += encode(Request{6, PutEnd{hasher.digest()}});
    // A put whose content does not match its hash is not renamed into place.
    input += encode(Request{7, PutBegin{"tampered", file_info(), PutMode::whole}});
    input += encode(Request{7, PutData{"what arrived"}});
    input += encode(Request{7, PutEnd{hasher.digest()}});
    // A string length far beyond the frame, an unknown type, a truncated field.
    input += raw_frame(3, 8, u32(0x7fffffffu) + "abc");
    input += raw_frame(99, 9, "");
    input += raw_frame(3, 10, u32(2));
    // A delta against a file that does not exist.
    input += encode(Request{11, PutBegin{"nothing", file_info(), PutMode::delta}});
    input += encode(Request{12, Ping{}});
    // Finally a frame announcing nearly 4 GiB: the session ends.
    input += u32(0xfffffff0u) + "junk";

    auto run = run_agent(fixture, root, input);
    INFO(run.log);
    CHECK(run.status == 2); // a protocol violation, not a crash (a signal would be >= 128)

    REQUIRE(run.replies.count(1) == 1);
    CHECK(std::holds_alternative<HelloReply>(run.replies[1].front()));
    for (std::uint32_t id : {2u, 3u, 4u, 8u, 9u, 10u}) {
        INFO("request " << id);
        CHECK(is_protocol_failure(run.replies[id]));
    }
    // The planted symlink is never followed: hashing through it fails...
    REQUIRE(run.replies[5].size() == 1);
    CHECK(std::holds_alternative<Failure>(run.replies[5].front()));
    // ...and the put either failed or replaced the symlink with a directory of the tree.
    REQUIRE(run.replies[6].size() == 1);
    CHECK_FALSE(fs::exists(fixture.outside() / "evil"));
    CHECK(read_file(fixture.outside() / "secret") == "do not touch");
    CHECK_FALSE(fs::exists(root.parent_path() / "escaped"));

    REQUIRE(run.replies[7].size() == 1);
    const auto* mismatch = std::get_if<Failure>(&run.replies[7].front());
    REQUIRE(mismatch != nullptr);
    CHECK(mismatch->error.native_code == k_code_hash_mismatch);
    CHECK_FALSE(fs::exists(root / "tampered"));
    CHECK(find_temp_files(root).empty());

    REQUIRE(run.replies[11].size() == 1);
    const auto* missing = std::get_if<Failure>(&run.replies[11].front());
    REQUIRE(missing != nullptr);
    CHECK(missing->error.native_code == k_code_basis_missing);
    REQUIRE(run.replies[12].size() == 1);
    CHECK(std::holds_alternative<Pong>(run.replies[12].front()));

    // The last answer, to id 0: why the session ended.
    REQUIRE(run.replies[0].size() == 1);
    CHECK(is_protocol_failure(run.replies[0]));
}

TEST_CASE("the agent requires a hello first and refuses system directories",
          "[integration][ssh][agent]") {
    MirrorFixture fixture;
    auto run = run_agent(fixture, fixture.target(), encode(Request{1, Stat{"x"}}));
    CHECK(run.status == 2);
    CHECK(is_protocol_failure(run.replies[1]));

    auto garbage = run_agent(fixture, fixture.target(), "SSH-2.0-not-our-protocol\r\n");
    CHECK(garbage.status == 2);

    Hello future;
    future.min_version = k_protocol_version + 1;
    future.max_version = k_protocol_version + 5;
    auto version = run_agent(fixture, fixture.target(), encode(Request{1, future}));
    CHECK(version.status == 2);
    CHECK(is_protocol_failure(version.replies[1]));

    auto system = run_agent(fixture, "/etc", encode(Request{1, Hello{}}));
    CHECK(system.status == 2);
    CHECK(system.replies.empty());
    CHECK(system.log.find("refusing system directory /etc") != std::string::npos);
}

TEST_CASE("the agent speaks the highest protocol version both ends know, and the requests of 3",
          "[integration][ssh][agent]") {
    MirrorFixture fixture;
    write_file(fixture.target() / ".fsmirror", "source=/srv/data\n");
    const auto version_of = [](const AgentRun& run) {
        REQUIRE(run.replies.count(1) == 1);
        const auto* reply = std::get_if<HelloReply>(&run.replies.at(1).front());
        REQUIRE(reply != nullptr);
        return reply->version;
    };

    // A client of protocol 2 (fsmirror before the requests below) still gets a session.
    Hello old;
    old.min_version = 2;
    old.max_version = 2;
    auto with_old = run_agent(fixture, fixture.target(), encode(Request{1, old}));
    CHECK(with_old.status == 0);
    CHECK(version_of(with_old) == 2);

    // Today's client: 3, and the marker, the file system and a missing database answered.
    auto today = run_agent(fixture, fixture.target(),
                           encode(Request{1, Hello{}}) + encode(Request{2, ReadFile{".fsmirror"}}) +
                               encode(Request{3, StatFileSystem{}}) +
                               encode(Request{4, InspectDatabase{"missing.db", false}}));
    INFO(today.log);
    CHECK(today.status == 0);
    CHECK(version_of(today) == k_protocol_version);
    REQUIRE(today.replies.count(2) == 1);
    const auto* bytes = std::get_if<FileBytes>(&today.replies.at(2).front());
    REQUIRE(bytes != nullptr);
    CHECK(bytes->bytes == "source=/srv/data\n");
    REQUIRE(today.replies.count(3) == 1);
    const auto* file_system = std::get_if<FileSystemReply>(&today.replies.at(3).front());
    REQUIRE(file_system != nullptr);
    CHECK(file_system->info.space.bytes_free > 0);
    CHECK(file_system->info.root_mount == transport::RootMount::no); // a plain directory
    REQUIRE(today.replies.count(4) == 1);
    const auto* missing = std::get_if<Failure>(&today.replies.at(4).front());
    REQUIRE(missing != nullptr);
    CHECK(missing->error.kind == base::ErrorKind::not_found);
}
