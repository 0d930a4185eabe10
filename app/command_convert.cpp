// `fsmirror convert lsyncd.conf.lua`: prints the equivalent native YAML, with comments on
// everything whose meaning changed or that has no YAML equivalent.

#include "app/commands.hpp"
#include "config/lua_loader.hpp"
#include "config/yaml_loader.hpp"
#include "config/yaml_writer.hpp"

#include <cstdio>

#include <fmt/format.h>

namespace fsmirror::app {

namespace {

constexpr const char* k_convert_help = R"(NAME
    fsmirror convert - translate an lsyncd config into fsmirror's YAML

SYNOPSIS
    fsmirror convert LSYNCD-CONFIG-FILE > fsmirror.yml

DESCRIPTION
    Runs the lsyncd config (in the same sandbox as `fsmirror CONFIG-FILE` does) and prints
    the native YAML configuration with the same meaning. Comments above each sync say where
    it came from and what fsmirror does differently (ignored rsync options, lsyncd defaults
    kept, settings without a YAML key). Nothing is started.

    fsmirror can also run the lsyncd file directly, unchanged: `fsmirror -nodaemon FILE`.

OPTIONS
    -h, --help
        This text.

EXIT STATUS
    0   the YAML was printed
    2   the lsyncd config could not be loaded (the message names file:line)
)";

std::vector<std::string> header_for(const config::LsyncdLoad& loaded, const std::string& file) {
    std::vector<std::string> header = {
        fmt::format("fsmirror configuration converted from {} by `fsmirror convert`.", file),
        "Run it with: fsmirror run --config THIS-FILE (in the foreground; under systemd use "
        "Type=simple).",
    };
    const config::LsyncdSettings& s = *loaded.config.lsyncd;
    const auto add = [&](std::string line) {
        header.push_back(std::move(line));
    };
    if (s.pid_file)
        add(fmt::format("lsyncd pidfile {}: `fsmirror run` writes none; systemd tracks the "
                        "process.",
                        s.pid_file->string()));
    if (!s.nodaemon)
        add("lsyncd detached (no nodaemon): `fsmirror run` stays in the foreground; "
            "systemd runs it as a service.");
    if (s.insist)
        add("insist: `fsmirror run` exits when a sync cannot start; let systemd restart it "
            "(Restart=on-failure).");
    if (!loaded.config.log.file)
        add(fmt::format("no logfile: lsyncd logged to syslog ({}, ident {}); `fsmirror run` "
                        "logs to stderr, which systemd sends to the journal.",
                        s.log_facility, s.log_ident));
    else
        add("log lines change shape: \"2026-01-13 12:08:09.123 info: ...\" instead of lsyncd's "
            "\"Tue Jan 13 12:08:09 2026 Normal: ...\".");
    for (const auto& note : loaded.notes)
        if (!note.sync_index)
            add(fmt::format("{}: {}", note.where, note.message));
    for (const std::string& line : loaded.script_log)
        add("the config logged: " + line);
    return header;
}

} // namespace

int command_convert(const CommandContext& context) {
    const auto& args = context.args;
    if (!args.empty() && (args[0] == "-h" || args[0] == "--help")) {
        std::fputs(k_convert_help, stdout);
        return k_exit_ok;
    }
    if (args.size() != 1) {
        std::fputs("fsmirror convert: give one lsyncd config file (see fsmirror convert --help)\n",
                   stderr);
        return k_exit_usage;
    }
    config::LsyncdLoad loaded;
    try {
        loaded = config::load_lsyncd_config_file(args[0], config::LsyncdCommandLineSettings{},
                                                 context.working_directory);
    } catch (const config::ConfigError& error) {
        std::fprintf(stderr, "fsmirror convert: %s\n", error.what());
        return k_exit_usage;
    }
    config::YamlComments comments;
    comments.header = header_for(loaded, loaded.config.source_file->string());
    comments.per_sync.resize(loaded.config.syncs.size());
    for (const auto& note : loaded.notes) {
        if (!note.sync_index)
            continue;
        auto& lines = comments.per_sync[*note.sync_index];
        if (lines.empty()) {
            lines.push_back(fmt::format("from {}: {}", note.where, note.message));
            continue;
        }
        lines.push_back(
            fmt::format("{}{}", note.level == config::LsyncdNote::Level::warning ? "WARNING: " : "",
                        note.message));
    }
    // Native log lines differ from lsyncd's; say so once, in the header (see header_for).
    config::Config native = loaded.config;
    native.log.style = base::LogStyle::native;
    std::fputs(config::write_yaml_config(native, comments).c_str(), stdout);
    return k_exit_ok;
}

} // namespace fsmirror::app
