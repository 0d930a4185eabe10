// `fsmirror agent`: the remote end of an SSH target, started by the SSH transport over an exec
// channel (as rsync starts its server side). Speaks the agent protocol on stdin/stdout and logs
// to stderr, which the client relays into its own log.

#include "app/commands.hpp"
#include "engine/database_inspector.hpp"
#include "safety/mount_check.hpp"
#include "safety/path_checks.hpp"
#include "transport/agent_server.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>

#include <sys/stat.h>
#include <unistd.h>

#ifndef FSMIRROR_VERSION
#define FSMIRROR_VERSION "0.0.0"
#endif

namespace fsmirror::app {

namespace {

constexpr const char* k_agent_help = R"(NAME
    fsmirror agent - the remote end of an SSH target (started by fsmirror itself)

SYNOPSIS
    fsmirror agent --root DIR

DESCRIPTION
    Reads requests of fsmirror's agent protocol on standard input and answers on standard
    output, applying them beneath DIR: every path is resolved inside DIR without following
    symlinks, files are written to a temporary name, synced and renamed into place, and
    changed files are patched from librsync deltas. fsmirror runs this command on the remote
    machine over SSH (see --agent-path of fsmirror run); there is no reason to run it by hand.
    DIR is created when it is missing and its parent exists. System directories (/, /etc,
    /usr, ...) are refused.

OPTIONS
    --root DIR   the directory to mirror into (absolute)
    -h, --help   this text

EXIT STATUS
    0   the client closed the connection
    1   DIR cannot be used, or the connection broke
    2   a usage error, or the client broke the protocol
)";

// The agent answers with the same checks the local side runs: the safety checks' mount point
// test, and the SQLite digest helper (this very binary's `sqlite-digest`, in a child process,
// as verify runs it for a local mirror).
transport::AgentServices agent_services() {
    transport::AgentServices services;
    services.is_mount_point = [](const std::filesystem::path& path) {
        return safety::is_mount_point(path);
    };
    std::shared_ptr<engine::DatabaseInspector> inspector =
        engine::make_helper_database_inspector(engine::HelperOptions{});
    services.inspect_database =
        [inspector](int dir_fd, const std::string& name,
                    bool integrity_check) -> base::Result<transport::DatabaseDigest> {
        auto content =
            inspector->inspect(dir_fd, name, engine::DatabaseAccess::immutable, integrity_check);
        if (!content)
            return std::unexpected(content.error());
        return transport::DatabaseDigest{std::move(content->digest), std::move(content->integrity)};
    };
    return services;
}

} // namespace

int command_agent(const CommandContext& context) {
    std::optional<std::filesystem::path> root;
    const auto& args = context.args;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string flag = args[i];
        if (flag == "-h" || flag == "--help") {
            std::fputs(k_agent_help, stdout);
            return k_exit_ok;
        }
        if (flag.starts_with("--root=")) {
            root = flag.substr(7);
        } else if (flag == "--root" && i + 1 < args.size()) {
            root = args[++i];
        } else {
            std::fprintf(stderr,
                         "fsmirror agent: unexpected argument '%s' (see fsmirror agent "
                         "--help)\n",
                         flag.c_str());
            return k_exit_usage;
        }
    }
    if (!root || root->empty() || root->is_relative()) {
        std::fputs("fsmirror agent: --root takes an absolute directory\n", stderr);
        return k_exit_usage;
    }
    *root = root->lexically_normal();
    if (root->has_relative_path() && !root->has_filename())
        *root = root->parent_path();
    if (safety::is_system_directory(*root)) {
        std::fprintf(stderr, "fsmirror agent: refusing system directory %s as a target\n",
                     root->c_str());
        return k_exit_usage;
    }
    struct stat st {};
    if (::stat(root->c_str(), &st) != 0 && errno == ENOENT) {
        if (::mkdir(root->c_str(), 0755) != 0 && errno != EEXIST) {
            std::fprintf(stderr, "fsmirror agent: cannot create %s: %s\n", root->c_str(),
                         std::strerror(errno));
            return k_exit_failure;
        }
    }
    // A closed connection must show up as a write error, not kill the agent mid-cleanup.
    std::signal(SIGPIPE, SIG_IGN);
    base::Logger logger;
    return transport::serve_agent(STDIN_FILENO, STDOUT_FILENO, *root, FSMIRROR_VERSION,
                                  agent_services(), logger);
}

} // namespace fsmirror::app
