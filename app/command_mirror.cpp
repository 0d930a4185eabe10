// `fsmirror run` and `fsmirror sync`: the two commands that mirror.

#include "app/commands.hpp"
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
    fsmirror run --config FILE [--log-level LEVEL] [--log-file FILE]

DESCRIPTION
    Brings the target up to date with the source (the initial sync), then watches the source
    with inotify and mirrors every change after the batching delay, until SIGTERM or SIGINT.
    Runs in the foreground and logs to stderr, as a systemd service expects. Watches are set
    before the initial sync, so nothing that changes meanwhile is lost. A file held open and
    written without being closed (a log, a database) is mirrored too.

OPTIONS
)";

constexpr const char* k_sync_help = R"(NAME
    fsmirror sync - mirror a directory once, then exit

SYNOPSIS
    fsmirror sync --source DIR --target DIR [OPTIONS]
    fsmirror sync --config FILE

DESCRIPTION
    Brings the target up to date with the source and exits: for cron jobs, seeding a new
    mirror, or restoring a primary from its mirror. Files whose size and modification time
    already match are left alone.

OPTIONS
)";

constexpr const char* k_run_signals = R"(
SIGNALS
    SIGTERM, SIGINT   Finish the transfers in flight, remove temporary files, exit 0.
    SIGHUP            Re-read the config file (with --config). On an error the running
                      configuration is kept and the error is logged.

EXIT STATUS
    0   stopped by SIGTERM/SIGINT after a clean shutdown
    1   a sync could not start (source missing, out of inotify watches, ...)
    2   a usage or configuration error
)";

constexpr const char* k_sync_exit = R"(
EXIT STATUS
    0   everything was mirrored
    1   some entries could not be mirrored (each is logged), or a sync could not start
    2   a usage or configuration error
)";

enum class Mode { continuous, once };

int mirror(const CommandContext& context, Mode mode) {
    const char* name = mode == Mode::continuous ? "run" : "sync";
    base::Logger logger;
    SyncSelection selection;
    config::Config config;
    try {
        selection = parse_sync_options(context.args, context.working_directory, name);
        if (selection.help_requested) {
            std::fputs(mode == Mode::continuous ? k_run_help : k_sync_help, stdout);
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
    if (mode == Mode::once)
        return run_once(config, logger);
    ConfigReloader reload;
    if (selection.config_file)
        reload = [selection] {
            auto fresh = config::load_yaml_config_file(*selection.config_file);
            apply_status_overrides(selection, fresh);
            return fresh;
        };
    return run_daemon(config, reload, logger);
}

} // namespace

int command_run(const CommandContext& context) { return mirror(context, Mode::continuous); }

int command_sync(const CommandContext& context) { return mirror(context, Mode::once); }

} // namespace fsmirror::app
