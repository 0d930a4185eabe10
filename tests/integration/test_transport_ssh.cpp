// SSH targets against a real OpenSSH server on 127.0.0.1 with its own keys (see
// tests/support/sshd_server.hpp): the agent and the SFTP fallback both converge, deltas move
// little, a killed server mid-transfer never leaves a partial file, and host keys and
// credentials are checked.

#include "tests/integration/ssh_fixture.hpp"
#include "tests/support/file_ops.hpp"
#include "tests/support/sshd_server.hpp"
#include "tests/support/wait.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <sys/stat.h>

namespace fs = std::filesystem;
using namespace fsmirror;
using namespace fsmirror::integration;
using namespace fsmirror::test_support;
using namespace std::chrono_literals;

namespace {

constexpr const char* k_missing_agent = "/nonexistent/bin/fsmirror";

std::size_t count_of(const std::string& text, const std::string& needle) {
    std::size_t count = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
        ++count;
    return count;
}

// Sets every entry's mtime (the root's too) to whole seconds, as SFTP can store them.
void whole_second_mtimes(const fs::path& root) {
    std::time_t seconds = 1'700'000'000;
    for (const auto& entry : fs::recursive_directory_iterator(root))
        set_mtime(entry.path(), make_time(seconds++, 0));
    set_mtime(root, make_time(seconds, 0));
}

// Returns the byte count of the "initial sync finished ... (N files written, B bytes" line.
std::uint64_t bytes_written(const std::string& log) {
    std::smatch match;
    static const std::regex pattern(
        R"(initial sync finished in [0-9.]+ s \((\d+) files written, (\d+) bytes)");
    REQUIRE(std::regex_search(log, match, pattern));
    return std::stoull(match[2].str());
}

} // namespace

TEST_CASE("an SSH target served by the agent converges, renames included",
          "[integration][ssh][concurrent]") {
    MirrorFixture fixture;
    SshdServer sshd(sshd_directory(fixture));
    make_tree(fixture.source(), 12, 60, 11);
    for (const char* name : {"top1", "top2", "top3", "top4"})
        write_file(fixture.source() / name, make_content(3000, name[3]));
    write_file(fixture.source() / "large.bin", make_content(600'000, 12));
    make_symlink("top1", fixture.source() / "link");
    make_symlink("/nowhere/at/all", fixture.source() / "dangling");
    set_mode(fixture.source() / "top2", 0640);

    fixture.start_with_args(concat({"run", "--source", fixture.source().string(), "--delay",
                                    k_test_delay, "--log-level", "debug"},
                                   ssh_flags(sshd, fixture.target())),
                            std::nullopt, 1);
    fixture.require_mirrored();
    CHECK(fixture.daemon().count_in_log("connected (fsmirror agent") == 1);

    // A renamed directory is renamed on the remote, not copied again.
    HeldFile held(fixture.target() / "d000");
    fs::rename(fixture.source() / "d000", fixture.source() / "renamed");
    append_file(fixture.source() / "large.bin", "appended");
    overwrite_file(fixture.source() / "top3", "rewritten in place");
    fs::remove(fixture.source() / "top4");
    fs::create_directories(fixture.source() / "new/deeper");
    write_file(fixture.source() / "new/deeper/file", "new");
    fixture.require_mirrored();
    CHECK(inode_of(fixture.target() / "renamed") == held.inode());
    CHECK(fixture.daemon().count_in_log("Moving /d000 -> /renamed") == 1);
    fixture.stop();

    // verify --checksum over SSH: the agent hashes its side.
    const auto verify = concat({"verify", "--source", fixture.source().string(), "--checksum"},
                               ssh_flags(sshd, fixture.target()));
    auto same = fixture.run_with_output(verify);
    INFO(same.log);
    CHECK(same.status == 0);
    // Same size and mtime, other bytes: only the content hashes can tell.
    struct stat before {};
    REQUIRE(::stat((fixture.target() / "top1").c_str(), &before) == 0);
    write_file(fixture.target() / "top1", make_content(3000, 'x'));
    set_mtime(fixture.target() / "top1", before.st_mtim);
    auto differs = fixture.run_with_output(verify);
    INFO(differs.log);
    CHECK(differs.status == 1);
    CHECK(count_of(differs.log, "content /top1: xxh3:") == 1);
}

TEST_CASE("without fsmirror on the remote, SFTP carries whole files and converges",
          "[integration][ssh][sftp][concurrent]") {
    MirrorFixture fixture;
    SshdServer sshd(sshd_directory(fixture));
    make_tree(fixture.source(), 8, 40, 21);
    for (const char* name : {"top1", "top2", "top3", "top4"})
        write_file(fixture.source() / name, make_content(3000, name[3]));
    make_symlink("top1", fixture.source() / "link");
    set_mode(fixture.source() / "top2", 0600);
    whole_second_mtimes(fixture.source());
    const CompareOptions sftp_compare{
        .symlink_mtimes = false, .directory_mtimes = true, .ignored = {}};
    // The rename of d000 below is a deletion and a creation in a one-shot sync, more than half
    // the tree: the mass-delete guard would hold it (test_safety_guard.cpp).
    const auto args =
        concat({"sync", "--source", fixture.source().string(), "--max-delete-percent", "100"},
               ssh_flags(sshd, fixture.target(), k_missing_agent));

    auto first = fixture.run_with_output(args);
    INFO(first.log);
    REQUIRE(first.status == 0);
    CHECK(count_of(first.log, "falling back to SFTP") == 1);
    CHECK(count_of(first.log, "connected (SFTP") == 1);
    CHECK(compare_trees(fixture.source(), fixture.target(), sftp_compare).empty());

    overwrite_file(fixture.source() / "top3", "changed over sftp");
    fs::remove(fixture.source() / "top4");
    fs::rename(fixture.source() / "d000", fixture.source() / "moved");
    whole_second_mtimes(fixture.source());
    auto second = fixture.run_with_output(args);
    INFO(second.log);
    REQUIRE(second.status == 0);
    auto differences = compare_trees(fixture.source(), fixture.target(), sftp_compare);
    INFO(join_lines(differences));
    CHECK(differences.empty());
    CHECK(find_temp_files(fixture.target()).empty());

    // Times are whole seconds on both sides: a third pass has nothing to send.
    auto third = fixture.run_with_output(args);
    REQUIRE(third.status == 0);
    CHECK(bytes_written(third.log) == 0);

    // SFTP cannot hash: verify --checksum says so instead of comparing nothing.
    auto checksum = fixture.run_with_output(
        concat({"verify", "--source", fixture.source().string(), "--checksum"},
               ssh_flags(sshd, fixture.target(), k_missing_agent)));
    INFO(checksum.log);
    CHECK(checksum.status == 2);
    CHECK(count_of(checksum.log, "cannot hash files") == 1);
}

TEST_CASE("a small change to a large file sends a delta far smaller than the file",
          "[integration][ssh][delta]") {
    MirrorFixture fixture;
    SshdServer sshd(sshd_directory(fixture));
    constexpr std::size_t k_size = 16 * 1024 * 1024;
    std::string content = make_content(k_size, 31);
    write_file(fixture.source() / "database.img", content);
    const auto args =
        concat({"sync", "--source", fixture.source().string(), "--log-level", "debug"},
               ssh_flags(sshd, fixture.target()));

    auto first = fixture.run_with_output(args);
    REQUIRE(first.status == 0);
    CHECK(bytes_written(first.log) == k_size);

    // 100 bytes rewritten in the middle, 10 appended: the file is sent as a delta.
    content.replace(k_size / 2, 100, std::string(100, 'x'));
    content += "0123456789";
    overwrite_file(fixture.source() / "database.img", content);
    auto second = fixture.run_with_output(args);
    INFO(second.log);
    REQUIRE(second.status == 0);
    CHECK(compare_trees(fixture.source(), fixture.target()).empty());
    const auto sent = bytes_written(second.log);
    CHECK(sent > 0);
    CHECK(sent < k_size / 100);
    CHECK(count_of(second.log, "updated /database.img") == 1);
}

TEST_CASE("files shifted, shrunk and grown go as segments with little on the wire",
          "[integration][ssh][delta]") {
    MirrorFixture fixture;
    SshdServer sshd(sshd_directory(fixture));
    constexpr std::size_t k_mib = 1024 * 1024;
    std::string shifted = make_content(8 * k_mib, 41);
    std::string shrunk = make_content(8 * k_mib, 42);
    std::string grown = make_content(3 * k_mib + 777, 43);
    write_file(fixture.source() / "shifted.img", shifted);
    write_file(fixture.source() / "shrunk.img", shrunk);
    write_file(fixture.source() / "grown.img", grown);
    const auto args =
        concat({"sync", "--source", fixture.source().string(), "--log-level", "debug"},
               ssh_flags(sshd, fixture.target()));
    REQUIRE(fixture.run_with_output(args).status == 0);

    // Bytes inserted early move every later segment off its offset: one run to the end, whose
    // delta still finds the moved blocks. A cut end and an end grown past a segment boundary
    // (the last segment changed too) are runs to the end of a basis of another length.
    shifted.insert(k_mib + 123, std::string(1000, 's'));
    shrunk.resize(5 * k_mib + k_mib / 2);
    grown.replace(grown.size() - 100, 100, std::string(100, 'g'));
    grown += make_content(k_mib + 5, 44);
    overwrite_file(fixture.source() / "shifted.img", shifted);
    overwrite_file(fixture.source() / "shrunk.img", shrunk);
    overwrite_file(fixture.source() / "grown.img", grown);
    auto second = fixture.run_with_output(args);
    INFO(second.log);
    REQUIRE(second.status == 0);
    CHECK(compare_trees(fixture.source(), fixture.target()).empty());
    CHECK(count_of(second.log, "updated /") == 3);
    // The grown file's new megabyte is literal; the rest is copy commands and a few blocks.
    CHECK(bytes_written(second.log) < k_mib + k_mib / 4);
}

TEST_CASE("sshd killed mid-transfer and restarted: no partial file, then convergence",
          "[integration][ssh][reconnect][concurrent]") {
    MirrorFixture fixture;
    SshdServer sshd(sshd_directory(fixture));
    fixture.start_with_args(concat({"run", "--source", fixture.source().string(), "--delay",
                                    k_test_delay, "--log-level", "debug", "--keepalive", "1"},
                                   ssh_flags(sshd, fixture.target())),
                            std::nullopt, 1);

    // Large enough that the transfer takes a while even on loopback; prepared outside and
    // moved in, so it appears whole.
    const fs::path staged = fixture.outside() / "huge.bin";
    {
        std::ofstream out(staged, std::ios::binary);
        for (unsigned chunk = 0; chunk < 256; ++chunk)
            out << make_content(1024 * 1024, chunk);
    }
    const auto size = fs::file_size(staged);
    fs::rename(staged, fixture.source() / "huge.bin");

    const bool in_flight =
        wait_until([&] { return !find_temp_files(fixture.target()).empty(); }, k_settle_timeout);
    REQUIRE(in_flight);
    sshd.kill_all();
    // Nothing partial under the final name: either absent or complete.
    const fs::path final_name = fixture.target() / "huge.bin";
    if (exists_no_follow(final_name))
        CHECK(fs::file_size(final_name) == size);

    std::this_thread::sleep_for(500ms);
    sshd.restart();
    fixture.require_mirrored();
    CHECK(fixture.daemon().count_in_log("reconnected") >= 1);
    fixture.stop();
}

TEST_CASE("a hung connection is detected by keepalives and replaced",
          "[integration][ssh][hang][concurrent]") {
    MirrorFixture fixture;
    SshdServer sshd(sshd_directory(fixture));
    fixture.start_with_args(concat({"run", "--source", fixture.source().string(), "--delay",
                                    k_test_delay, "--log-level", "debug", "--keepalive", "1"},
                                   ssh_flags(sshd, fixture.target())),
                            std::nullopt, 1);
    // The server stops answering on the open connection; the listener still accepts new ones.
    sshd.freeze_sessions();
    write_file(fixture.source() / "after-the-hang", make_content(200'000, 3));
    fixture.require_mirrored();
    CHECK(fixture.daemon().count_in_log("the connection is hung") >= 1);
    CHECK(fixture.daemon().count_in_log("reconnected") >= 1);
    fixture.stop();
}

TEST_CASE("a dead target is retried with backoff, never in a busy loop, and one dead target of "
          "several never stalls the others",
          "[integration][ssh][fanout][concurrent]") {
    MirrorFixture fixture;
    SshdServer sshd(sshd_directory(fixture));
    const fs::path remote_target = fixture.root() / "remote-target";
    fs::create_directories(remote_target);
    write_file(fixture.source() / "file", "fan-out");
    sshd.kill_all(); // nothing listens: the SSH target is dead from the start
    fixture.start_with_args(
        concat({"run", "--source", fixture.source().string(), "--delay", k_test_delay,
                "--log-level", "debug", "--target", fixture.target().string(), "--keepalive", "1"},
               ssh_flags(sshd, remote_target)),
        std::nullopt, 2);
    // The local target is served while the remote one is down.
    fixture.require_mirrored();
    std::this_thread::sleep_for(6s);
    const auto attempts = fixture.daemon().count_in_log("cannot connect:");
    CHECK(attempts >= 2);
    CHECK(attempts <= 6); // 1, 2, 4 s... apart: a handful in six seconds, not thousands

    sshd.restart();
    fixture.require_mirrored(fixture.source(), remote_target);
    write_file(fixture.source() / "later", "both get this");
    fixture.require_mirrored();
    fixture.require_mirrored(fixture.source(), remote_target);
    fixture.stop();
}

TEST_CASE("an unknown host key is refused and accept-new adds it and a changed key is refused",
          "[integration][ssh][hostkey]") {
    MirrorFixture fixture;
    SshdServer sshd(sshd_directory(fixture));
    write_file(fixture.source() / "file", "content");
    const fs::path known_hosts = fixture.root() / "new_known_hosts";
    auto args = [&](std::vector<std::string> extra) {
        return concat(concat({"sync", "--source", fixture.source().string(), "--target",
                              sshd.target(fixture.target()), "--identity",
                              sshd.client_key().string(), "--known-hosts", known_hosts.string(),
                              "--agent-path", fsmirror_binary().string()},
                             {}),
                      extra);
    };

    auto refused = fixture.run_with_output(args({}));
    INFO(refused.log);
    CHECK(refused.status == 1);
    CHECK(count_of(refused.log, "host key verification failed") >= 1);
    CHECK(count_of(refused.log, "is not in " + known_hosts.string()) >= 1);
    CHECK(count_of(refused.log, sshd.host_fingerprint()) >= 1);
    CHECK_FALSE(fs::exists(fixture.target() / "file"));

    auto accepted = fixture.run_with_output(args({"--host-key-policy", "accept-new"}));
    INFO(accepted.log);
    CHECK(accepted.status == 0);
    CHECK(count_of(read_file(known_hosts),
                   fmt::format("[127.0.0.1]:{} {}", sshd.port(), sshd.host_public_key())) == 1);
    CHECK(file_has_content(fixture.target() / "file", "content"));

    // Known now: strict accepts it.
    CHECK(fixture.run_with_output(args({})).status == 0);

    // The server presents a key that differs from the recorded one.
    const fs::path other = sshd.make_key("impostor_host_key");
    std::istringstream fields(read_file(other.string() + ".pub"));
    std::string type, blob;
    fields >> type >> blob;
    write_file(known_hosts, fmt::format("[127.0.0.1]:{} {} {}\n", sshd.port(), type, blob));
    auto changed = fixture.run_with_output(args({"--host-key-policy", "accept-new"}));
    INFO(changed.log);
    CHECK(changed.status == 1);
    CHECK(count_of(changed.log, "has CHANGED") >= 1);
    CHECK(count_of(changed.log, sshd.host_fingerprint()) >= 1);
}

TEST_CASE("a host known by only one of its key types is recognised",
          "[integration][ssh][hostkey]") {
    MirrorFixture fixture;
    SshdServer sshd(sshd_directory(fixture));
    write_file(fixture.source() / "file", "content");
    const std::string ecdsa = sshd.add_host_key("ecdsa");
    const fs::path known_hosts = fixture.root() / "typed_known_hosts";
    // Whichever key type libssh2 would pick first, the one on record is asked for.
    for (const std::string& key : {ecdsa, sshd.host_public_key()}) {
        INFO(key);
        write_file(known_hosts, fmt::format("[127.0.0.1]:{} {}\n", sshd.port(), key));
        auto run = fixture.run_with_output(
            {"sync", "--source", fixture.source().string(), "--target",
             sshd.target(fixture.target()), "--identity", sshd.client_key().string(),
             "--known-hosts", known_hosts.string(), "--agent-path", fsmirror_binary().string()});
        INFO(run.log);
        CHECK(run.status == 0);
    }
}

TEST_CASE("a key the server does not accept gives a clear authentication error",
          "[integration][ssh][auth]") {
    MirrorFixture fixture;
    SshdServer sshd(sshd_directory(fixture));
    write_file(fixture.source() / "file", "content");
    const fs::path stranger = sshd.make_key("stranger_key");
    auto run = fixture.run_with_output(
        {"sync", "--source", fixture.source().string(), "--target", sshd.target(fixture.target()),
         "--identity", stranger.string(), "--known-hosts", sshd.known_hosts().string()});
    INFO(run.log);
    CHECK(run.status == 1);
    CHECK(count_of(run.log, "authentication as ") >= 1);
    CHECK(count_of(run.log, "@127.0.0.1 failed") >= 1);
    CHECK(count_of(run.log, stranger.string() + " (refused by the server)") >= 1);

    auto missing = fixture.run_with_output({"sync", "--source", fixture.source().string(),
                                            "--target", sshd.target(fixture.target()), "--identity",
                                            (fixture.root() / "no_such_key").string(),
                                            "--known-hosts", sshd.known_hosts().string()});
    CHECK(missing.status == 1);
    CHECK(count_of(missing.log, "cannot read identity file") >= 1);
}

TEST_CASE("a burst of small files looks the target entries up together, not one round trip each",
          "[integration][ssh][pipelining][concurrent]") {
    MirrorFixture fixture;
    SshdServer sshd(sshd_directory(fixture));
    fixture.start_with_args(concat({"run", "--source", fixture.source().string(), "--delay",
                                    k_test_delay, "--log-level", "debug"},
                                   ssh_flags(sshd, fixture.target())),
                            std::nullopt, 1);
    const auto log_before = fixture.daemon().log_text().size();

    // Written outside and moved in, so the whole burst lands within one delay.
    constexpr unsigned k_files = 40;
    fs::create_directories(fixture.outside() / "burst");
    for (unsigned i = 0; i < k_files; ++i)
        write_file(fixture.outside() / "burst" / fmt::format("small-{:02}", i),
                   make_content(500, i));
    for (unsigned i = 0; i < k_files; ++i)
        fs::rename(fixture.outside() / "burst" / fmt::format("small-{:02}", i),
                   fixture.source() / fmt::format("small-{:02}", i));
    fixture.require_mirrored();

    // Every batch reports "looked up N target entries in R round trips" once it has finished,
    // which may be a moment after its last file landed.
    static const std::regex pattern(R"(looked up (\d+) target entries in (\d+) round trips)");
    std::string log;
    std::uint64_t lookups = 0;
    std::uint64_t round_trips = 0;
    wait_until(
        [&] {
            log = fixture.daemon().log_text().substr(log_before);
            lookups = 0;
            round_trips = 0;
            for (std::sregex_iterator it(log.begin(), log.end(), pattern), end; it != end; ++it) {
                lookups += std::stoull((*it)[1].str());
                round_trips += std::stoull((*it)[2].str());
            }
            return lookups >= k_files;
        },
        k_settle_timeout);
    INFO(log);
    CHECK(lookups >= k_files);
    // One per batch (the burst may straddle two), where it used to be one per file.
    CHECK(round_trips >= 1);
    CHECK(round_trips <= 3);
    fixture.stop();
}

TEST_CASE("a non-empty SSH target without a marker is refused unless --skip-safety",
          "[integration][ssh][safety]") {
    MirrorFixture fixture;
    SshdServer sshd(sshd_directory(fixture));
    write_file(fixture.source() / "kept.txt", "source\n");
    write_file(fixture.target() / "precious.txt", "not fsmirror's\n");
    fs::create_directories(fixture.target() / "data");
    const std::vector<std::string> sync = {"sync", "--source", fixture.source().string()};

    const CommandRun refused =
        fixture.run_with_output(concat(sync, ssh_flags(sshd, fixture.target())));
    INFO(refused.log);
    CHECK(refused.status != 0);
    CHECK_THAT(refused.log, Catch::Contains("non-empty-target") &&
                                Catch::Contains("2 entries (data/, precious.txt)") &&
                                Catch::Contains("--skip-safety"));
    CHECK_FALSE(fs::exists(fixture.target() / ".fsmirror"));
    CHECK_FALSE(fs::exists(fixture.target() / "kept.txt"));

    const CommandRun allowed = fixture.run_with_output(
        concat(concat(sync, ssh_flags(sshd, fixture.target())), {"--skip-safety"}));
    INFO(allowed.log);
    CHECK(allowed.status == 0);
    CHECK(fs::exists(fixture.target() / ".fsmirror"));
    CHECK(read_file(fixture.target() / "kept.txt") == "source\n");

    // Marked now: a second run needs no flag.
    const CommandRun again =
        fixture.run_with_output(concat(sync, ssh_flags(sshd, fixture.target())));
    INFO(again.log);
    CHECK(again.status == 0);
}
