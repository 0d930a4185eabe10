// Every config in tests/lsyncd-configs loads (and the bad ones fail with file:line); the
// converted YAML of the local ones loads back to the same syncs.

#include "config/lua_loader.hpp"
#include "config/yaml_loader.hpp"
#include "config/yaml_writer.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace fs = std::filesystem;
using fsmirror::config::Config;
using fsmirror::config::ConfigError;
using fsmirror::config::DeleteMode;
using fsmirror::config::load_lsyncd_config_file;
using fsmirror::config::LsyncdCommandLineSettings;
using fsmirror::config::LsyncdLoad;

namespace {

const fs::path k_corpus = FSMIRROR_LSYNCD_CONFIGS;

LsyncdLoad load(const std::string& name) {
    return load_lsyncd_config_file(k_corpus / name, LsyncdCommandLineSettings{}, "/root");
}

std::vector<fs::path> lua_files(const fs::path& dir) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir))
        if (entry.path().extension() == ".lua")
            files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    return files;
}

} // namespace

TEST_CASE("every config in the corpus loads", "[config][lua][corpus]") {
    const std::vector<fs::path> files = lua_files(k_corpus);
    REQUIRE(files.size() >= 10);
    for (const fs::path& file : files) {
        INFO(file.string());
        const LsyncdLoad loaded =
            load_lsyncd_config_file(file, LsyncdCommandLineSettings{}, "/root");
        CHECK_FALSE(loaded.config.syncs.empty());
        CHECK(loaded.config.source_file == file);
        for (const auto& sync : loaded.config.syncs) {
            CHECK(sync.source.is_absolute());
            CHECK((sync.remote || fs::path(sync.target).is_absolute()));
        }
    }
}

TEST_CASE("corpus: the storage mirror", "[config][lua][corpus]") {
    const LsyncdLoad loaded = load("storage-mirror.lua");
    REQUIRE(loaded.config.syncs.size() == 1);
    const auto& sync = loaded.config.syncs[0];
    CHECK(sync.source == "/mnt/storage_do_1");
    CHECK(sync.target == "/mnt/storage_do_2");
    CHECK(sync.delay_seconds == 1);
    CHECK(sync.delete_mode == DeleteMode::always);
    CHECK(sync.inplace);
    CHECK_FALSE(sync.preserve.mode);
    CHECK(sync.preserve.times);
    const auto& settings = *loaded.config.lsyncd;
    CHECK(settings.insist);
    CHECK_FALSE(settings.nodaemon);
    CHECK(loaded.config.status_file == fs::path("/var/log/lsyncd/lsyncd.status"));
    CHECK(loaded.config.log.file == fs::path("/var/log/lsyncd/lsyncd.log"));
}

TEST_CASE("corpus: syncs built in a loop", "[config][lua][corpus]") {
    const LsyncdLoad loaded = load("loop-syncs.lua");
    REQUIRE(loaded.config.syncs.size() == 3);
    CHECK(loaded.config.syncs[1].name == "mirror-media");
    CHECK(loaded.config.syncs[1].source == "/srv/primary/media");
    CHECK(loaded.config.syncs[2].target == "/srv/secondary/db");
    for (const auto& sync : loaded.config.syncs) {
        CHECK(sync.max_delays == 5000); // settings{} wins over the sync
        CHECK(sync.delay_seconds == 1);
        CHECK(sync.excludes.size() == 3);
        CHECK(sync.preserve.mode);
    }
}

TEST_CASE("corpus: remote pushes become SSH targets", "[config][lua][corpus]") {
    {
        const LsyncdLoad loaded = load("remote-rsyncssh-push.lua");
        const auto& sync = loaded.config.syncs.at(0);
        REQUIRE(sync.remote);
        CHECK(sync.remote->user == "nexus");
        CHECK(sync.remote->host == "100.112.54.111");
        CHECK(sync.remote->path == "/opt/mcp-servers");
        CHECK(sync.remote->port == 2222);
        CHECK(sync.ssh.identity_file == fs::path("/root/.ssh/id_mirror"));
        CHECK(sync.ssh.host_key_policy == fsmirror::config::HostKeyPolicy::accept_new);
        CHECK(sync.ssh.compression);
        CHECK(sync.delay_seconds == 5);
        CHECK(sync.excludes.size() == 3);
    }
    {
        const LsyncdLoad loaded = load("remote-rsync-rsh.lua");
        const auto& sync = loaded.config.syncs.at(0);
        REQUIRE(sync.remote);
        CHECK(sync.remote->user == "nexus");
        CHECK(sync.remote->host == "100.112.54.111");
        CHECK(sync.remote->port == 22);
        CHECK(sync.target == "nexus@100.112.54.111:/opt/mcp-servers");
    }
    {
        const LsyncdLoad loaded = load("manual-layer4-rsyncssh.lua");
        const auto& sync = loaded.config.syncs.at(0);
        REQUIRE(sync.remote);
        CHECK(sync.remote->user == "mirror"); // from ssh.options.User
        CHECK(sync.remote->port == 2222);
        CHECK(sync.delete_mode == DeleteMode::running);
    }
}

TEST_CASE("corpus: excludeFrom", "[config][lua][corpus]") {
    const LsyncdLoad loaded = load("exclude-from.lua");
    CHECK(loaded.config.syncs.at(0).exclude_from == fs::path("/etc/lsyncd/data.exclude"));
    CHECK(loaded.config.lsyncd->nodaemon);
}

TEST_CASE("corpus: bad configs fail with file:line", "[config][lua][corpus]") {
    struct Bad {
        const char* file;
        int line;
        const char* says;
    };
    const std::vector<Bad> cases = {
        {"syntax-error.lua", 8, "'}' expected (to close '{' at line 5)"},
        {"unknown-key.lua", 1, "Parameter \"dealy\" unknown."},
        {"custom-layer.lua", 8, "onCreate = a function"},
        {"unknown-setting.lua", 1, "setting \"statusfile\" unknown."},
        {"settings-assignment.lua", 4, "Do not use settings = { ... }"},
        {"refused-rsync-option.lua", 1, "rsync.backup is not supported"},
        {"reads-files.lua", 2, "global 'io'"},
    };
    REQUIRE(lua_files(k_corpus / "bad").size() == cases.size());
    for (const Bad& bad : cases) {
        const fs::path file = k_corpus / "bad" / bad.file;
        INFO(file.string());
        try {
            load_lsyncd_config_file(file, LsyncdCommandLineSettings{}, "/root");
            FAIL("expected a ConfigError");
        } catch (const ConfigError& e) {
            const std::string message = e.what();
            CHECK_THAT(message,
                       Catch::StartsWith(file.string() + ":" + std::to_string(bad.line) + ": "));
            CHECK_THAT(message, Catch::Contains(bad.says));
        }
    }
}

TEST_CASE("converted YAML loads back to the same syncs", "[config][lua][corpus]") {
    for (const char* name :
         {"storage-mirror.lua", "loop-syncs.lua", "exclude-from.lua", "manual-layer4-rsync.lua",
          "manual-layer4-direct.lua", "inherit-local-table.lua", "manual-example-lrsync.lua"}) {
        INFO(name);
        const LsyncdLoad loaded = load(name);
        fsmirror::config::YamlComments comments;
        comments.header = {"a header comment"};
        comments.per_sync = {{"a sync comment that is long enough to be folded at a blank "
                              "somewhere after the ninety-sixth column of the line it is on"}};
        const std::string yaml = fsmirror::config::write_yaml_config(loaded.config, comments);
        INFO(yaml);
        const Config back = fsmirror::config::load_yaml_config_text(yaml, "converted.yml", "/");
        REQUIRE(back.syncs.size() == loaded.config.syncs.size());
        for (std::size_t i = 0; i < back.syncs.size(); ++i) {
            const auto& a = loaded.config.syncs[i];
            const auto& b = back.syncs[i];
            CHECK(a.name == b.name);
            CHECK(a.source == b.source);
            CHECK(a.target == b.target);
            CHECK(a.delay_seconds == b.delay_seconds);
            CHECK(a.max_delays == b.max_delays);
            CHECK(a.delete_mode == b.delete_mode);
            CHECK(a.excludes == b.excludes);
            CHECK(a.exclude_from == b.exclude_from);
            CHECK(a.preserve.mode == b.preserve.mode);
            CHECK(a.preserve.times == b.preserve.times);
            CHECK(a.preserve.links == b.preserve.links);
            CHECK(a.preserve.owner == b.preserve.owner);
            CHECK(a.inplace == b.inplace);
            CHECK(a.fsync == b.fsync);
            CHECK(a.remote.has_value() == b.remote.has_value());
            if (a.remote && b.remote) {
                CHECK(a.remote->user == b.remote->user);
                CHECK(a.remote->host == b.remote->host);
                CHECK(a.remote->port == b.remote->port);
                CHECK(a.remote->path == b.remote->path);
                CHECK(a.ssh.identity_file == b.ssh.identity_file);
                CHECK(a.ssh.known_hosts == b.ssh.known_hosts);
                CHECK(a.ssh.host_key_policy == b.ssh.host_key_policy);
                CHECK(a.ssh.compression == b.ssh.compression);
            }
        }
        CHECK(back.log.file == loaded.config.log.file);
    }
}

TEST_CASE("docs/lsyncd-compatibility.md covers every rsync key lsyncd accepts",
          "[config][lua][docs]") {
    const fs::path doc = k_corpus.parent_path().parent_path() / "docs" / "lsyncd-compatibility.md";
    std::ifstream in(doc);
    REQUIRE(in);
    std::ostringstream contents;
    contents << in.rdbuf();
    const std::string text = contents.str();
    // lsyncd's checkgauge for rsync={...} (default-rsync.lua).
    for (const char* key :
         {"acls",          "append",        "append_verify",   "archive",        "backup",
          "backup_dir",    "binary",        "bwlimit",         "checksum",       "chown",
          "chmod",         "compress",      "copy_dirlinks",   "copy_links",     "cvs_exclude",
          "dry_run",       "executability", "existing",        "group",          "groupmap",
          "hard_links",    "ignore_times",  "inplace",         "ipv4",           "ipv6",
          "keep_dirlinks", "links",         "one_file_system", "omit_dir_times", "omit_link_times",
          "owner",         "password_file", "perms",           "protect_args",   "prune_empty_dirs",
          "quiet",         "rsh",           "rsync_path",      "sparse",         "suffix",
          "temp_dir",      "timeout",       "times",           "update",         "usermap",
          "verbose",       "whole_file",    "xattrs",          "_extra"}) {
        INFO(key);
        CHECK(text.find(std::string("`") + key + "`") != std::string::npos);
        // And the translation knows it (a false value is accepted for every key).
        CHECK_NOTHROW(fsmirror::config::load_lsyncd_config_text(
            std::string("sync { default.rsync, source = '/a', target = '/b', rsync = { ") + key +
                " = false } }",
            "t.lua", LsyncdCommandLineSettings{}, "/"));
    }
}
