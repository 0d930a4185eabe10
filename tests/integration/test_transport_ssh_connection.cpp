// How fsmirror reaches and trusts an SSH target, against a real OpenSSH server on loopback (see
// tests/support/sshd_server.hpp) and a real ssh-agent (tests/support/ssh_agent.hpp): keys held
// by ssh-agent, known_hosts markers (@revoked, @cert-authority), an IPv6 address, and
// compression as actually negotiated (libssh2's answer, which fsmirror logs at debug level).

#include "tests/integration/ssh_fixture.hpp"
#include "tests/support/file_ops.hpp"
#include "tests/support/ssh_agent.hpp"
#include "tests/support/sshd_server.hpp"

#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <pwd.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace fsmirror;
using namespace fsmirror::integration;
using namespace fsmirror::test_support;
using namespace std::chrono_literals;

namespace {

bool contains(const std::string& text, const std::string& needle) {
    return text.find(needle) != std::string::npos;
}

// A one-shot sync of the fixture's source to its target through `sshd`, with `extra` flags
// and no identity file (each test says how to log in).
std::vector<std::string> sync_args(const MirrorFixture& fixture, const SshdServer& sshd,
                                   const fs::path& known_hosts,
                                   const std::vector<std::string>& extra) {
    std::vector<std::string> args{"sync",
                                  "--source",
                                  fixture.source().string(),
                                  "--target",
                                  sshd.target(fixture.target()),
                                  "--known-hosts",
                                  known_hosts.string(),
                                  "--agent-path",
                                  fsmirror_binary().string(),
                                  "--log-level",
                                  "debug"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

std::string current_user() {
    const passwd* entry = ::getpwuid(::geteuid());
    REQUIRE(entry != nullptr);
    return entry->pw_name;
}

} // namespace

TEST_CASE("a key held by ssh-agent logs in without an identity file",
          "[integration][ssh][auth][ssh-agent]") {
    MirrorFixture fixture;
    SshdServer sshd(sshd_directory(fixture));
    write_file(fixture.source() / "file", "through the agent");
    SshAgent agent(fixture.root() / "sshd");
    agent.add(sshd.client_key());
    // A home without ~/.ssh: the agent is the only way in.
    ScopedEnvironment home("HOME", fixture.outside().string());
    ScopedEnvironment socket("SSH_AUTH_SOCK", agent.socket().string());

    auto run = fixture.run_with_output(sync_args(fixture, sshd, sshd.known_hosts(), {}));
    INFO(run.log);
    CHECK(run.status == 0);
    CHECK(contains(run.log, "authenticated with ssh-agent key 'fsmirror-test'"));
    CHECK(file_has_content(fixture.target() / "file", "through the agent"));
}

TEST_CASE("an ssh-agent without an accepted key gives a clear authentication error",
          "[integration][ssh][auth][ssh-agent]") {
    MirrorFixture fixture;
    SshdServer sshd(sshd_directory(fixture));
    write_file(fixture.source() / "file", "content");
    ScopedEnvironment home("HOME", fixture.outside().string());
    const fs::path agents = fixture.root() / "agents";

    SECTION("an empty agent") {
        fs::create_directories(agents / "empty");
        SshAgent agent(agents / "empty");
        ScopedEnvironment socket("SSH_AUTH_SOCK", agent.socket().string());
        auto run = fixture.run_with_output(sync_args(fixture, sshd, sshd.known_hosts(), {}));
        INFO(run.log);
        CHECK(run.status == 1);
        CHECK(contains(run.log, fmt::format("ssh-agent at {} (holds no keys: add one with "
                                            "ssh-add)",
                                            agent.socket().string())));
    }
    SECTION("an agent holding only a key the server does not accept") {
        fs::create_directories(agents / "stranger");
        SshAgent agent(agents / "stranger");
        agent.add(sshd.make_key("stranger_key"));
        ScopedEnvironment socket("SSH_AUTH_SOCK", agent.socket().string());
        auto run = fixture.run_with_output(sync_args(fixture, sshd, sshd.known_hosts(), {}));
        INFO(run.log);
        CHECK(run.status == 1);
        CHECK(contains(run.log, "authentication as "));
        CHECK(contains(run.log, "ssh-agent key 'fsmirror-test' (refused by the server)"));
    }
    SECTION("an agent socket nothing listens on") {
        const fs::path nowhere = agents / "no-agent.sock";
        ScopedEnvironment socket("SSH_AUTH_SOCK", nowhere.string());
        auto run = fixture.run_with_output(sync_args(fixture, sshd, sshd.known_hosts(), {}));
        INFO(run.log);
        CHECK(run.status == 1);
        CHECK(
            contains(run.log, fmt::format("ssh-agent at {} (cannot be reached", nowhere.string())));
    }
    CHECK_FALSE(fs::exists(fixture.target() / "file"));
}

TEST_CASE("a host key marked revoked in known_hosts is refused even with accept-new",
          "[integration][ssh][hostkey]") {
    MirrorFixture fixture;
    SshdServer sshd(sshd_directory(fixture));
    write_file(fixture.source() / "file", "content");
    const fs::path known_hosts = fixture.root() / "revoking_known_hosts";
    const std::string accepted =
        fmt::format("[127.0.0.1]:{} {}\n", sshd.port(), sshd.host_public_key());
    const std::string revoked = fmt::format("@revoked * {} compromised\n", sshd.host_public_key());

    SECTION("revoked after a line that accepts it") {
        write_file(known_hosts, "# the backup server\n" + accepted + revoked);
        auto run = fixture.run_with_output(sync_args(
            fixture, sshd, known_hosts,
            {"--identity", sshd.client_key().string(), "--host-key-policy", "accept-new"}));
        INFO(run.log);
        CHECK(run.status == 1);
        CHECK(contains(run.log, fmt::format("is marked @revoked in {}:3", known_hosts.string())));
        CHECK(contains(run.log, sshd.host_fingerprint()));
    }
    SECTION("revoked and otherwise unknown: accept-new does not add it") {
        write_file(known_hosts, revoked);
        auto run = fixture.run_with_output(sync_args(
            fixture, sshd, known_hosts,
            {"--identity", sshd.client_key().string(), "--host-key-policy", "accept-new"}));
        INFO(run.log);
        CHECK(run.status == 1);
        CHECK(contains(run.log, fmt::format("is marked @revoked in {}:1", known_hosts.string())));
        CHECK(read_file(known_hosts) == revoked);
    }
    CHECK_FALSE(fs::exists(fixture.target() / "file"));
}

TEST_CASE("cert-authority lines in known_hosts are ignored with a debug note",
          "[integration][ssh][hostkey]") {
    MirrorFixture fixture;
    SshdServer sshd(sshd_directory(fixture));
    write_file(fixture.source() / "file", "content");
    const fs::path known_hosts = fixture.root() / "ca_known_hosts";
    // The host's own key stands in for a CA key: a CA line must never vouch for a plain key.
    write_file(known_hosts,
               fmt::format("@cert-authority * {}\n[127.0.0.1]:{} {}\n", sshd.host_public_key(),
                           sshd.port(), sshd.host_public_key()));
    auto run = fixture.run_with_output(
        sync_args(fixture, sshd, known_hosts, {"--identity", sshd.client_key().string()}));
    INFO(run.log);
    CHECK(run.status == 0);
    CHECK(contains(run.log, fmt::format("{}:1: @cert-authority line ignored: fsmirror does not "
                                        "check host certificates",
                                        known_hosts.string())));
    CHECK(file_has_content(fixture.target() / "file", "content"));

    // With only the CA line the host is unknown: refused, not trusted through the CA.
    write_file(known_hosts, fmt::format("@cert-authority * {}\n", sshd.host_public_key()));
    auto refused = fixture.run_with_output(
        sync_args(fixture, sshd, known_hosts, {"--identity", sshd.client_key().string()}));
    INFO(refused.log);
    CHECK(refused.status == 1);
    CHECK(contains(refused.log, "is not in " + known_hosts.string()));
}

TEST_CASE("an IPv6 loopback target works from the command line and from YAML, with compression",
          "[integration][ssh][ipv6]") {
    MirrorFixture fixture;
    SshdServer sshd(sshd_directory(fixture), Listen::ipv4_and_ipv6);
    write_file(fixture.source() / "file", make_content(200'000, 7));
    const std::regex compression_off(R"(@\[::1\]:\d+: key exchange .* compression none \(to the )"
                                     R"(server\) and none \(from it\))");
    const std::regex compression_on(R"(@\[::1\]:\d+: key exchange .* compression )"
                                    R"(zlib(@openssh\.com)? \(to the server\) and )"
                                    R"(zlib(@openssh\.com)? \(from it\))");

    const std::string spec =
        fmt::format("{}@[::1]:{}:{}", current_user(), sshd.port(), fixture.target().string());
    auto plain = fixture.run_with_output(
        {"sync", "--source", fixture.source().string(), "--target", spec, "--identity",
         sshd.client_key().string(), "--known-hosts", sshd.known_hosts().string(), "--agent-path",
         fsmirror_binary().string(), "--log-level", "debug"});
    INFO(plain.log);
    CHECK(plain.status == 0);
    CHECK(std::regex_search(plain.log, compression_off));
    CHECK(compare_trees(fixture.source(), fixture.target()).empty());

    write_file(fixture.source() / "second", make_content(100'000, 8));
    const fs::path config = fixture.root() / "ipv6.yml";
    write_file(config, fmt::format(R"(log:
  level: debug
syncs:
  - name: over-ipv6
    source: {}
    target:
      host: "::1"
      port: {}
      path: {}
      identity_file: {}
      known_hosts: {}
      agent_path: {}
      compression: true
)",
                                   fixture.source().string(), sshd.port(),
                                   fixture.target().string(), sshd.client_key().string(),
                                   sshd.known_hosts().string(), fsmirror_binary().string()));
    auto compressed = fixture.run_with_output({"sync", "--config", config.string()});
    INFO(compressed.log);
    CHECK(compressed.status == 0);
    CHECK(std::regex_search(compressed.log, compression_on));
    CHECK(compare_trees(fixture.source(), fixture.target()).empty());
}
