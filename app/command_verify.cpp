// `fsmirror verify`: compare source and target and print every difference.

#include "app/commands.hpp"
#include "app/session_factory.hpp"
#include "app/sync_options.hpp"
#include "config/yaml_loader.hpp"
#include "engine/database_inspector.hpp"
#include "engine/tree_compare.hpp"
#include "transport/local_transport.hpp"

#include <cstdio>

#include <fmt/format.h>

namespace fsmirror::app {

namespace {

constexpr const char* k_verify_help = R"(NAME
    fsmirror verify - compare a mirror with its source

SYNOPSIS
    fsmirror verify --source DIR --target DIR [--checksum] [--sqlite] [--json] [OPTIONS]
    fsmirror verify --config FILE [--checksum] [--sqlite] [--json]

DESCRIPTION
    Compares the trees: the entry set, types, sizes, modification times, permission bits,
    owners (when they are carried over) and symlink targets; with --checksum also the
    contents of files whose size matches (XXH3-128, hashed in parallel by --workers
    threads). Prints each difference on its own line, e.g.
        missing /a/b.txt (file, 12 bytes)
        extra /old (directory)
        type /x: file on the source, directory on the target
        size /f: 12 on the source, 7 on the target
        content /f: xxh3:... on the source, xxh3:... on the target
        mode /d: 0755 on the source, 0700 on the target
        mtime /f: 1700000000.000000001 on the source, 1700000000.000000000 on the target
        symlink /l: 'a' on the source, 'b' on the target
    and a summary on stderr. Excluded paths and the target's .fsmirror marker are skipped;
    --no-perms, --no-times and --no-owner leave those attributes out. Read-only: it never
    changes the target, not even a running daemon's temporary files. It is the
    `rsync -avnc --delete` / `diff -rq` of a runbook.
    SQLite databases (found by their header; unless --no-sqlite) are mirrored as snapshots,
    so they are compared by content, not bytes: the schema and every row of the source,
    read in one read transaction, against the target's copy
        content /app.db: sqlite:... on the source, sqlite:... on the target
    Their -wal, -shm and -journal files are never mirrored, so never reported. A database
    written since its last snapshot differs until the next one lands: verify a quiet
    database (after stopping its application, as in a failover). Over SSH the agent reads
    the target's copies on the remote machine with the same helper (`fsmirror
    sqlite-digest`); over the SFTP fallback (no fsmirror there) they are not compared, and
    the summary says how many.

OPTIONS
    --checksum
        Also compare file contents.
    --sqlite
        Also run PRAGMA integrity_check on every mirrored database on the target:
            integrity /app.db: PRAGMA integrity_check on the target says: ...
    --json
        Print one JSON object instead: {"identical": bool, "syncs": [{"name", "source",
        "target", "entries", "files_hashed", "bytes_hashed", "error", "differences":
        [{"kind", "path", "source", "target"}]}]}.
)";

constexpr const char* k_verify_exit = R"(
EXIT STATUS
    0   the trees are identical
    1   they differ
    2   an error (a usage or configuration error, or a tree that cannot be read)
)";

constexpr int k_exit_error = 2;

std::string json_string(std::string_view text) {
    std::string out = "\"";
    for (unsigned char c : text) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\t':
            out += "\\t";
            break;
        case '\r':
            out += "\\r";
            break;
        default:
            if (c < 0x20)
                out += fmt::format("\\u{:04x}", c);
            else
                out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

struct SyncVerdict {
    std::string name;
    std::string source;
    std::string target;
    std::optional<engine::TreeComparison> comparison;
    std::string error;
};

// What verify compares besides the metadata.
struct VerifyDepth {
    engine::Contents contents = engine::Contents::metadata;
    bool integrity_check = false; // --sqlite
};

SyncVerdict verify_one(const config::SyncConfig& sync, const VerifyDepth& depth,
                       base::Logger& logger) {
    SyncVerdict verdict{sync.name, sync.source.string(), sync.target, std::nullopt, ""};
    engine::SourceTree source(sync.source);
    if (auto opened = source.open(); !opened) {
        verdict.error = opened.error().message;
        return verdict;
    }
    std::unique_ptr<transport::Transport> target;
    if (sync.remote) {
        try {
            target = open_remote_target(sync, logger);
        } catch (const StartupError& error) {
            verdict.error = error.what();
            return verdict;
        }
    } else {
        transport::LocalTransportOptions target_options;
        target_options.root = sync.target;
        target_options.attributes = attribute_policy(sync);
        target_options.stale_temps = transport::StaleTemps::keep;
        auto opened = transport::LocalTransport::open(target_options);
        if (!opened) {
            verdict.error = opened.error().message;
            return verdict;
        }
        target = std::move(*opened);
    }
    engine::ExcludeFilter excludes;
    try {
        excludes = make_excludes(sync);
    } catch (const StartupError& error) {
        verdict.error = error.what();
        return verdict;
    }
    engine::TreeCompareOptions options;
    options.attributes = attribute_policy(sync);
    options.contents = depth.contents;
    options.workers = sync.workers;
    std::unique_ptr<engine::DatabaseInspector> inspector;
    if (sync.sqlite.enabled) {
        inspector = engine::make_helper_database_inspector(engine::HelperOptions{});
        options.databases = engine::Databases::logical;
        options.inspector = inspector.get();
        options.integrity_check = depth.integrity_check;
        if (!sync.remote)
            options.local_target = sync.target;
    }
    auto comparison = engine::compare_trees(source, *target, excludes, options);
    if (!comparison)
        verdict.error = comparison.error().message;
    else
        verdict.comparison = std::move(*comparison);
    return verdict;
}

std::string database_summary(const engine::TreeComparison& c) {
    std::string text;
    if (c.databases_compared > 0)
        text += fmt::format(", {} SQLite database{} compared by content", c.databases_compared,
                            c.databases_compared == 1 ? "" : "s");
    if (c.databases_not_compared > 0)
        text += fmt::format(", {} SQLite database{} on the remote target not compared (no "
                            "fsmirror agent there to read them)",
                            c.databases_not_compared, c.databases_not_compared == 1 ? "" : "s");
    return text;
}

void print_json(const std::vector<SyncVerdict>& verdicts, bool identical) {
    std::string out = fmt::format("{{\"identical\":{},\"syncs\":[", identical);
    for (std::size_t i = 0; i < verdicts.size(); ++i) {
        const auto& v = verdicts[i];
        out += fmt::format("{}{{\"name\":{},\"source\":{},\"target\":{},", i ? "," : "",
                           json_string(v.name), json_string(v.source), json_string(v.target));
        if (!v.comparison) {
            out += fmt::format("\"error\":{},\"differences\":[]}}", json_string(v.error));
            continue;
        }
        const auto& c = *v.comparison;
        out += fmt::format("\"entries\":{},\"files_hashed\":{},\"bytes_hashed\":{},\"error\":null,"
                           "\"differences\":[",
                           c.entries, c.files_hashed, c.bytes_hashed);
        for (std::size_t j = 0; j < c.differences.size(); ++j) {
            const auto& d = c.differences[j];
            out += fmt::format("{}{{\"kind\":{},\"path\":{},\"source\":{},\"target\":{}}}",
                               j ? "," : "", json_string(engine::to_string(d.kind)),
                               json_string("/" + d.path), json_string(d.source),
                               json_string(d.target));
        }
        out += "]}";
    }
    out += "]}\n";
    std::fputs(out.c_str(), stdout);
}

} // namespace

int command_verify(const CommandContext& context) {
    base::Logger logger;
    SyncSelection selection;
    config::Config config;
    try {
        selection = parse_sync_options(context.args, context.working_directory, "verify",
                                       {"--checksum", "--sqlite", "--json"});
        if (selection.help_requested) {
            std::fputs(k_verify_help, stdout);
            std::fputs(sync_options_help().c_str(), stdout);
            std::fputs(k_verify_exit, stdout);
            return k_exit_ok;
        }
        config = load_selected_config(selection, logger);
    } catch (const UsageError& error) {
        std::fprintf(stderr, "fsmirror verify: %s\n", error.what());
        return k_exit_usage;
    } catch (const config::ConfigError& error) {
        std::fprintf(stderr, "fsmirror verify: %s\n", error.what());
        return k_exit_usage;
    }
    VerifyDepth depth;
    depth.contents =
        selection.has("--checksum") ? engine::Contents::checksum : engine::Contents::metadata;
    depth.integrity_check = selection.has("--sqlite");
    const auto contents = depth.contents;
    std::vector<SyncVerdict> verdicts;
    bool failed = false;
    bool identical = true;
    for (const auto& sync : config.syncs) {
        verdicts.push_back(verify_one(sync, depth, logger));
        const auto& verdict = verdicts.back();
        if (!verdict.comparison) {
            failed = true;
            continue;
        }
        if (!verdict.comparison->differences.empty())
            identical = false;
    }
    if (selection.has("--json")) {
        print_json(verdicts, identical && !failed);
    } else {
        const bool named = config.syncs.size() > 1;
        for (const auto& verdict : verdicts) {
            if (!verdict.comparison) {
                std::fprintf(stderr, "fsmirror verify: %s: %s\n", verdict.name.c_str(),
                             verdict.error.c_str());
                continue;
            }
            const auto& c = *verdict.comparison;
            for (const auto& difference : c.differences)
                fmt::print("{}{}\n", named ? verdict.name + ": " : "",
                           engine::format_difference(difference));
            std::fflush(stdout);
            fmt::print(stderr, "fsmirror verify: {}: {} entries compared{}{}, {} difference{}\n",
                       verdict.name, c.entries,
                       contents == engine::Contents::checksum
                           ? fmt::format(", {} files hashed ({} bytes each side)", c.files_hashed,
                                         c.bytes_hashed)
                           : std::string(),
                       database_summary(c), c.differences.size(),
                       c.differences.size() == 1 ? "" : "s");
        }
    }
    std::fflush(stdout);
    if (failed)
        return k_exit_error;
    return identical ? k_exit_ok : k_exit_failure;
}

} // namespace fsmirror::app
