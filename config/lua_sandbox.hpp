#pragma once
// Runs an lsyncd config file with the real Lua 5.4 in a sandbox and records what it asked for:
// its settings{...} and sync{...} calls, copied into plain values at the moment of each call
// (a config may reuse and change one table in a loop, as lsyncd copies it too).
//
// The sandbox offers what lsyncd offers a config and real configs use: the base functions
// without dofile/loadfile/load, string (without string.dump, with lsyncd's string.starts and
// string.ends), table, math, utf8, os.getenv/time/date/clock/difftime, settings, sync, default
// (rsync, rsyncssh, direct, rsyncExitCodes, sshExitCodes) and log. There is no io, no
// os.execute/remove/rename/exit, no require and no debug library; spawn and friends raise an
// error. Memory and run time are bounded, so a runaway config fails instead of hanging.

#include "config/lua_value.hpp"

#include <string>
#include <vector>

namespace fsmirror::config {

// One call of sync{...}.
struct LsyncdSyncCall {
    LuaValue table;     // a copy of the argument as it was at the call
    std::string origin; // the config file, or "command line"
    int line = 0;       // where the call is written; 0 for command-line syncs
};

// One key given to settings{...}.
struct LsyncdSettingCall {
    std::string key;
    LuaValue value;
    std::string origin;
    int line = 0;
};

// What an lsyncd config did when it ran.
struct LsyncdScript {
    std::vector<LsyncdSettingCall> settings; // in call order; a later call of a key wins
    std::vector<LsyncdSyncCall> syncs;
    std::vector<std::string> log_messages; // "Normal: text" for each log() call it made
};

// Runs `text` as the config file `origin` (used in messages). Throws ConfigError (declared in
// yaml_loader.hpp) reading "<origin>:<line>: <message>" for a syntax error, a runtime error,
// an unknown settings key (lsyncd's wording: `setting "X" unknown.`), `settings = {...}`
// (refused as lsyncd 2.2+ refuses it), or a config that runs too long or uses too much memory.
LsyncdScript run_lsyncd_script(const std::string& text, const std::string& origin);

} // namespace fsmirror::config
