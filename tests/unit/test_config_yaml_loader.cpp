#include "config/yaml_loader.hpp"

#include <cstdlib>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

using fsmirror::base::LogLevel;
using fsmirror::config::Config;
using fsmirror::config::ConfigError;
using fsmirror::config::DeleteMode;
using fsmirror::config::FsyncPolicy;
using fsmirror::config::load_yaml_config_file;
using fsmirror::config::load_yaml_config_text;
using fsmirror::config::SyncConfig;

namespace {

const std::filesystem::path k_base = "/etc/fsmirror";

Config load(const std::string& text) {
    return load_yaml_config_text(text, "test.yml", k_base);
}

// Returns what() of the ConfigError the text raises; fails the test when it loads.
std::string error_of(const std::string& text) {
    try {
        load(text);
    } catch (const ConfigError& e) {
        return e.what();
    }
    FAIL("expected a ConfigError for:\n" << text);
    return {};
}

// The smallest valid sync, three lines; tests append keys from line 4 on.
const std::string k_minimal = "syncs:\n"
                              "  - source: /a\n"
                              "    target: /b\n";

// A fresh directory, removed with its contents at scope exit.
class TempDir {
public:
    TempDir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "fsmirror-config-test-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr)
            throw std::runtime_error("mkdtemp failed");
        m_path = pattern;
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::permissions(m_path, std::filesystem::perms::owner_all, ignored);
        std::filesystem::remove_all(m_path, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return m_path; }

private:
    std::filesystem::path m_path;
};

void write_file(const std::filesystem::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    REQUIRE(out.good());
}

} // namespace

TEST_CASE("a file setting every key loads into the structs", "[config][yaml]") {
    const Config config = load("log:\n"
                               "  level: debug\n"
                               "  file: logs/fsmirror.log\n"
                               "syncs:\n"
                               "  - name: storage\n"
                               "    source: /mnt/storage_do_1\n"
                               "    target: /mnt/storage_do_2\n"
                               "    delay: 1.5\n"
                               "    max_delays: 250\n"
                               "    delete: running\n"
                               "    exclude: [\"*.tmp\", /cache/]\n"
                               "    exclude_from: excludes.txt\n"
                               "    preserve: { mode: false, times: false, links: true, "
                               "owner: true }\n"
                               "    inplace: true\n"
                               "    fsync: file\n"
                               "    workers: 64\n");
    CHECK(config.log.level == LogLevel::debug);
    REQUIRE(config.log.file);
    CHECK(*config.log.file == "/etc/fsmirror/logs/fsmirror.log");
    CHECK_FALSE(config.source_file);
    REQUIRE(config.syncs.size() == 1);
    const SyncConfig& sync = config.syncs[0];
    CHECK(sync.name == "storage");
    CHECK(sync.source == "/mnt/storage_do_1");
    CHECK(sync.target == "/mnt/storage_do_2");
    CHECK(sync.delay_seconds == 1.5);
    CHECK(sync.max_delays == 250);
    CHECK(sync.delete_mode == DeleteMode::running);
    CHECK(sync.excludes == std::vector<std::string>{"*.tmp", "/cache/"});
    REQUIRE(sync.exclude_from);
    CHECK(*sync.exclude_from == "/etc/fsmirror/excludes.txt");
    CHECK_FALSE(sync.preserve.mode);
    CHECK_FALSE(sync.preserve.times);
    CHECK(sync.preserve.links);
    CHECK(sync.preserve.owner == std::optional<bool>(true));
    CHECK(sync.inplace);
    CHECK(sync.fsync == FsyncPolicy::file);
    CHECK(sync.workers == 64);
}

TEST_CASE("keys left out take the documented defaults", "[config][yaml]") {
    const Config config = load(k_minimal);
    CHECK(config.log.level == LogLevel::info);
    CHECK_FALSE(config.log.file);
    REQUIRE(config.syncs.size() == 1);
    const SyncConfig& sync = config.syncs[0];
    CHECK(sync.name == "sync1");
    CHECK(sync.delay_seconds == 1.0);
    CHECK(sync.max_delays == 1000);
    CHECK(sync.delete_mode == DeleteMode::always);
    CHECK(sync.excludes.empty());
    CHECK_FALSE(sync.exclude_from);
    CHECK(sync.preserve.mode);
    CHECK(sync.preserve.times);
    CHECK(sync.preserve.links);
    CHECK_FALSE(sync.preserve.owner);
    CHECK_FALSE(sync.inplace);
    CHECK(sync.fsync == FsyncPolicy::batch);
    CHECK(sync.workers == 4);
}

TEST_CASE("each value form maps onto its enum", "[config][yaml]") {
    const auto sync_with = [](const std::string& line) {
        return load(k_minimal + line).syncs[0];
    };
    CHECK(sync_with("    delete: true\n").delete_mode == DeleteMode::always);
    CHECK(sync_with("    delete: false\n").delete_mode == DeleteMode::never);
    CHECK(sync_with("    delete: startup\n").delete_mode == DeleteMode::startup);
    CHECK(sync_with("    delete: running\n").delete_mode == DeleteMode::running);
    CHECK(sync_with("    fsync: file\n").fsync == FsyncPolicy::file);
    CHECK(sync_with("    fsync: batch\n").fsync == FsyncPolicy::batch);
    CHECK(sync_with("    fsync: none\n").fsync == FsyncPolicy::none);
    CHECK(sync_with("    preserve: {owner: false}\n").preserve.owner == std::optional(false));
    CHECK_FALSE(sync_with("    preserve: {owner: auto}\n").preserve.owner);
    CHECK(sync_with("    delay: 0\n").delay_seconds == 0.0);
    CHECK(sync_with("    delay: 2\n").delay_seconds == 2.0);
    CHECK(sync_with("    delay: 0.25\n").delay_seconds == 0.25);
    CHECK(sync_with("    delay: \"3\"\n").delay_seconds == 3.0); // quoting does not matter
    CHECK(sync_with("    max_delays: 1\n").max_delays == 1);
    CHECK(sync_with("    workers: 1\n").workers == 1);
    CHECK(sync_with("    exclude: \"*.swp\"\n").excludes == std::vector<std::string>{"*.swp"});
    CHECK(sync_with("    exclude: []\n").excludes.empty());
    CHECK(sync_with("    exclude:\n      - yes\n      - '~'\n").excludes ==
          std::vector<std::string>{"yes", "~"});
    CHECK(sync_with("    name: a-b_c.1\n").name == "a-b_c.1");
    CHECK(sync_with("    name: 2024\n").name == "2024");

    CHECK(load("log: {level: warn}\n" + k_minimal).log.level == LogLevel::warning);
    CHECK(load("log: {level: warning}\n" + k_minimal).log.level == LogLevel::warning);
    CHECK(load("log: {level: error}\n" + k_minimal).log.level == LogLevel::error);
    CHECK(load("log: {level: info}\n" + k_minimal).log.level == LogLevel::info);
}

TEST_CASE("defaults apply to every sync that does not set its own", "[config][yaml]") {
    const Config config = load("defaults:\n"
                               "  delay: 5\n"
                               "  max_delays: 10\n"
                               "  delete: startup\n"
                               "  exclude: ['*.tmp', '*.swp']\n"
                               "  exclude_from: common.txt\n"
                               "  preserve: {owner: true, times: false}\n"
                               "  inplace: true\n"
                               "  fsync: none\n"
                               "  workers: 2\n"
                               "syncs:\n"
                               "  - source: /a\n"
                               "    target: /b\n"
                               "  - source: /c\n"
                               "    target: /d\n"
                               "    delay: 0.5\n"
                               "    max_delays: 20\n"
                               "    delete: false\n"
                               "    exclude: '*.log'\n"
                               "    exclude_from: /etc/other.txt\n"
                               "    preserve: {owner: auto}\n"
                               "    inplace: false\n"
                               "    fsync: file\n"
                               "    workers: 8\n");
    REQUIRE(config.syncs.size() == 2);

    const SyncConfig& inherits = config.syncs[0];
    CHECK(inherits.name == "sync1");
    CHECK(inherits.delay_seconds == 5.0);
    CHECK(inherits.max_delays == 10);
    CHECK(inherits.delete_mode == DeleteMode::startup);
    CHECK(inherits.excludes == std::vector<std::string>{"*.tmp", "*.swp"});
    CHECK(inherits.exclude_from == std::filesystem::path("/etc/fsmirror/common.txt"));
    CHECK(inherits.preserve.owner == std::optional(true));
    CHECK_FALSE(inherits.preserve.times);
    CHECK(inherits.preserve.mode);
    CHECK(inherits.inplace);
    CHECK(inherits.fsync == FsyncPolicy::none);
    CHECK(inherits.workers == 2);

    const SyncConfig& overrides = config.syncs[1];
    CHECK(overrides.name == "sync2");
    CHECK(overrides.delay_seconds == 0.5);
    CHECK(overrides.max_delays == 20);
    CHECK(overrides.delete_mode == DeleteMode::never);
    CHECK(overrides.excludes == std::vector<std::string>{"*.log"}); // replaced, not appended
    CHECK(overrides.exclude_from == std::filesystem::path("/etc/other.txt"));
    CHECK_FALSE(overrides.preserve.owner);
    CHECK_FALSE(overrides.preserve.times); // preserve is merged key by key
    CHECK_FALSE(overrides.inplace);
    CHECK(overrides.fsync == FsyncPolicy::file);
    CHECK(overrides.workers == 8);
}

TEST_CASE("empty sections are the same as absent ones", "[config][yaml]") {
    const Config config = load("log:\n"
                               "defaults:\n"
                               "syncs:\n"
                               "  - source: /a\n"
                               "    target: /b\n"
                               "    preserve:\n");
    CHECK(config.log.level == LogLevel::info);
    CHECK(config.syncs.at(0).delay_seconds == 1.0);
    CHECK(config.syncs.at(0).preserve.mode);
}

TEST_CASE("paths are made absolute against base_dir and normalised", "[config][yaml]") {
    const Config config = load("log: {file: ../log/fsmirror.log}\n"
                               "syncs:\n"
                               "  - source: data/./in/\n"
                               "    target: /mnt//x/../y/\n"
                               "    exclude_from: lists/../ex.txt\n"
                               "  - source: .\n"
                               "    target: /\n");
    CHECK(config.log.file == std::filesystem::path("/etc/log/fsmirror.log"));
    CHECK(config.syncs[0].source == "/etc/fsmirror/data/in");
    CHECK(config.syncs[0].target == "/mnt/y");
    CHECK(config.syncs[0].exclude_from == std::filesystem::path("/etc/fsmirror/ex.txt"));
    CHECK(config.syncs[1].source == "/etc/fsmirror");
    CHECK(config.syncs[1].target == "/");

    const Config relative_base =
        load_yaml_config_text(k_minimal + "    exclude_from: e.txt\n", "x.yml", "conf");
    CHECK(relative_base.syncs[0].exclude_from == std::filesystem::current_path() / "conf/e.txt");
}

TEST_CASE("unknown keys are refused where they appear", "[config][yaml]") {
    CHECK(error_of(k_minimal + "    dealy: 1\n") ==
          "test.yml:4:5: unknown key 'dealy' in sync 'sync1' (known keys: name, source, target, "
          "delay, max_delays, delete, exclude, exclude_from, preserve, inplace, fsync, "
          "workers, ssh, sqlite, max_delete_percent, max_delete_files, require_mount, "
          "verify_interval, verify_checksum, events)");
    CHECK(error_of("syncs:\n"
                   "  - name: storage\n"
                   "    source: /a\n"
                   "    target: /b\n"
                   "    Delay: 1\n")
              .starts_with("test.yml:5:5: unknown key 'Delay' in sync 'storage' (known keys: "));
    // The name is known even when it comes after the mistake.
    CHECK(error_of("syncs:\n"
                   "  - dealy: 1\n"
                   "    name: late\n")
              .starts_with("test.yml:2:5: unknown key 'dealy' in sync 'late' "));
    CHECK(error_of("sync:\n  - source: /a\n") ==
          "test.yml:1:1: unknown key 'sync' at the top level (known keys: log, defaults, syncs, "
          "status_file, status_interval, state_dir, monitor, alerts, metrics)");
    CHECK(error_of(k_minimal + "logs: {}\n") ==
          "test.yml:4:1: unknown key 'logs' at the top level (known keys: log, defaults, syncs, "
          "status_file, status_interval, state_dir, monitor, alerts, metrics)");
    CHECK(error_of("log:\n  level: info\n  path: /x\n" + k_minimal) ==
          "test.yml:3:3: unknown key 'path' in 'log' (known keys: level, file)");
    CHECK(error_of("defaults:\n  wrokers: 2\n" + k_minimal) ==
          "test.yml:2:3: unknown key 'wrokers' in 'defaults' (known keys: delay, max_delays, "
          "delete, exclude, exclude_from, preserve, inplace, fsync, workers, ssh, sqlite, "
          "max_delete_percent, max_delete_files, require_mount, verify_interval, "
          "verify_checksum, events)");
    CHECK(error_of(k_minimal + "    preserve:\n      mode: true\n      acls: true\n") ==
          "test.yml:6:7: unknown key 'acls' in 'preserve' of sync 'sync1' (known keys: mode, "
          "times, links, owner)");
    CHECK(error_of("defaults:\n  preserve: {xattrs: true}\n" + k_minimal) ==
          "test.yml:2:14: unknown key 'xattrs' in 'preserve' of 'defaults' (known keys: mode, "
          "times, links, owner)");
    CHECK(error_of("defaults:\n  source: /a\n" + k_minimal) ==
          "test.yml:2:3: 'source' cannot be set in 'defaults'; set it in each sync");
    CHECK(error_of("defaults:\n  name: x\n" + k_minimal).starts_with("test.yml:2:3: 'name' "));
    CHECK(error_of("defaults:\n  target: /x\n" + k_minimal).starts_with("test.yml:2:3: 'target' "));
}

TEST_CASE("duplicate and non-name keys are refused", "[config][yaml]") {
    CHECK(error_of(k_minimal + "    delay: 1\n    delay: 2\n") ==
          "test.yml:5:5: duplicate key 'delay' in sync #1 (first set on line 4)");
    CHECK(error_of(k_minimal + "syncs: []\n") ==
          "test.yml:4:1: duplicate key 'syncs' in the configuration (first set on line 1)");
    CHECK(error_of(k_minimal + "    [a]: 1\n") ==
          "test.yml:4:5: keys in sync #1 must be names, got a list");
}

TEST_CASE("values of the wrong type are refused with their position", "[config][yaml]") {
    const auto error_for = [](const std::string& line) {
        return error_of(k_minimal + line);
    };

    CHECK(error_for("    delay: abc\n") ==
          "test.yml:4:12: 'delay' must be a number of seconds >= 0, got 'abc'");
    CHECK(error_for("    delay: -1\n") ==
          "test.yml:4:12: 'delay' must be a number of seconds >= 0, got '-1'");
    CHECK(error_for("    delay: 1s\n") ==
          "test.yml:4:12: 'delay' must be a number of seconds >= 0, got '1s'");
    CHECK(error_for("    delay: .inf\n") ==
          "test.yml:4:12: 'delay' must be a number of seconds >= 0, got '.inf'");
    CHECK(error_for("    delay: nan\n") ==
          "test.yml:4:12: 'delay' must be a number of seconds >= 0, got 'nan'");
    CHECK(error_for("    delay: [1]\n") ==
          "test.yml:4:12: 'delay' must be a number of seconds >= 0, got a list");
    // An empty value is reported at its key.
    CHECK(error_for("    delay:\n") ==
          "test.yml:4:5: 'delay' must be a number of seconds >= 0, got nothing");
    CHECK(error_for("    delay: 86401\n") ==
          "test.yml:4:12: 'delay' must be at most 86400 seconds (one day), got '86401'");

    CHECK(error_for("    workers: -1\n") ==
          "test.yml:4:14: 'workers' must be an integer from 1 to 64, got '-1'");
    CHECK(error_for("    workers: 0\n") ==
          "test.yml:4:14: 'workers' must be an integer from 1 to 64, got '0'");
    CHECK(error_for("    workers: 65\n") ==
          "test.yml:4:14: 'workers' must be an integer from 1 to 64, got '65'");
    CHECK(error_for("    workers: 2.5\n") ==
          "test.yml:4:14: 'workers' must be an integer from 1 to 64, got '2.5'");
    CHECK(error_for("    workers: 0x10\n") ==
          "test.yml:4:14: 'workers' must be an integer from 1 to 64, got '0x10'");
    CHECK(error_for("    max_delays: 0\n") ==
          "test.yml:4:17: 'max_delays' must be an integer >= 1, got '0'");
    CHECK(error_for("    max_delays: 1e3\n") ==
          "test.yml:4:17: 'max_delays' must be an integer >= 1, got '1e3'");
    CHECK(error_for("    max_delays: 99999999999999999999999\n") ==
          "test.yml:4:17: 'max_delays' must be an integer >= 1, got '99999999999999999999999'");

    CHECK(error_for("    delete: maybe\n") ==
          "test.yml:4:13: 'delete' must be one of true, false, startup, running; got 'maybe'");
    CHECK(error_for("    delete: yes\n") ==
          "test.yml:4:13: 'delete' must be one of true, false, startup, running; got 'yes'");
    CHECK(error_for("    fsync: always\n") ==
          "test.yml:4:12: 'fsync' must be one of file, batch, none; got 'always'");

    CHECK(error_for("    inplace: yes\n") ==
          "test.yml:4:14: 'inplace' must be true or false, got 'yes'");
    CHECK(error_for("    inplace: on\n") ==
          "test.yml:4:14: 'inplace' must be true or false, got 'on'");
    CHECK(error_for("    inplace: True\n") ==
          "test.yml:4:14: 'inplace' must be true or false, got 'True'");
    CHECK(error_for("    inplace: 1\n") ==
          "test.yml:4:14: 'inplace' must be true or false, got '1'");

    CHECK(error_for("    preserve: true\n") ==
          "test.yml:4:15: 'preserve' must be a mapping of mode, times, links, owner to "
          "true/false, got 'true'");
    CHECK(error_for("    preserve: {mode: no}\n") ==
          "test.yml:4:22: 'preserve.mode' must be true or false, got 'no'");
    CHECK(error_for("    preserve: {times: 1}\n") ==
          "test.yml:4:23: 'preserve.times' must be true or false, got '1'");
    CHECK(error_for("    preserve: {links: off}\n") ==
          "test.yml:4:23: 'preserve.links' must be true or false, got 'off'");
    CHECK(error_for("    preserve: {links: false}\n") ==
          "test.yml:4:23: 'preserve.links: false' (copying what symlinks point to) is not "
          "supported yet; symlinks are always mirrored as symlinks");
    CHECK(error_for("    preserve: {owner: root}\n") ==
          "test.yml:4:23: 'preserve.owner' must be true, false or auto, got 'root'");

    CHECK(error_for("    exclude: {a: b}\n") ==
          "test.yml:4:14: 'exclude' must be a pattern or a list of patterns (non-empty "
          "strings), got a mapping");
    CHECK(error_for("    exclude: ['*.tmp', [x]]\n") ==
          "test.yml:4:24: 'exclude' must be a pattern or a list of patterns (non-empty "
          "strings), got a list");
    CHECK(error_for("    exclude: ['']\n") ==
          "test.yml:4:15: 'exclude' must be a pattern or a list of patterns (non-empty "
          "strings), got ''");
    CHECK(error_for("    exclude_from: [a]\n") ==
          "test.yml:4:19: 'exclude_from' must be a path, got a list");

    CHECK(error_for("    name: my sync\n") ==
          "test.yml:4:11: 'name' must consist of letters, digits, '_', '.' and '-' (and not be "
          "'.' or '..'), got 'my sync'");
    CHECK(error_for("    name: ..\n").starts_with("test.yml:4:11: 'name' must consist of "));
    CHECK(error_for("    name: a/b\n").starts_with("test.yml:4:11: 'name' must consist of "));
    CHECK(error_for("    name: ''\n") ==
          "test.yml:4:11: 'name' must be a non-empty string, got ''");

    CHECK(error_of("log: {level: verbose}\n" + k_minimal) ==
          "test.yml:1:14: 'log.level' must be one of debug, info, warning, error; got "
          "'verbose'");
    CHECK(error_of("log: {file: [a]}\n" + k_minimal) ==
          "test.yml:1:13: 'log.file' must be a path, got a list");
    CHECK(error_of("log: debug\n" + k_minimal) ==
          "test.yml:1:6: 'log' must be a mapping, got 'debug'");
    CHECK(error_of("defaults: [delay]\n" + k_minimal) ==
          "test.yml:1:11: 'defaults' must be a mapping, got a list");
    CHECK(error_of("defaults: {delay: x}\n" + k_minimal) ==
          "test.yml:1:19: 'delay' must be a number of seconds >= 0, got 'x'");
}

TEST_CASE("sources and targets are required and remote targets well formed", "[config][yaml]") {
    CHECK(error_of("syncs:\n  - source: /a\n") ==
          "test.yml:2:5: 'target' is required in sync 'sync1'");
    CHECK(error_of("syncs:\n  - name: x\n    target: /b\n") ==
          "test.yml:2:5: 'source' is required in sync 'x'");
    CHECK(error_of("syncs:\n  - source: /a\n    target:\n") ==
          "test.yml:3:5: 'target' must be a non-empty string, got nothing");
    CHECK(error_of("syncs:\n  - source: [/a]\n    target: /b\n") ==
          "test.yml:2:13: 'source' must be a path, got a list");
    CHECK(load("syncs:\n  - source: /a\n    target: backup:/srv/b\n").syncs[0].remote);
    CHECK(error_of("syncs:\n  - source: /a\n    target: user@host:b\n")
              .starts_with("test.yml:3:13: 'target' in sync 'sync1': 'user@host:b' is not a "
                           "remote target"));
    // A ':' after the first '/' is part of a local path.
    CHECK(load("syncs:\n  - source: /a\n    target: /b/c:d\n").syncs[0].target == "/b/c:d");
}

TEST_CASE("the syncs list must be present and well formed", "[config][yaml]") {
    CHECK(error_of("log: {level: info}\n") ==
          "test.yml:1:1: 'syncs' is required: a list with at least one source and target");
    CHECK(error_of("syncs: []\n") ==
          "test.yml:1:8: 'syncs' must be a non-empty list of syncs, got a list");
    CHECK(error_of("syncs:\n") ==
          "test.yml:1:1: 'syncs' must be a non-empty list of syncs, got nothing");
    CHECK(error_of("syncs: {source: /a}\n") ==
          "test.yml:1:8: 'syncs' must be a non-empty list of syncs, got a mapping");
    CHECK(error_of("syncs:\n  - /a\n") ==
          "test.yml:2:5: sync #1 must be a mapping with at least 'source' and 'target', got "
          "'/a'");
    CHECK(error_of("") == "test.yml:1:1: the configuration is empty; 'syncs' is required");
    CHECK(error_of("# nothing yet\n") ==
          "test.yml:1:1: the configuration is empty; 'syncs' is required");
    CHECK(error_of("- a\n") ==
          "test.yml:1:1: the configuration must be a mapping with a 'syncs' list, got a list");
    CHECK(error_of(k_minimal + "---\n" + k_minimal) ==
          "test.yml:5:1: only one YAML document is allowed");
}

TEST_CASE("sync names and targets must be unique", "[config][yaml]") {
    CHECK(error_of("syncs:\n"
                   "  - name: storage\n"
                   "    source: /a\n"
                   "    target: /b\n"
                   "  - name: storage\n"
                   "    source: /c\n"
                   "    target: /d\n") ==
          "test.yml:5:5: duplicate sync name 'storage' (also used by the sync on line 2); names "
          "must be unique");
    // A default name can collide with an explicit one.
    CHECK(error_of("syncs:\n"
                   "  - name: sync2\n"
                   "    source: /a\n"
                   "    target: /b\n"
                   "  - source: /c\n"
                   "    target: /d\n") ==
          "test.yml:5:5: duplicate sync name 'sync2' (also used by the sync on line 2); names "
          "must be unique");
    // Targets are compared after normalisation.
    CHECK(error_of("syncs:\n"
                   "  - source: /a\n"
                   "    target: /mnt/b\n"
                   "  - source: /c\n"
                   "    target: /mnt/./b/\n") ==
          "test.yml:4:5: sync 'sync2' has the same target /mnt/b as sync 'sync1' on line 2");
    const Config two = load("syncs:\n"
                            "  - source: /a\n"
                            "    target: /b\n"
                            "  - source: /a\n"
                            "    target: /c\n");
    REQUIRE(two.syncs.size() == 2);
    CHECK(two.syncs[1].name == "sync2");
}

TEST_CASE("YAML syntax errors carry their position", "[config][yaml]") {
    // yaml-cpp's own wording follows the prefix; the position is where the parser gave up.
    CHECK(error_of("syncs:\n"
                   "  - source: /a\n"
                   "    target: /b\n"
                   "   delay: 1\n")
              .starts_with("test.yml:4:4: YAML syntax error: "));
    CHECK(error_of("log:\n  level: info\n   file: x\n")
              .starts_with("test.yml:3:8: YAML syntax error: "));
    CHECK(error_of("syncs:\n  - source: /a\n\ttarget: /b\n")
              .starts_with("test.yml:3:1: YAML syntax error: "));
    CHECK(error_of("syncs: *nowhere\n").starts_with("test.yml:1:8: YAML syntax error: "));
    // An unclosed flow list is noticed at the end of the text.
    CHECK(error_of("syncs:\n  - source: [/a,\n    target: /b\n")
              .starts_with("test.yml:4:1: YAML syntax error: "));
}

TEST_CASE("a config file resolves paths against its directory", "[config][yaml]") {
    TempDir dir;
    std::filesystem::create_directory(dir.path() / "etc");
    const auto file = dir.path() / "etc" / "fsmirror.yml";
    write_file(file, "syncs:\n"
                     "  - name: local\n"
                     "    source: ../src\n"
                     "    target: dst\n");

    // Given through a relative-looking spelling, it is still recorded as an absolute path.
    const Config config = load_yaml_config_file(dir.path() / "etc" / "." / "fsmirror.yml");
    REQUIRE(config.source_file);
    CHECK(*config.source_file == file);
    REQUIRE(config.syncs.size() == 1);
    CHECK(config.syncs[0].source == dir.path() / "src");
    CHECK(config.syncs[0].target == (dir.path() / "etc" / "dst").string());
}

TEST_CASE("errors from a config file name the file", "[config][yaml]") {
    TempDir dir;
    const auto file = dir.path() / "fsmirror.yml";
    write_file(file, "syncs:\n"
                     "  - name: storage\n"
                     "    source: /a\n"
                     "    target: /b\n"
                     "    dealy: 1\n");
    try {
        load_yaml_config_file(file);
        FAIL("expected a ConfigError");
    } catch (const ConfigError& e) {
        CHECK(std::string(e.what()).starts_with(file.string() +
                                                ":5:5: unknown key 'dealy' in sync 'storage'"));
    }
}

TEST_CASE("an unreadable config file is a ConfigError naming it", "[config][yaml]") {
    TempDir dir;
    const auto missing = dir.path() / "missing.yml";
    CHECK_THROWS_MATCHES(load_yaml_config_file(missing), ConfigError,
                         Catch::Message("cannot read config file " + missing.string() +
                                        ": No such file or directory"));
    CHECK_THROWS_MATCHES(
        load_yaml_config_file(dir.path()), ConfigError,
        Catch::Message("cannot read config file " + dir.path().string() + ": Is a directory"));
    if (::geteuid() != 0) { // root reads anything
        const auto locked = dir.path() / "locked.yml";
        write_file(locked, k_minimal);
        std::filesystem::permissions(locked, std::filesystem::perms::none);
        CHECK_THROWS_MATCHES(
            load_yaml_config_file(locked), ConfigError,
            Catch::Message("cannot read config file " + locked.string() + ": Permission denied"));
    }
}

TEST_CASE("the shipped example files load", "[config][yaml]") {
    // __FILE__ is tests/unit/<this file>, absolute under CMake, relative to the root otherwise.
    const auto examples =
        std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "examples";

    const Config local = load_yaml_config_file(examples / "local-mirror.yml");
    REQUIRE(local.syncs.size() == 1);
    CHECK(local.syncs[0].source == "/mnt/storage_do_1");
    CHECK(local.syncs[0].target == "/mnt/storage_do_2");
    CHECK(local.syncs[0].delay_seconds == 1.0);
    CHECK_FALSE(local.syncs[0].excludes.empty());

    const Config several = load_yaml_config_file(examples / "several-syncs.yml");
    CHECK(several.syncs.size() >= 2);
}

TEST_CASE("the sqlite section loads, merges with defaults and refuses mistakes",
          "[config][yaml][sqlite]") {
    SECTION("defaults: on, any file, the delay as interval, the default temp directory") {
        const SyncConfig sync = load(k_minimal).syncs[0];
        CHECK(sync.sqlite.enabled);
        CHECK(sync.sqlite.paths.empty());
        CHECK_FALSE(sync.sqlite.interval_seconds);
        CHECK_FALSE(sync.sqlite.temp_dir);
    }
    SECTION("every key") {
        const SyncConfig sync = load(k_minimal + "    sqlite:\n"
                                                 "      enabled: false\n"
                                                 "      paths: [\"*.db\", \"/var/lib/app/\"]\n"
                                                 "      interval: 2.5\n"
                                                 "      temp_dir: tmp/snapshots\n")
                                    .syncs[0];
        CHECK_FALSE(sync.sqlite.enabled);
        CHECK(sync.sqlite.paths == std::vector<std::string>{"*.db", "/var/lib/app/"});
        CHECK(sync.sqlite.interval_seconds == 2.5);
        CHECK(sync.sqlite.temp_dir == std::filesystem::path("/etc/fsmirror/tmp/snapshots"));
    }
    SECTION("a sync's keys refine the defaults' key by key") {
        const Config config = load("defaults:\n"
                                   "  sqlite: {interval: 10, paths: \"*.sqlite\"}\n"
                                   "syncs:\n"
                                   "  - source: /a\n"
                                   "    target: /b\n"
                                   "    sqlite: {enabled: false}\n"
                                   "  - source: /c\n"
                                   "    target: /d\n");
        CHECK_FALSE(config.syncs[0].sqlite.enabled);
        CHECK(config.syncs[0].sqlite.interval_seconds == 10);
        CHECK(config.syncs[1].sqlite.enabled);
        CHECK(config.syncs[1].sqlite.paths == std::vector<std::string>{"*.sqlite"});
    }
    SECTION("mistakes name the key and its place") {
        CHECK_THAT(error_of(k_minimal + "    sqlite: yes\n"),
                   Catch::Contains("test.yml:4:") && Catch::Contains("'sqlite' must be a mapping"));
        CHECK_THAT(error_of(k_minimal + "    sqlite: {enabled: on}\n"),
                   Catch::Contains("'sqlite.enabled' must be true or false"));
        CHECK_THAT(error_of(k_minimal + "    sqlite: {interval: -1}\n"),
                   Catch::Contains("'sqlite.interval' must be a number of seconds"));
        CHECK_THAT(error_of(k_minimal + "    sqlite: {paths: [\"\"]}\n"),
                   Catch::Contains("'sqlite.paths'"));
        CHECK_THAT(error_of(k_minimal + "    sqlite: {intervall: 1}\n"),
                   Catch::Contains("unknown key 'intervall' in 'sqlite' of sync 'sync1'") &&
                       Catch::Contains("enabled, paths, interval, temp_dir"));
    }
}

TEST_CASE("events picks the event source, auto by default", "[config][yaml]") {
    CHECK(load(k_minimal).syncs[0].events == fsmirror::config::EventsBackend::automatic);
    CHECK(load(k_minimal + "    events: fanotify\n").syncs[0].events ==
          fsmirror::config::EventsBackend::fanotify);
    CHECK(load("defaults:\n  events: inotify\n" + k_minimal).syncs[0].events ==
          fsmirror::config::EventsBackend::inotify);
    CHECK(error_of(k_minimal + "    events: dnotify\n") ==
          "test.yml:4:13: 'events' must be one of auto, inotify, fanotify; got 'dnotify'");
}

// Found by fuzz/fuzz_yaml_config: yaml-cpp 0.7's LoadAll never returned on this stream (it
// yields empty documents forever without consuming input). The loader now looks at two
// documents at most.
TEST_CASE("a stream yaml-cpp's LoadAll loops on is refused at once", "[config][yaml]") {
    const std::string text =
        ",,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,"
        "sync\n:  s- &a {narce:}\n  - *a\n";
    CHECK_THROWS_AS(load_yaml_config_text(text, "fuzz.yml", "/"), ConfigError);
}

TEST_CASE("lists and mappings nested too deep are refused before yaml-cpp builds them",
          "[config][yaml]") {
    const std::string flow =
        "log:\n  level: info\nsyncs: " + std::string(40, '[') + std::string(40, ']') + "\n";
    CHECK_THROWS_WITH(load_yaml_config_text(flow, "deep.yml", "/"),
                      Catch::Contains("deep.yml:3:") &&
                          Catch::Contains("nested more than 32 deep"));
    std::string block = "syncs:\n";
    for (int level = 0; level < 40; ++level)
        block += std::string(static_cast<std::size_t>(2 * level + 2), ' ') + "k" +
                 std::to_string(level) + ":\n";
    CHECK_THROWS_WITH(load_yaml_config_text(block, "deep.yml", "/"),
                      Catch::Contains("deep.yml:33:") &&
                          Catch::Contains("nested more than 32 deep"));
    // Past yaml-cpp's own limit (2000) the message is still ours.
    const std::string very_deep = "syncs: " + std::string(5000, '{');
    CHECK_THROWS_WITH(load_yaml_config_text(very_deep, "deep.yml", "/"),
                      Catch::Contains("nested more than 32 deep"));
}
