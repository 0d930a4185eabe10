// lsyncd configs translated into config::Config: lsyncd's defaults, inheritance and
// precedence, and the refusals (custom layers, unknown keys) with file:line.

#include "config/lua_loader.hpp"
#include "config/yaml_loader.hpp"

#include <algorithm>
#include <string>

#include <catch2/catch.hpp>

using fsmirror::config::Config;
using fsmirror::config::ConfigError;
using fsmirror::config::DeleteMode;
using fsmirror::config::FsyncPolicy;
using fsmirror::config::InotifyMode;
using fsmirror::config::load_lsyncd_command_line;
using fsmirror::config::load_lsyncd_config_text;
using fsmirror::config::LsyncdCommandLineSettings;
using fsmirror::config::LsyncdCommandLineSync;
using fsmirror::config::LsyncdLoad;
using fsmirror::config::LsyncdNote;
using fsmirror::config::SyncConfig;

namespace {

const std::filesystem::path k_cwd = "/home/op";
constexpr const char* k_origin = "/etc/lsyncd/lsyncd.conf.lua";

LsyncdLoad load(const std::string& text, const LsyncdCommandLineSettings& cl = {}) {
    return load_lsyncd_config_text(text, k_origin, cl, k_cwd);
}

// A copy: callers often pass a temporary.
SyncConfig only_sync(const LsyncdLoad& loaded) {
    REQUIRE(loaded.config.syncs.size() == 1);
    return loaded.config.syncs.front();
}

std::string error_of(const std::string& text, const LsyncdCommandLineSettings& cl = {}) {
    try {
        load(text, cl);
    } catch (const ConfigError& e) {
        return e.what();
    }
    FAIL("expected a ConfigError for:\n" << text);
    return {};
}

bool has_note(const LsyncdLoad& loaded, const std::string& fragment,
              LsyncdNote::Level level = LsyncdNote::Level::warning) {
    return std::any_of(loaded.notes.begin(), loaded.notes.end(), [&](const LsyncdNote& n) {
        return n.level == level && n.message.find(fragment) != std::string::npos;
    });
}

} // namespace

TEST_CASE("default.rsync with nothing else: lsyncd's defaults", "[config][lua]") {
    const LsyncdLoad loaded = load("sync { default.rsync, source = '/srv/a/', target = '/srv/b' }");
    const SyncConfig& sync = only_sync(loaded);
    CHECK(sync.name == "Sync1");
    CHECK(sync.source == "/srv/a");
    CHECK(sync.target == "/srv/b");
    CHECK(sync.delay_seconds == 15);
    CHECK(sync.max_delays == 1000);
    CHECK(sync.delete_mode == DeleteMode::always);
    CHECK(sync.initial_sync);
    CHECK_FALSE(sync.remote);
    // rsync with lsyncd's default flags (-lts): no -p, -o, -g.
    CHECK_FALSE(sync.preserve.mode);
    CHECK(sync.preserve.times);
    CHECK(sync.preserve.links);
    CHECK(sync.preserve.owner == std::optional<bool>(false));
    CHECK_FALSE(sync.inplace);

    const Config& config = loaded.config;
    REQUIRE(config.lsyncd);
    CHECK_FALSE(config.lsyncd->nodaemon);
    CHECK(config.status_interval_seconds == 10);
    CHECK(config.log.style == fsmirror::base::LogStyle::lsyncd);
    CHECK(config.log.level == fsmirror::base::LogLevel::info);
    CHECK_FALSE(config.log.file);
}

TEST_CASE("default.direct's delay is 1 s", "[config][lua]") {
    CHECK(only_sync(load("sync { default.direct, source = '/a', target = '/b' }")).delay_seconds ==
          1);
}

TEST_CASE("the storage mirror: archive, whole_file and _extra flags", "[config][lua]") {
    const LsyncdLoad loaded = load(R"(
sync {
    default.rsync,
    source = "/mnt/storage_do_1/",
    target = "/mnt/storage_do_2/",
    delay  = 1,
    rsync  = {
        archive    = true,
        compress   = false,
        whole_file = true,
        _extra     = { "--delete-after", "--inplace", "--no-perms", "--omit-dir-times" },
    },
})");
    const SyncConfig& sync = only_sync(loaded);
    CHECK(sync.delay_seconds == 1);
    CHECK(sync.delete_mode == DeleteMode::always);
    CHECK(sync.inplace);
    // lsyncd passes archive's -p before _extra's --no-perms, so rsync kept no permissions.
    CHECK_FALSE(sync.preserve.mode);
    CHECK(sync.preserve.times);
    CHECK(sync.preserve.links);
    CHECK_FALSE(sync.preserve.owner.has_value()); // as root, like rsync -o -g
    CHECK(has_note(loaded, "--omit-dir-times", LsyncdNote::Level::info));
    CHECK(has_note(loaded, "whole_file", LsyncdNote::Level::info));
    CHECK(loaded.notes.front().where == std::string(k_origin) + ":2");
}

TEST_CASE("precedence: command line > settings{} > sync{} > layer", "[config][lua]") {
    const std::string text = "settings { maxDelays = 50 }\n"
                             "sync { default.rsync, source = '/a', target = '/b', delay = 3,\n"
                             "       maxDelays = 7 }\n";
    const SyncConfig& from_file = only_sync(load(text));
    CHECK(from_file.delay_seconds == 3);
    CHECK(from_file.max_delays == 50);

    LsyncdCommandLineSettings cl;
    cl.delay = 0.5;
    cl.nodaemon = true;
    cl.logfile = "log/lsyncd.log";
    cl.log_level = fsmirror::base::LogLevel::debug;
    const LsyncdLoad loaded = load(text + "settings { nodaemon = false, logfile = '/x.log' }", cl);
    CHECK(only_sync(loaded).delay_seconds == 0.5);
    CHECK(loaded.config.lsyncd->nodaemon);
    CHECK(loaded.config.log.file == std::filesystem::path("/home/op/log/lsyncd.log"));
    CHECK(loaded.config.log.level == fsmirror::base::LogLevel::debug);
}

TEST_CASE("settings{} keys", "[config][lua]") {
    const LsyncdLoad loaded = load("settings {\n"
                                   "  logfile = '/var/log/lsyncd/lsyncd.log',\n"
                                   "  statusFile = 'lsyncd.status', statusInterval = 20,\n"
                                   "  pidfile = '/run/lsyncd.pid', nodaemon = true, insist = 1,\n"
                                   "  logfacility = 'daemon', logident = 'mirror',\n"
                                   "  inotifyMode = 'CloseWrite or Modify', maxProcesses = 4,\n"
                                   "}\n"
                                   "sync { default.rsync, source = '/a', target = '/b' }\n");
    const auto& s = *loaded.config.lsyncd;
    CHECK(loaded.config.log.file == std::filesystem::path("/var/log/lsyncd/lsyncd.log"));
    CHECK(loaded.config.status_file == std::filesystem::path("/home/op/lsyncd.status"));
    CHECK(loaded.config.status_interval_seconds == 20);
    CHECK(s.pid_file == std::filesystem::path("/run/lsyncd.pid"));
    CHECK(s.nodaemon);
    CHECK(s.insist);
    CHECK(s.log_facility == "daemon");
    CHECK(s.log_ident == "mirror");
    CHECK(s.inotify_mode == InotifyMode::close_write_or_modify);
    CHECK(s.max_processes == 4ul);

    CHECK(error_of("settings { logfacility = 'nope' }") ==
          std::string(k_origin) + ":1: Logging facility 'nope' unknown.");
    CHECK_THAT(error_of("settings { inotifyMode = 'CloseWrite after Modify' }"),
               Catch::Contains("not implemented"));
    CHECK_THAT(error_of("settings { statusInterval = 'often' }"),
               Catch::Contains("\"statusInterval\" must be a number"));
}

TEST_CASE("inheritance from local tables, as lsyncd's inherit()", "[config][lua]") {
    const LsyncdLoad loaded = load(R"(
local base = { default.rsync, delay = 3, delete = 'running',
               rsync = { archive = true, _extra = { '--omit-dir-times' } } }
local more = { base, exclude = { '*.tmp' } }
sync { more, source = '/a', target = '/x/a' }
sync { more, source = '/b', target = '/x/b', delay = 10, rsync = { inplace = true } }
)");
    REQUIRE(loaded.config.syncs.size() == 2);
    const SyncConfig& a = loaded.config.syncs[0];
    const SyncConfig& b = loaded.config.syncs[1];
    CHECK(a.delay_seconds == 3);
    CHECK(a.delete_mode == DeleteMode::running);
    CHECK(a.excludes == std::vector<std::string>{"*.tmp"});
    CHECK(a.preserve.mode);
    CHECK_FALSE(a.inplace);
    CHECK(b.delay_seconds == 10);
    CHECK(b.inplace);
    CHECK(b.preserve.mode); // archive from the base table merged into b's rsync table
    CHECK(b.name == "Sync2");
}

TEST_CASE("custom layers are refused with file:line", "[config][lua]") {
    CHECK_THAT(error_of("local x = 1\n"
                        "sync { default.rsync, source = '/a', target = '/b',\n"
                        "  onCreate = function(e) end }\n"),
               Catch::StartsWith(std::string(k_origin) + ":2: onCreate = a function (defined at " +
                                 k_origin + ":3) is a custom layer"));
    // Layer 3: a shell command as a string.
    CHECK_THAT(error_of("sync { source = '/a', onModify = 'cp ^sourcePathname ^targetPathname' }"),
               Catch::StartsWith(std::string(k_origin) + ":1: onModify = 'cp ^sourcePathname"));
    CHECK_THAT(error_of("sync { default.rsync, source = '/a', target = '/b', action = print }"),
               Catch::Contains("action = a function (defined at [C]) is a custom layer"));
    CHECK_THAT(error_of("sync { default.rsync, source = '/a', target = '/b',\n"
                        "       init = function() end }"),
               Catch::Contains(":1: init = a function"));
    CHECK_THAT(error_of("sync { source = '/a', target = '/b' }"),
               Catch::StartsWith(std::string(k_origin) + ":1: no actions specified."));

    const SyncConfig& no_init =
        only_sync(load("sync { default.rsync, source = '/a', target = '/b', init = false }"));
    CHECK_FALSE(no_init.initial_sync);
}

TEST_CASE("unknown keys are refused in lsyncd's words", "[config][lua]") {
    CHECK_THAT(error_of("\n\nsync {\n  default.rsync,\n  source = '/a', target = '/b',\n"
                        "  dealy = 5,\n}\n"),
               Catch::StartsWith(std::string(k_origin) + ":3: Parameter \"dealy\" unknown."));
    CHECK_THAT(
        error_of("sync { default.rsync, source = '/a', target = '/b',\n"
                 "       rsync = { archiv = true } }"),
        Catch::StartsWith(std::string(k_origin) + ":1: Parameter \"rsync.archiv\" unknown."));
    CHECK_THAT(error_of("sync { default.rsyncssh, source = '/a', target = '/b', host = 'h',\n"
                        "       targetdir = '/t' }"),
               Catch::Contains("Parameter \"target\" unknown."));
    CHECK_THAT(error_of("sync { default.rsyncssh, source = '/a', host = 'h', targetdir = '/t',\n"
                        "       ssh = { prot = 22 } }"),
               Catch::Contains("Parameter \"ssh.prot\" unknown."));
}

TEST_CASE("required keys and value types", "[config][lua]") {
    CHECK(error_of("sync { default.rsync, target = '/b' }") ==
          std::string(k_origin) + ":1: source missing from sync.");
    CHECK_THAT(error_of("sync { default.rsync, source = '/a' }"),
               Catch::Contains("default.rsync needs \"target\" configured"));
    CHECK_THAT(error_of("sync { default.rsyncssh, source = '/a', targetdir = '/t' }"),
               Catch::Contains("needs \"host\" configured"));
    CHECK_THAT(error_of("sync { default.rsync, source = '/a', target = '/b', delay = 'soon' }"),
               Catch::Contains("\"delay\" must be a number"));
    CHECK_THAT(error_of("sync { default.rsync, source = '/a', target = '/b', delete = 'always' }"),
               Catch::Contains("\"delete\" must be true, false, 'startup' or 'running'"));
    CHECK_THAT(
        error_of("sync { default.rsync, source = '/a', target = '/b', monitor = 'fsevents' }"),
        Catch::Contains("event monitor \"fsevents\" unknown."));
    CHECK_THAT(error_of("sync { default.rsync, source = {}, target = '/b' }"),
               Catch::Contains("\"source\" must be a non-empty string"));
    CHECK_THAT(error_of("-- nothing here\n"), Catch::Contains("Nothing to watch!"));
    // lsyncd does arithmetic on delay, so a numeric string works.
    CHECK(only_sync(load("sync { default.rsync, source = '/a', target = '/b', delay = '4' }"))
              .delay_seconds == 4);
}

TEST_CASE("delete modes", "[config][lua]") {
    const auto mode = [](const std::string& value) {
        return only_sync(load("sync { default.rsync, source = '/a', target = '/b', delete = " +
                              value + " }"))
            .delete_mode;
    };
    CHECK(mode("true") == DeleteMode::always);
    CHECK(mode("false") == DeleteMode::never);
    CHECK(mode("'startup'") == DeleteMode::startup);
    CHECK(mode("'running'") == DeleteMode::running);

    // rsync deletes whenever _extra says so; lsyncd then deletes whatever `delete` says.
    const LsyncdLoad loaded = load("sync { default.rsync, source = '/a', target = '/b',\n"
                                   "  delete = false, rsync = { _extra = { '--delete-after' } } }");
    CHECK(only_sync(loaded).delete_mode == DeleteMode::always);
    CHECK(has_note(loaded, "--delete-after makes rsync delete"));
}

TEST_CASE("excludes, excludeFrom and filters", "[config][lua]") {
    const SyncConfig& sync =
        only_sync(load("sync { default.rsync, source = '/a', target = '/b', exclude = '*.tmp',\n"
                       "  excludeFrom = 'lsyncd.exclude', filter = { '- *.log', '- /cache/' } }"));
    CHECK(sync.excludes == std::vector<std::string>{"*.tmp", "*.log", "/cache/"});
    CHECK(sync.exclude_from == std::filesystem::path("/home/op/lsyncd.exclude"));

    CHECK_THAT(error_of("sync { default.rsync, source = '/a', target = '/b',\n"
                        "  filter = { '+ /keep/', '- *' } }"),
               Catch::Contains("filter rule '+ /keep/' is not supported"));
    CHECK_THAT(error_of("sync { default.rsync, source = '/a', target = '/b', exclude = { true } }"),
               Catch::Contains("\"exclude\" must be a non-empty string"));
}

TEST_CASE("rsync options: honoured, ignored with a warning, refused", "[config][lua]") {
    const auto sync_with = [](const std::string& rsync) {
        return load("sync { default.rsync, source = '/a', target = '/b', rsync = " + rsync + " }");
    };
    {
        const LsyncdLoad loaded =
            sync_with("{ _extra = { '-avz', '--exclude=*.bak', '--fsync' } }");
        const SyncConfig& sync = only_sync(loaded);
        CHECK(sync.preserve.mode);
        CHECK(sync.excludes == std::vector<std::string>{"*.bak"});
        CHECK(sync.fsync == FsyncPolicy::file);
    }
    {
        const SyncConfig& sync = only_sync(sync_with("{ perms = true, owner = true, links = false,"
                                                     " copy_links = true, times = false }"));
        CHECK(sync.preserve.mode);
        CHECK_FALSE(sync.preserve.owner.has_value());
        CHECK_FALSE(sync.preserve.links);
        CHECK_FALSE(sync.preserve.times);
    }
    {
        const LsyncdLoad loaded =
            sync_with("{ archive = true, hard_links = true, acls = true,"
                      " _extra = { '--max-delete=100', '--bwlimit', '500' } }");
        CHECK(has_note(loaded, "rsync.hard_links: ignored"));
        CHECK(has_note(loaded, "rsync.acls: ignored"));
        CHECK(has_note(loaded, "--max-delete=100: ignored"));
        CHECK(has_note(loaded, "--bwlimit: ignored"));
    }
    CHECK_THAT(error_of("sync { default.rsync, source = '/a', target = '/b',\n"
                        "  rsync = { update = true } }"),
               Catch::StartsWith(std::string(k_origin) + ":1: rsync.update is not supported"));
    CHECK_THAT(error_of("sync { default.rsync, source = '/a', target = '/b',\n"
                        "  rsync = { _extra = { '--frobnicate' } } }"),
               Catch::Contains("does not know the rsync option '--frobnicate'"));
    CHECK_THAT(error_of("sync { default.rsync, source = '/a', target = '/b',\n"
                        "  rsync = { _extra = { '-aQ' } } }"),
               Catch::Contains("'-Q' (in '-aQ')"));
    CHECK_THAT(error_of("sync { default.rsync, source = '/a', target = '/b',\n"
                        "  rsync = { chmod = 'D2775,F664' } }"),
               Catch::Contains("rsync.chmod is not supported"));
    CHECK_THAT(error_of("sync { default.rsync, source = '/a', target = '/b',\n"
                        "  rsync = { _extra = { '--bwlimit' } } }"),
               Catch::Contains("--bwlimit needs a value"));
    // A false refused option is simply not passed by lsyncd.
    CHECK(only_sync(sync_with("{ update = false, dry_run = false }")).target == "/b");
}

TEST_CASE("remote targets become SSH targets", "[config][lua]") {
    {
        const LsyncdLoad loaded = load(
            "sync { default.rsync, source = '/opt/app/', target = '10.0.0.2:/opt/app/',\n"
            "  rsync = { archive = true, compress = true, rsh = '/usr/bin/ssh -l nexus -p 2222' } "
            "}");
        const SyncConfig sync = only_sync(loaded);
        REQUIRE(sync.remote);
        CHECK(sync.remote->user == "nexus");
        CHECK(sync.remote->host == "10.0.0.2");
        CHECK(sync.remote->path == "/opt/app");
        CHECK(sync.remote->port == 2222);
        CHECK(sync.ssh.compression);
        CHECK(sync.ssh.host_key_policy == fsmirror::config::HostKeyPolicy::strict);
        CHECK(sync.target == "nexus@10.0.0.2:2222:/opt/app");
    }
    {
        LsyncdCommandLineSettings cl;
        cl.ssh_extra_args = {"-4", "-o", "ConnectTimeout=5"};
        const LsyncdLoad loaded = load(
            "sync { default.rsyncssh, source = '/srv/www', host = 'mirror@backup.example.org',\n"
            "  targetdir = '/srv/www/', ssh = { port = 2200, identityFile = '/root/.ssh/id',\n"
            "  options = { StrictHostKeyChecking = 'no', UserKnownHostsFile = '/etc/kh',\n"
            "              ServerAliveInterval = 30, ForwardX11 = 'no', ProxyJump = 'bastion' },\n"
            "  _extra = { '-C' } } }",
            cl);
        const SyncConfig sync = only_sync(loaded);
        REQUIRE(sync.remote);
        CHECK(sync.remote->user == "mirror");
        CHECK(sync.remote->host == "backup.example.org");
        CHECK(sync.remote->path == "/srv/www");
        CHECK(sync.remote->port == 2200);
        CHECK(sync.ssh.identity_file == std::filesystem::path("/root/.ssh/id"));
        CHECK(sync.ssh.known_hosts == std::filesystem::path("/etc/kh"));
        CHECK(sync.ssh.host_key_policy == fsmirror::config::HostKeyPolicy::accept_new);
        CHECK(sync.ssh.keepalive_seconds == 30);
        CHECK(sync.ssh.connect_timeout_seconds == 5);
        CHECK(sync.ssh.compression);
        CHECK(sync.delay_seconds == 15);
        CHECK(has_note(loaded, "a host key that changed is still refused"));
        CHECK(has_note(loaded, "ProxyJump=bastion: not supported by the SSH transport"));
        CHECK(has_note(loaded, "ForwardX11=no: not needed", LsyncdNote::Level::info));
    }
    CHECK_THAT(error_of("sync { default.rsyncssh, source = '/a', host = 'h', targetdir = 'www' }"),
               Catch::Contains("remote path 'www' is relative to the login directory on h"));
    CHECK_THAT(error_of("sync { default.rsync, source = '/a', target = 'h:~/trg/' }"),
               Catch::Contains("(for example /home/USER/trg/)"));
    CHECK_THAT(error_of("sync { default.rsync, source = '/a', target = 'host::module/dir' }"),
               Catch::Contains("is an rsync daemon"));
    CHECK_THAT(error_of("sync { default.direct, source = '/a', target = 'host:/dir' }"),
               Catch::Contains("default.direct mirrors to a local directory only"));
    CHECK_THAT(error_of("sync { default.rsyncssh, source = '/a', host = 'h', targetdir = '/t',\n"
                        "       ssh = { port = 70000 } }"),
               Catch::Contains("\"ssh.port\" must be a port number"));
    CHECK_THAT(
        error_of("sync { default.rsyncssh, source = '/a', host = 'bad host', targetdir = '/t' }"),
        Catch::Contains("remote target"));
}

TEST_CASE("relative paths resolve against the start directory, never /", "[config][lua]") {
    const LsyncdLoad loaded = load("sync { default.rsync, source = 'data', target = '.' }");
    const SyncConfig& sync = only_sync(loaded);
    CHECK(sync.source == "/home/op/data");
    CHECK(sync.target == "/home/op");
    CHECK(has_note(loaded, "target '.' is relative"));
}

TEST_CASE("syncs must not share a target or a name", "[config][lua]") {
    CHECK_THAT(error_of("sync { default.rsync, source = '/a', target = '/t' }\n"
                        "sync { default.rsync, source = '/b', target = '/t/' }\n"),
               Catch::StartsWith(std::string(k_origin) +
                                 ":2: this sync has the same target /t "
                                 "as the sync at " +
                                 k_origin + ":1"));
    CHECK_THAT(error_of("sync { default.rsync, name = 'x', source = '/a', target = '/t1' }\n"
                        "sync { default.rsync, name = 'x', source = '/b', target = '/t2' }\n"),
               Catch::Contains("duplicate sync name 'x'"));
    CHECK(only_sync(load("sync { default.rsync, name = 'web data', source = '/a', target = '/b' }"))
              .name == "web_data");
}

TEST_CASE("command-line syncs are lsyncd's sync{default.X, ...}", "[config][lua]") {
    LsyncdCommandLineSettings cl;
    cl.syncs.push_back({LsyncdCommandLineSync::Layer::rsync, "src", "/mirror/a", {}, {}});
    cl.syncs.push_back({LsyncdCommandLineSync::Layer::direct, "/b", "/mirror/b", {}, {}});
    cl.syncs.push_back({LsyncdCommandLineSync::Layer::rsyncssh, "/c", {}, "host", "/mirror/c"});
    cl.delay = 2;
    const LsyncdLoad loaded = load_lsyncd_command_line(cl, k_cwd);
    REQUIRE(loaded.config.syncs.size() == 3);
    CHECK(loaded.config.syncs[0].source == "/home/op/src");
    CHECK(loaded.config.syncs[0].target == "/mirror/a");
    CHECK(loaded.config.syncs[1].delay_seconds == 2);
    CHECK(loaded.config.syncs[2].target == "host:/mirror/c");
    REQUIRE(loaded.config.syncs[2].remote);
    CHECK(loaded.notes.front().where == "command line");
}
