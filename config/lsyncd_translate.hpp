#pragma once
// Turns what an lsyncd config asked for (its settings{} and sync{} calls, see lua_sandbox.hpp)
// and lsyncd's command line into config::Config, with lsyncd's inheritance, defaults and
// precedence (command line > settings{} > sync{} > default layer). Pure apart from reading
// the files that filterFrom names.

#include "config/lua_loader.hpp"
#include "config/lua_sandbox.hpp"

#include <filesystem>
#include <string>

namespace fsmirror::config {

// Throws ConfigError "<file>:<line>: <message>" (the position of the sync{} or settings{}
// call) for unknown keys, custom layers, values of the wrong type, refused rsync options,
// syncs sharing a target, and "Nothing to watch!" when there is no sync at all (`origin` names
// the config then).
LsyncdLoad translate_lsyncd(const LsyncdScript& script, const std::string& origin,
                            const LsyncdCommandLineSettings& command_line,
                            const std::filesystem::path& working_directory);

} // namespace fsmirror::config
