#pragma once
// Loads lsyncd's configuration (an lsyncd.conf.lua file, or the syncs on lsyncd's command line)
// into the same plain structs as the YAML loader. The file runs in a Lua 5.4 sandbox
// (lua_sandbox.hpp); lsyncd_translate.cpp turns what it asked for into config::Config, and
// docs/lsyncd-compatibility.md lists how every key and rsync option is treated.

#include "base/logger.hpp"
#include "config/config.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace fsmirror::config {

// Something the translation wants the operator to know: an option that fsmirror treats
// differently, ignores, or that needs no longer be set.
struct LsyncdNote {
    enum class Level { info, warning };
    Level level = Level::info;
    std::string where;                     // "/etc/lsyncd/lsyncd.conf.lua:12" or "command line"
    std::optional<std::size_t> sync_index; // index into Config::syncs; nullopt for settings
    std::string message;
};

// One sync from lsyncd's command line.
struct LsyncdCommandLineSync {
    enum class Layer { rsync, rsyncssh, direct };
    Layer layer = Layer::rsync;
    std::string source;
    std::string target;     // -rsync SRC TARGET, -direct SRC TARGETDIR
    std::string host;       // -rsyncssh SRC HOST TARGETDIR
    std::string target_dir; // -rsyncssh
};

// What lsyncd's command line says besides the config file: the syncs of -rsync, -rsyncssh and
// -direct, and settings, which win over settings{} in the file.
struct LsyncdCommandLineSettings {
    std::vector<LsyncdCommandLineSync> syncs;
    std::optional<double> delay; // -delay: every sync's delay, whatever the file says
    bool nodaemon = false;       // -nodaemon
    bool insist = false;         // -insist
    bool onepass = false;        // -onepass
    std::optional<std::string> logfile;
    std::optional<std::string> pidfile;
    std::optional<base::LogLevel> log_level; // from -log all|scarce|<Category>
    std::vector<std::string> ssh_extra_args; // -sshopts, split at blanks
};

struct LsyncdLoad {
    Config config; // config.lsyncd is always set
    std::vector<LsyncdNote> notes;
    std::vector<std::string> script_log; // what the config's own log() calls said
};

// Runs `text` as the config file `origin` and translates it, the command line's settings
// applied over it. Relative paths resolve against `working_directory` (lsyncd resolves them
// against its working directory too, but then a daemonised lsyncd runs from /; fsmirror
// resolves them before it detaches). Throws ConfigError "<file>:<line>: <message>" on any
// mistake: Lua errors, unknown keys (lsyncd's wording), custom layers, values of the wrong
// type, refused rsync options, "Nothing to watch!".
LsyncdLoad load_lsyncd_config_text(const std::string& text, const std::string& origin,
                                   const LsyncdCommandLineSettings& command_line,
                                   const std::filesystem::path& working_directory);

// Reads `path` (relative to `working_directory`) and loads it as above; sets source_file.
LsyncdLoad load_lsyncd_config_file(const std::filesystem::path& path,
                                   const LsyncdCommandLineSettings& command_line,
                                   const std::filesystem::path& working_directory);

// Builds the configuration from the command line's syncs alone (lsyncd -rsync SRC TGT ...),
// exactly as lsyncd does: each becomes sync{default.<layer>, source=..., target=...}.
LsyncdLoad load_lsyncd_command_line(const LsyncdCommandLineSettings& command_line,
                                    const std::filesystem::path& working_directory);

} // namespace fsmirror::config
