#include "config/lua_loader.hpp"

#include "config/config_file.hpp"
#include "config/lsyncd_translate.hpp"
#include "config/lua_sandbox.hpp"
#include "config/yaml_loader.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <fmt/format.h>

namespace fsmirror::config {

namespace {

namespace fs = std::filesystem;

constexpr const char* k_command_line = "command line";

// Each command-line sync as lsyncd builds it: sync{default.<layer>, source=..., target=...}.
LsyncdSyncCall command_line_call(const LsyncdCommandLineSync& sync) {
    LsyncdSyncCall call;
    call.origin = k_command_line;
    call.table = LuaValue::make_table();
    const auto set = [&](const char* key, const std::string& value) {
        call.table.fields.push_back(LuaField{key, LuaValue::make_string(value)});
    };
    switch (sync.layer) {
    case LsyncdCommandLineSync::Layer::rsync:
        call.table.items.push_back(LuaValue::make_layer("rsync"));
        set("source", sync.source);
        set("target", sync.target);
        break;
    case LsyncdCommandLineSync::Layer::direct:
        call.table.items.push_back(LuaValue::make_layer("direct"));
        set("source", sync.source);
        set("target", sync.target);
        break;
    case LsyncdCommandLineSync::Layer::rsyncssh:
        call.table.items.push_back(LuaValue::make_layer("rsyncssh"));
        set("host", sync.host);
        set("source", sync.source);
        set("targetdir", sync.target_dir);
        break;
    }
    return call; // fields were added in sorted order
}

} // namespace

LsyncdLoad load_lsyncd_config_text(const std::string& text, const std::string& origin,
                                   const LsyncdCommandLineSettings& command_line,
                                   const std::filesystem::path& working_directory) {
    const fs::path cwd = working_directory.empty() ? fs::current_path() : working_directory;
    LsyncdScript script = run_lsyncd_script(text, origin);
    // lsyncd refuses command-line syncs together with a config file; a caller that passes both
    // gets the file's syncs followed by the command line's.
    for (const LsyncdCommandLineSync& sync : command_line.syncs)
        script.syncs.push_back(command_line_call(sync));
    return translate_lsyncd(script, origin, command_line, cwd);
}

LsyncdLoad load_lsyncd_config_file(const std::filesystem::path& path,
                                   const LsyncdCommandLineSettings& command_line,
                                   const std::filesystem::path& working_directory) {
    const fs::path cwd = working_directory.empty() ? fs::current_path() : working_directory;
    const fs::path absolute = (cwd / path).lexically_normal();
    const std::string text = read_config_file(absolute);

    LsyncdLoad load = load_lsyncd_config_text(text, absolute.string(), command_line, cwd);
    load.config.source_file = absolute;
    return load;
}

LsyncdLoad load_lsyncd_command_line(const LsyncdCommandLineSettings& command_line,
                                    const std::filesystem::path& working_directory) {
    const fs::path cwd = working_directory.empty() ? fs::current_path() : working_directory;
    LsyncdScript script;
    for (const LsyncdCommandLineSync& sync : command_line.syncs)
        script.syncs.push_back(command_line_call(sync));
    return translate_lsyncd(script, k_command_line, command_line, cwd);
}

} // namespace fsmirror::config
