// `fsmirror check`: the pre-flight checks on their own, changing nothing.

#include "app/commands.hpp"
#include "app/preflight.hpp"
#include "app/sync_options.hpp"
#include "config/yaml_loader.hpp"

#include <cstdio>

#include <fmt/format.h>

namespace fsmirror::app {

namespace {

constexpr const char* k_check_help = R"(NAME
    fsmirror check - run the pre-flight safety checks and report, changing nothing

SYNOPSIS
    fsmirror check --source DIR --target DIR [OPTIONS]
    fsmirror check --config FILE [--skip-safety]

DESCRIPTION
    Runs the checks that `run` and `sync` run before their first write, and prints one
    line per check: "<sync>: ok|warning|FAILED <check>: <path>: <what>; fix: <how>".

CHECKS
    source             the source exists, is a readable directory (warning when empty)
    target             the target is a writable directory, or can be created
    paths              source and target do not overlap; the target is no system directory
    source-mount,      with require_mount (--require-mount): the path is a mount point
    target-mount
    non-empty-target   the target is empty or carries fsmirror's .fsmirror marker naming
                       this source (--skip-safety / FSMIRROR_SKIP_SAFETY=true allow it)
    inotify-watches    fs.inotify.max_user_watches leaves room for one watch per source
                       directory (counted) beside those in use
    free-space         the target's file system can hold what the initial sync will write

    For an SSH target, check connects and runs non-empty-target, target-mount and
    free-space on the remote machine (its marker read, statvfs and the mount table
    asked there by the agent; over the SFTP fallback free space comes from
    statvfs@openssh.com and a required mount cannot be checked, which is an error).

OPTIONS
    --skip-safety
        Report a non-empty target without a marker as a warning, as `run --skip-safety`
        would accept it.
)";

constexpr const char* k_check_exit = R"(
EXIT STATUS
    0   every check passed (warnings allowed)
    1   at least one check failed
    2   a usage or configuration error
)";

} // namespace

int command_check(const CommandContext& context) {
    base::Logger logger;
    SyncSelection selection;
    config::Config config;
    try {
        selection =
            parse_sync_options(context.args, context.working_directory, "check", {"--skip-safety"});
        if (selection.help_requested) {
            std::fputs(k_check_help, stdout);
            std::fputs(sync_options_help().c_str(), stdout);
            std::fputs(k_check_exit, stdout);
            return k_exit_ok;
        }
        config = load_selected_config(selection, logger);
    } catch (const UsageError& error) {
        std::fprintf(stderr, "fsmirror check: %s\n", error.what());
        return k_exit_usage;
    } catch (const config::ConfigError& error) {
        std::fprintf(stderr, "fsmirror check: %s\n", error.what());
        return k_exit_usage;
    }
    auto results = run_preflight(config, safety::WatchCheck::yes,
                                 selection.has("--skip-safety") ? safety::NonEmptyTarget::allow
                                                                : safety::NonEmptyTarget::refuse,
                                 RemoteTargets::connect);
    std::size_t checks = 0;
    std::size_t failed = 0;
    std::size_t warnings = 0;
    for (const auto& result : results) {
        for (const auto& finding : result.report.findings) {
            ++checks;
            failed += finding.severity == safety::Severity::error;
            warnings += finding.severity == safety::Severity::warning;
            fmt::print("{}: {:<7} {}\n", result.sync_name, safety::to_string(finding.severity),
                       safety::format_finding(finding));
        }
    }
    fmt::print("{} checks: {} failed, {} warnings\n", checks, failed, warnings);
    std::fflush(stdout);
    return failed == 0 ? k_exit_ok : k_exit_failure;
}

} // namespace fsmirror::app
