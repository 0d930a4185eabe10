// The Lua sandbox that runs lsyncd configs: what a config may use, what it may not, and how
// its settings{} and sync{} calls are recorded.

#include "config/lua_sandbox.hpp"
#include "config/yaml_loader.hpp"

#include <cstdlib>
#include <string>

#include <catch2/catch.hpp>

using fsmirror::config::ConfigError;
using fsmirror::config::LsyncdScript;
using fsmirror::config::LuaValue;
using fsmirror::config::run_lsyncd_script;
using Kind = fsmirror::config::LuaValue::Kind;

namespace {

LsyncdScript run(const std::string& text) {
    return run_lsyncd_script(text, "/etc/lsyncd/test.lua");
}

// Returns what() of the ConfigError the text raises; fails the test when it runs.
std::string error_of(const std::string& text) {
    try {
        run(text);
    } catch (const ConfigError& e) {
        return e.what();
    }
    FAIL("expected a ConfigError for:\n" << text);
    return {};
}

} // namespace

TEST_CASE("sync{} calls are recorded with their line and a copy of the table", "[config][lua]") {
    const LsyncdScript script = run("-- a comment\n"
                                    "sync {\n"
                                    "  default.rsync,\n"
                                    "  source = '/srv/a',\n"
                                    "  target = '/srv/b',\n"
                                    "  delay = 2.5,\n"
                                    "  exclude = { '*.tmp', '/cache/' },\n"
                                    "}\n");
    REQUIRE(script.syncs.size() == 1);
    const auto& call = script.syncs[0];
    CHECK(call.origin == "/etc/lsyncd/test.lua");
    CHECK(call.line == 2);
    const LuaValue& table = call.table;
    REQUIRE(table.kind == Kind::table);
    REQUIRE(table.items.size() == 1);
    CHECK(table.items[0].kind == Kind::layer);
    CHECK(table.items[0].text == "rsync");
    REQUIRE(table.field("source") != nullptr);
    CHECK(table.field("source")->text == "/srv/a");
    CHECK(table.field("delay")->number == 2.5);
    REQUIRE(table.field("exclude")->items.size() == 2);
    CHECK(table.field("exclude")->items[1].text == "/cache/");
    CHECK(table.field("nothing") == nullptr);
}

TEST_CASE("sync{} works from a coroutine", "[config][lua]") {
    const LsyncdScript script = run("local co = coroutine.create(function(src)\n"
                                    "  sync { default.rsync, source = src, target = '/t' }\n"
                                    "end)\n"
                                    "assert(coroutine.resume(co, '/from-coroutine'))\n");
    REQUIRE(script.syncs.size() == 1);
    CHECK(script.syncs[0].table.field("source")->text == "/from-coroutine");
    CHECK(script.syncs[0].line == 2);
}

TEST_CASE("a table reused in a loop is copied at each call", "[config][lua]") {
    const LsyncdScript script = run("local t = { default.direct, target = '/b' }\n"
                                    "for _, name in ipairs({'x', 'y', 'z'}) do\n"
                                    "  t.source = '/src/' .. name\n"
                                    "  sync(t)\n"
                                    "end\n");
    REQUIRE(script.syncs.size() == 3);
    CHECK(script.syncs[0].table.field("source")->text == "/src/x");
    CHECK(script.syncs[2].table.field("source")->text == "/src/z");
    CHECK(script.syncs[1].line == 4);
    CHECK(script.syncs[1].table.items[0].text == "direct");
}

TEST_CASE("settings{} keys are checked and recorded, positional names mean true", "[config][lua]") {
    const LsyncdScript script = run("settings {\n"
                                    "  logfile = '/var/log/lsyncd.log',\n"
                                    "  statusInterval = 20,\n"
                                    "  'nodaemon',\n"
                                    "}\n"
                                    "settings { insist = true }\n"
                                    "assert(settings('statusInterval') == 20)\n");
    REQUIRE(script.settings.size() == 4);
    bool saw_nodaemon = false;
    for (const auto& s : script.settings) {
        CHECK(s.origin == "/etc/lsyncd/test.lua");
        if (s.key == "nodaemon") {
            saw_nodaemon = true;
            CHECK(s.value.kind == Kind::boolean);
            CHECK(s.value.boolean);
            CHECK(s.line == 1);
        }
    }
    CHECK(saw_nodaemon);
    CHECK(script.settings.back().key == "insist");
    CHECK(script.settings.back().line == 6);

    CHECK(error_of("settings {\n  statusfile = '/x'\n}\n") ==
          "/etc/lsyncd/test.lua:1: setting \"statusfile\" unknown.");
}

TEST_CASE("settings = {...} is refused at its line, as lsyncd 2.2 does", "[config][lua]") {
    const std::string error = error_of("\nsettings = { logfile = '/x' }\n");
    CHECK(error.starts_with("/etc/lsyncd/test.lua:2: Do not use settings = { ... }"));
}

TEST_CASE("configs can use locals, loops, string functions, math and os.getenv", "[config][lua]") {
    ::setenv("FSMIRROR_TEST_ROOT", "/data", 1);
    const LsyncdScript script =
        run("local root = os.getenv('FSMIRROR_TEST_ROOT') or '/srv'\n"
            "local missing = os.getenv('FSMIRROR_SURELY_UNSET_VARIABLE')\n"
            "assert(missing == nil)\n"
            "local names = {}\n"
            "for n in string.gmatch('a,b', '[^,]+') do table.insert(names, n) end\n"
            "for i, n in ipairs(names) do\n"
            "  sync { default.rsync, source = root .. '/' .. n,\n"
            "         target = string.format('%s/mirror-%d', root, i),\n"
            "         delay = math.max(1, i * 2) }\n"
            "end\n"
            "assert(string.starts('abc', 'ab') and string.ends('abc', 'bc'))\n"
            "assert(type(os.time()) == 'number' and type(os.date('%Y')) == 'string')\n");
    REQUIRE(script.syncs.size() == 2);
    CHECK(script.syncs[0].table.field("source")->text == "/data/a");
    CHECK(script.syncs[1].table.field("target")->text == "/data/mirror-2");
    CHECK(script.syncs[1].table.field("delay")->number == 4);
}

TEST_CASE("the sandbox has no file, process or code loading access", "[config][lua]") {
    CHECK_THAT(error_of("io.open('/etc/passwd')"), Catch::Contains("global 'io'"));
    CHECK_THAT(error_of("os.execute('true')"), Catch::Contains("field 'execute'"));
    CHECK_THAT(error_of("os.remove('/tmp/x')"), Catch::Contains("field 'remove'"));
    CHECK_THAT(error_of("os.exit(1)"), Catch::Contains("field 'exit'"));
    CHECK_THAT(error_of("require('socket')"), Catch::Contains("global 'require'"));
    CHECK_THAT(error_of("dofile('/etc/lsyncd/other.lua')"), Catch::Contains("global 'dofile'"));
    CHECK_THAT(error_of("loadfile('/x')"), Catch::Contains("global 'loadfile'"));
    CHECK_THAT(error_of("load('return 1')"), Catch::Contains("global 'load'"));
    CHECK_THAT(error_of("string.dump(print)"), Catch::Contains("field 'dump'"));
    CHECK_THAT(error_of("debug.getinfo(1)"), Catch::Contains("global 'debug'"));
    CHECK_THAT(error_of("package.loadlib('x', 'y')"), Catch::Contains("global 'package'"));
    CHECK_THAT(error_of("spawnShell(nil, 'rm -rf /')"),
               Catch::Contains("spawnShell() is not available"));
}

TEST_CASE("the default layers cannot be changed", "[config][lua]") {
    CHECK_THAT(error_of("default.rsync.delay = 1"),
               Catch::Contains("test.lua:1: default.rsync cannot be changed"));
    CHECK_THAT(error_of("default.foo = {}"), Catch::Contains("default cannot be changed"));
    // Reading them is fine.
    const LsyncdScript script =
        run("assert(default.rsync.delay == 15 and default.direct.delay == 1)\n"
            "assert(default.maxDelays == 1000)\n");
    CHECK(script.syncs.empty());
}

TEST_CASE("Lua errors name the config file and line", "[config][lua]") {
    CHECK(error_of("sync {\n  default.rsync\n  source = '/a'\n}\n") ==
          "/etc/lsyncd/test.lua:3: '}' expected (to close '{' at line 1) near 'source'");
    CHECK(error_of("\n\nlocal x = nil + 1\n") ==
          "/etc/lsyncd/test.lua:3: attempt to perform arithmetic on a nil value");
    CHECK(error_of("error('custom message')") == "/etc/lsyncd/test.lua:1: custom message");
    CHECK_THAT(error_of("sync('not a table')"),
               Catch::StartsWith("/etc/lsyncd/test.lua:1: sync needs a table"));
    // Long paths are not shortened as Lua would.
    const std::string long_origin(200, 'x');
    try {
        run_lsyncd_script("x = = 1", "/" + long_origin + ".lua");
        FAIL("expected an error");
    } catch (const ConfigError& e) {
        CHECK(std::string(e.what()).starts_with("/" + long_origin + ".lua:1:"));
    }
}

TEST_CASE("a runaway config is stopped", "[config][lua]") {
    CHECK_THAT(error_of("while true do end"), Catch::Contains("runs for too long"));
    CHECK_THAT(error_of("local s = string.rep('x', 1024 * 1024 * 1024)"),
               Catch::Contains("memory"));
    CHECK_THAT(error_of("local t = {}\nt.self = t\nsync(t)"), Catch::Contains("contains itself"));
    // Found by fuzz/fuzz_lua_config: few instructions per costly library call ran for a
    // minute within the instruction budget; the CPU-time budget stops it within a second.
    CHECK_THAT(error_of("for i = 2, 1e9 do string.rep('x', 1000) end"),
               Catch::Contains("runs for too long"));
}

TEST_CASE("functions in sync{} are recorded with where they are defined", "[config][lua]") {
    const LsyncdScript script = run("sync {\n"
                                    "  default.rsync, source = '/a', target = '/b',\n"
                                    "  onCreate = function(event)\n"
                                    "  end,\n"
                                    "}\n");
    const LuaValue* on_create = script.syncs.at(0).table.field("onCreate");
    REQUIRE(on_create != nullptr);
    CHECK(on_create->kind == Kind::function);
    CHECK(on_create->text == "/etc/lsyncd/test.lua:3");
}

TEST_CASE("log() calls are kept, print goes to stderr", "[config][lua]") {
    const LsyncdScript script = run("log('Normal', 'mirroring ', 3, ' volumes')\nprint('hi')\n");
    REQUIRE(script.log_messages.size() == 1);
    CHECK(script.log_messages[0] == "Normal: mirroring 3 volumes");
}
