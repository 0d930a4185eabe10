#include "app/commands.hpp"
#include "app/library_versions.hpp"

#include <array>
#include <cstdio>
#include <string_view>
#include <system_error>

#include <fmt/format.h>

#ifndef FSMIRROR_VERSION
#define FSMIRROR_VERSION "0.0.0"
#endif

namespace fsmirror::app {

namespace {

enum class Audience {
    user,     // listed in the overview
    internal, // run by fsmirror itself; listed apart
};

struct CommandEntry {
    std::string_view name;
    int (*function)(const CommandContext&);
    std::string_view summary;
    Audience audience = Audience::user;
};

constexpr std::array k_commands = {
    CommandEntry{"run", command_run, "initial sync, then mirror every change until stopped"},
    CommandEntry{"sync", command_sync, "initial sync only, then exit (cron, seeding)"},
    CommandEntry{"convert", command_convert, "print an lsyncd.conf.lua as fsmirror YAML"},
    CommandEntry{"check", command_check, "run the pre-flight safety checks, change nothing"},
    CommandEntry{"verify", command_verify, "compare a mirror with its source (--checksum)"},
    CommandEntry{"resume", command_resume, "release deletions held by the mass-delete guard"},
    CommandEntry{"status", command_status, "what the running daemon is doing, per sync"},
    CommandEntry{"health", command_health,
                 "check the daemon once; exit 0 OK, 1 WARNING, 2 CRITICAL"},
    CommandEntry{"alert", command_alert, "send one alert through the configured channels"},
    CommandEntry{"agent", command_agent, "the remote end of an SSH target (run by fsmirror)"},
    CommandEntry{"sqlite-digest", command_sqlite_digest,
                 "digest one SQLite database's content (run by verify in a child process)",
                 Audience::internal},
    CommandEntry{"sqlite-snapshot", command_sqlite_snapshot,
                 "snapshot one SQLite database (run by the engine in a child process)",
                 Audience::internal},
};

std::string overview() {
    std::string text = R"(NAME
    fsmirror - real-time directory mirroring daemon (a replacement for lsyncd)

SYNOPSIS
    fsmirror COMMAND [OPTIONS]
    fsmirror COMMAND --help
    fsmirror --help | --version
    fsmirror [LSYNCD-OPTIONS] lsyncd.conf.lua     (lsyncd's command line, unchanged)
    fsmirror [LSYNCD-OPTIONS] -rsync SOURCE TARGET

DESCRIPTION
    fsmirror keeps a TARGET directory an exact copy of a SOURCE directory. It watches the
    source with inotify, collects changes for a short batching delay, and mirrors them with
    in-process transfers: a rename is a rename on the target, a changed file is always
    transferred (never skipped because size and mtime look unchanged), and the target never
    shows a half-written file.

COMMANDS
)";
    for (const auto& command : k_commands)
        if (command.audience == Audience::user)
            text += fmt::format("    {:<8}{}\n", command.name, command.summary);
    text += "\nINTERNAL COMMANDS (run by fsmirror itself)\n";
    for (const auto& command : k_commands)
        if (command.audience == Audience::internal)
            text += fmt::format("    {:<17}{}\n", command.name, command.summary);
    text += R"(
    Run `fsmirror COMMAND --help` for the options of one command.

LSYNCD COMPATIBILITY
    fsmirror replaces lsyncd without changes to units or playbooks: any command line that
    starts with an option (-nodaemon, -rsync, -log, ...) or names a config file is read as
    lsyncd's, and lsyncd.conf.lua files run as they are. `fsmirror -help` shows lsyncd's
    options; docs/lsyncd-compatibility.md says how each lsyncd setting is honoured. Exit
    statuses then follow lsyncd's: 0 after -version and -onepass, 128+N after signal N (143
    for SIGTERM), 255 on errors.

EXIT STATUS
    0   success
    1   a runtime failure (the log says what failed and why)
    2   a usage or configuration error (the message names the flag, or file:line:column)
    `fsmirror health` alone follows the Nagios plugin convention instead: 0 OK, 1 WARNING,
    2 CRITICAL, 3 UNKNOWN (a usage or configuration error).

EXAMPLES
    fsmirror run --source /mnt/storage_do_1 --target /mnt/storage_do_2 --delay 1
    fsmirror run --config /etc/fsmirror/fsmirror.yml
    fsmirror sync --source /srv/data --target /mnt/backup/data
    fsmirror -nodaemon /etc/lsyncd/lsyncd.conf.lua
    fsmirror convert /etc/lsyncd/lsyncd.conf.lua > /etc/fsmirror/fsmirror.yml
    fsmirror check --config /etc/fsmirror/fsmirror.yml
    fsmirror verify --source /srv/data --target /mnt/backup/data --checksum
    fsmirror resume --name storage
    fsmirror status --config /etc/fsmirror/fsmirror.yml
    fsmirror health --config /etc/fsmirror/fsmirror.yml

SEE ALSO
    fsmirror.yml(5), docs/configuration.md, docs/safety.md, docs/disaster-recovery.md,
    lsyncd(1), rsync(1)
)";
    return text;
}

} // namespace

bool looks_like_lsyncd(const std::vector<std::string>& args,
                       const std::filesystem::path& working_directory) {
    if (args.empty())
        return false;
    const std::string& first = args.front();
    if (first == "-h" || first == "--help" || first == "-V" || first == "--version")
        return false;
    if (first.starts_with("-"))
        return true;
    if (first.ends_with(".lua") || first.ends_with(".conf"))
        return true;
    std::error_code ec;
    return std::filesystem::is_regular_file(working_directory / first, ec);
}

int dispatch(const std::vector<std::string>& args, const std::filesystem::path& working_directory) {
    if (args.empty()) {
        std::fputs(overview().c_str(), stderr);
        return k_exit_usage;
    }
    const std::string& verb = args.front();
    if (verb == "-h" || verb == "--help" || verb == "help") {
        if (args.size() > 1)
            return dispatch({args[1], "--help"}, working_directory);
        std::fputs(overview().c_str(), stdout);
        return k_exit_ok;
    }
    if (verb == "-V" || verb == "--version" || verb == "version") {
        // First line as before (scripts read it); then the libraries, one a line.
        std::printf("fsmirror %s\n", FSMIRROR_VERSION);
        for (const auto& library : library_versions())
            fmt::print("{} {}\n", library.name, library.version);
        return k_exit_ok;
    }
    for (const auto& command : k_commands) {
        if (command.name == verb)
            return command.function(CommandContext{
                std::vector<std::string>(args.begin() + 1, args.end()), working_directory});
    }
    if (looks_like_lsyncd(args, working_directory))
        return command_lsyncd(CommandContext{args, working_directory});
    std::fprintf(stderr, "fsmirror: unknown command '%s' (see fsmirror --help)\n", verb.c_str());
    return k_exit_usage;
}

} // namespace fsmirror::app
