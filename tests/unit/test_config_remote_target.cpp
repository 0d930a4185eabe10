#include "app/sync_options.hpp"
#include "config/remote_target.hpp"
#include "config/yaml_loader.hpp"

#include <cstdlib>
#include <string>

#include <catch2/catch.hpp>

using namespace fsmirror;
using config::ConfigError;
using config::parse_remote_target;

namespace {

config::Config load(const std::string& text) {
    return config::load_yaml_config_text(text, "test.yml", "/etc/fsmirror");
}

std::string error_of(const std::string& text) {
    try {
        load(text);
    } catch (const ConfigError& e) {
        return e.what();
    }
    FAIL("expected a ConfigError for:\n" << text);
    return {};
}

app::SyncSelection parse(std::vector<std::string> args) {
    return app::parse_sync_options(args, "/home/op", "run");
}

} // namespace

TEST_CASE("remote targets: [user@]host[:port]:/absolute/path", "[config][remote]") {
    auto plain = parse_remote_target("backup.example:/srv/mirror/");
    REQUIRE(plain);
    CHECK(plain->user.empty());
    CHECK(plain->host == "backup.example");
    CHECK(plain->port == 22);
    CHECK(plain->path == "/srv/mirror");
    CHECK(config::to_string(*plain) == "backup.example:/srv/mirror");

    auto full = parse_remote_target("nexus@backup.example:2222:/opt/mcp-servers");
    REQUIRE(full);
    CHECK(full->user == "nexus");
    CHECK(full->port == 2222);
    CHECK(full->path == "/opt/mcp-servers");
    CHECK(config::to_string(*full) == "nexus@backup.example:2222:/opt/mcp-servers");

    auto v6 = parse_remote_target("[::1]:2200:/srv/x//y/../z");
    REQUIRE(v6);
    CHECK(v6->host == "::1");
    CHECK(v6->path == "/srv/x/z");
    CHECK(config::to_string(*v6) == "[::1]:2200:/srv/x/z");

    // The port part is only a port when it is a number followed by ':'.
    auto colon_path = parse_remote_target("host:/a:b");
    REQUIRE(colon_path);
    CHECK(colon_path->path == "/a:b");
    CHECK(colon_path->port == 22);
}

TEST_CASE("malformed remote targets say what is wrong", "[config][remote]") {
    auto reason = [](std::string_view text) {
        auto parsed = parse_remote_target(text);
        REQUIRE_FALSE(parsed);
        return parsed.error();
    };
    CHECK_THAT(reason("host:relative/dir"), Catch::Contains("must be absolute"));
    CHECK_THAT(reason("host:99999:/x"), Catch::Contains("1 to 65535"));
    CHECK_THAT(reason("host:0:/x"), Catch::Contains("1 to 65535"));
    CHECK_THAT(reason(":/x"), Catch::Contains("invalid host"));
    CHECK_THAT(reason("-oProxyCommand=x:/x"), Catch::Contains("invalid host"));
    CHECK_THAT(reason("-l@host:/x"), Catch::Contains("invalid user"));
    CHECK_THAT(reason("a b@host:/x"), Catch::Contains("invalid user"));
    CHECK_THAT(reason("[::1:/x"), Catch::Contains("']'"));
    CHECK_THAT(reason(std::string("host:/a\nb")), Catch::Contains("newline"));
    CHECK(config::looks_remote("host:/x"));
    CHECK(config::looks_remote("host:x"));
    CHECK_FALSE(config::looks_remote("/local/with:colon"));
    CHECK_FALSE(config::looks_remote("./a:b"));
    CHECK_FALSE(config::looks_remote("plain"));
}

TEST_CASE("YAML: a remote target as a string, with ssh settings from defaults and the sync",
          "[config][yaml][remote]") {
    ::setenv("HOME", "/home/op", 1);
    auto config = load("defaults:\n"
                       "  ssh:\n"
                       "    known_hosts: ~/.ssh/known_hosts.fsmirror\n"
                       "    keepalive: 5\n"
                       "syncs:\n"
                       "  - source: /a\n"
                       "    target: nexus@backup:2222:/srv/b\n"
                       "    ssh:\n"
                       "      identity_file: keys/id_ed25519\n"
                       "      host_key_policy: accept-new\n"
                       "      compression: true\n"
                       "      connect_timeout: 2.5\n"
                       "      agent_path: /opt/fsmirror/bin/fsmirror\n");
    REQUIRE(config.syncs.size() == 1);
    const auto& sync = config.syncs[0];
    REQUIRE(sync.remote);
    CHECK(sync.remote->user == "nexus");
    CHECK(sync.remote->host == "backup");
    CHECK(sync.remote->port == 2222);
    CHECK(sync.remote->path == "/srv/b");
    CHECK(sync.target == "nexus@backup:2222:/srv/b");
    CHECK(sync.ssh.known_hosts == "/home/op/.ssh/known_hosts.fsmirror");
    CHECK(sync.ssh.identity_file == "/etc/fsmirror/keys/id_ed25519");
    CHECK(sync.ssh.host_key_policy == config::HostKeyPolicy::accept_new);
    CHECK(sync.ssh.compression);
    CHECK(sync.ssh.connect_timeout_seconds == 2.5);
    CHECK(sync.ssh.keepalive_seconds == 5);
    CHECK(sync.ssh.agent_path == "/opt/fsmirror/bin/fsmirror");
}

TEST_CASE("YAML: a remote target as a mapping", "[config][yaml][remote]") {
    auto config = load("syncs:\n"
                       "  - name: web\n"
                       "    source: /a\n"
                       "    ssh: {keepalive: 7}\n"
                       "    target:\n"
                       "      host: backup.example\n"
                       "      port: 2200\n"
                       "      user: nexus\n"
                       "      path: /srv/web/\n"
                       "      identity_file: /root/.ssh/backup\n"
                       "      keepalive: 0\n");
    const auto& sync = config.syncs[0];
    REQUIRE(sync.remote);
    CHECK(sync.remote->port == 2200);
    CHECK(sync.remote->path == "/srv/web");
    CHECK(sync.target == "nexus@backup.example:2200:/srv/web");
    CHECK(sync.ssh.identity_file == "/root/.ssh/backup");
    CHECK(sync.ssh.keepalive_seconds == 0); // the target's own setting wins

    CHECK(error_of("syncs:\n  - source: /a\n    target: {host: h}\n") ==
          "test.yml:3:13: a 'target' mapping in sync 'sync1' needs 'host' and 'path'");
    CHECK(error_of("syncs:\n  - source: /a\n    target: {host: h, path: rel}\n") ==
          "test.yml:3:29: 'target.path' must be an absolute path on the remote, got 'rel'");
    CHECK(error_of("syncs:\n  - source: /a\n    target: {host: h, path: /x, prot: 2}\n")
              .starts_with("test.yml:3:33: unknown key 'prot' in 'target' of sync 'sync1'"));
    CHECK(error_of("syncs:\n  - source: /a\n    target: {host: h, path: /x, port: 70000}\n")
              .starts_with("test.yml:3:39: 'port' must be an integer from 1 to 65535"));
    CHECK(error_of("syncs:\n  - source: /a\n    target: h:/x\n    ssh: {host_key_policy: no}\n")
              .find("'ssh.host_key_policy' must be strict or accept-new") != std::string::npos);
    CHECK(error_of("syncs:\n  - source: /a\n    target: h:/x\n    ssh: {password: x}\n")
              .find("unknown key 'password' in 'ssh' of sync 'sync1'") != std::string::npos);
}

TEST_CASE("YAML: a list of targets fans out into one sync per target", "[config][yaml][remote]") {
    auto config = load("syncs:\n"
                       "  - name: code\n"
                       "    source: /opt/code\n"
                       "    delay: 3\n"
                       "    target:\n"
                       "      - backup1:/srv/code\n"
                       "      - {host: backup2, path: /srv/code}\n"
                       "      - /mnt/local-copy\n");
    REQUIRE(config.syncs.size() == 3);
    CHECK(config.syncs[0].name == "code-1");
    CHECK(config.syncs[1].name == "code-2");
    CHECK(config.syncs[2].name == "code-3");
    CHECK(config.syncs[0].remote->host == "backup1");
    CHECK(config.syncs[1].remote->host == "backup2");
    CHECK_FALSE(config.syncs[2].remote);
    CHECK(config.syncs[2].target == "/mnt/local-copy");
    for (const auto& sync : config.syncs) {
        CHECK(sync.source == "/opt/code");
        CHECK(sync.delay_seconds == 3);
    }
    CHECK(error_of("syncs:\n  - source: /a\n    target: []\n") ==
          "test.yml:3:13: 'target' in sync 'sync1' is an empty list");
    CHECK(error_of("syncs:\n  - source: /a\n    target: [h:/x, h:/x]\n")
              .find("has the same target h:/x") != std::string::npos);
}

TEST_CASE("CLI: remote and repeated --target with SSH flags", "[app][cli][remote]") {
    auto selection = parse({"--source", "/data", "--target", "backup.example:2222:/srv/mirror",
                            "--target", "/mnt/copy", "--identity", "keys/id", "--known-hosts",
                            "/root/kh", "--agent-path", "/usr/bin/fsmirror", "--host-key-policy",
                            "accept-new", "--compress", "--keepalive", "3", "--name", "data"});
    REQUIRE(selection.config.syncs.size() == 2);
    const auto& remote = selection.config.syncs[0];
    CHECK(remote.name == "data-1");
    REQUIRE(remote.remote);
    CHECK(remote.remote->port == 2222);
    CHECK(remote.target == "backup.example:2222:/srv/mirror");
    CHECK(remote.ssh.identity_file == "/home/op/keys/id");
    CHECK(remote.ssh.known_hosts == "/root/kh");
    CHECK(remote.ssh.agent_path == "/usr/bin/fsmirror");
    CHECK(remote.ssh.host_key_policy == config::HostKeyPolicy::accept_new);
    CHECK(remote.ssh.compression);
    CHECK(remote.ssh.keepalive_seconds == 3);
    CHECK(selection.config.syncs[1].name == "data-2");
    CHECK_FALSE(selection.config.syncs[1].remote);

    CHECK_THROWS_WITH(parse({"--source", "/a", "--target", "host:relative"}),
                      Catch::Contains("must be absolute"));
    CHECK_THROWS_WITH(parse({"--source", "/a", "--target", "/b", "--identity", "k"}),
                      Catch::Contains("--identity applies to SSH targets only"));
    CHECK_THROWS_WITH(parse({"--source", "/a", "--target", "h:/b", "--host-key-policy", "yes"}),
                      Catch::Contains("strict or accept-new"));
    CHECK_THROWS_WITH(parse({"--source", "/a", "--target", "h:/b", "--target", "h:/b/"}),
                      Catch::Contains("given twice"));
    CHECK_THROWS_WITH(parse({"--config", "/etc/f.yml", "--identity", "k"}),
                      Catch::Contains("cannot be combined with --config"));
}

TEST_CASE("the shipped SSH example loads", "[config][yaml][remote]") {
    const auto examples =
        std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "examples";
    const auto config = config::load_yaml_config_file(examples / "ssh-targets.yml");
    REQUIRE(config.syncs.size() == 3);
    CHECK(config.syncs[0].target == "nexus@backup1.example:/opt/mcp-servers");
    CHECK(config.syncs[1].name == "volumes-1");
    CHECK(config.syncs[2].name == "volumes-2");
    CHECK(config.syncs[2].remote->port == 2222);
    CHECK(config.syncs[2].ssh.compression);
    CHECK_FALSE(config.syncs[1].ssh.compression);
    for (const auto& sync : config.syncs)
        CHECK(sync.ssh.identity_file == "/etc/fsmirror/id_ed25519");
}
