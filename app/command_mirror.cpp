// `fsmirror run` and `fsmirror sync`: the two commands that mirror.

#include "app/commands.hpp"
#include "app/control_files.hpp"
#include "app/daemon.hpp"
#include "app/sync_options.hpp"
#include "config/yaml_loader.hpp"

#include <cstdio>

namespace fsmirror::app {

namespace {

constexpr const char* k_run_help = R"(NAME
    fsmirror run - mirror a directory continuously

SYNOPSIS
    fsmirror run --source DIR --target DIR [OPTIONS]
    fsmirror run --config FILE [--log-level LEVEL] [--log-file FILE] [--state-dir DIR]
                 [--dry-run] [--skip-safety] [--allow-mass-delete]

DESCRIPTION
    Brings the target up to date with the source (the initial sync), then watches the source
    with inotify and mirrors every change after the batching delay, until SIGTERM or SIGINT.
    Runs in the foreground and logs to stderr, as a systemd service expects. Watches are set
    before the initial sync, so nothing that changes meanwhile is lost. A file held open and
    written without being closed (a log, a database) is mirrored too.

    Before anything is written, the pre-flight checks of `fsmirror check` run; a failure
    is logged with the check, the path and the fix, and fsmirror exits 1. While running,
    the mass-delete guard holds deletions that would empty the target (see
    --max-delete-percent) until `fsmirror resume`.

OPTIONS
)";

constexpr const char* k_sync_help = R"(NAME
    fsmirror sync - mirror a directory once, then exit

SYNOPSIS
    fsmirror sync --source DIR --target DIR [OPTIONS]
    fsmirror sync --config FILE [--dry-run] [--skip-safety] [--allow-mass-delete]

DESCRIPTION
    Brings the target up to date with the source and exits: for cron jobs, seeding a new
    mirror, or restoring a primary from its mirror. Files whose size and modification time
    already match are left alone. The pre-flight checks and the mass-delete guard apply as
    for `run`; deletions the guard holds make sync exit 1 without deleting them.

OPTIONS
)";

constexpr const char* k_safety_options = R"(    --dry-run
        Print every action (mkdir, copy with its size, delta, symlink, rename, delete,
        chmod/touch/chown) as "<sync>: dry-run: <action>" on stdout, and change nothing:
        not the target, its marker, or the state directory.
    --skip-safety
        Allow a target that is not empty and carries no .fsmirror marker (or one naming
        another source), e.g. to restore a primary from its mirror. Also set by
        FSMIRROR_SKIP_SAFETY=true. Skips only that check, never the overlap checks.
    --allow-mass-delete
        Let the initial sync's deletions through the mass-delete guard (after it held them,
        and you have checked that the source really lost those entries).
)";

constexpr const char* k_run_signals = R"(
SIGNALS
    SIGTERM, SIGINT   Finish the transfers in flight, remove temporary files, exit 0.
    SIGHUP            Re-read the config file (with --config). On an error the running
                      configuration is kept and the error is logged.

EXIT STATUS
    0   stopped by SIGTERM/SIGINT after a clean shutdown
    1   a pre-flight check failed or a sync could not start
    2   a usage or configuration error
)";

constexpr const char* k_sync_exit = R"(
EXIT STATUS
    0   everything was mirrored
    1   some entries could not be mirrored (each is logged), the guard held deletions, a
        pre-flight check failed, or a sync could not start
    2   a usage or configuration error
)";

enum class Mode { continuous, once };

int mirror(const CommandContext& context, Mode mode) {
    const char* name = mode == Mode::continuous ? "run" : "sync";
    base::Logger logger;
    SyncSelection selection;
    config::Config config;
    try {
        selection = parse_sync_options(context.args, context.working_directory, name,
                                       {"--dry-run", "--skip-safety", "--allow-mass-delete"});
        if (selection.help_requested) {
            std::fputs(mode == Mode::continuous ? k_run_help : k_sync_help, stdout);
            std::fputs(k_safety_options, stdout);
            std::fputs(sync_options_help().c_str(), stdout);
            std::fputs(mode == Mode::continuous ? k_run_signals : k_sync_exit, stdout);
            return k_exit_ok;
        }
        config = load_selected_config(selection, logger);
    } catch (const UsageError& error) {
        std::fprintf(stderr, "fsmirror %s: %s\n", name, error.what());
        return k_exit_usage;
    } catch (const config::ConfigError& error) {
        std::fprintf(stderr, "fsmirror %s: %s\n", name, error.what());
        return k_exit_usage;
    }
    RunOptions options;
    options.dry_run = selection.has("--dry-run") ? DryRun::yes : DryRun::no;
    options.startup_deletions = selection.has("--allow-mass-delete")
                                    ? engine::StartupDeletions::allowed
                                    : engine::StartupDeletions::guarded;
    if (selection.has("--skip-safety"))
        options.non_empty = safety::NonEmptyTarget::allow;
    else if (options.dry_run == DryRun::yes)
        options.non_empty = safety::NonEmptyTarget::report;
    options.state_dir = resolve_state_dir(selection.state_dir, config.state_dir);
    if (mode == Mode::once)
        return run_once(config, options, logger);
    if (selection.config_file)
        options.reload = [selection] {
            auto fresh = config::load_yaml_config_file(*selection.config_file);
            apply_status_overrides(selection, fresh);
            return fresh;
        };
    return run_daemon(config, options, logger);
}

} // namespace

int command_run(const CommandContext& context) {
    return mirror(context, Mode::continuous);
}

int command_sync(const CommandContext& context) {
    return mirror(context, Mode::once);
}

} // namespace fsmirror::app
