// `fsmirror resume`: release the deletions a running daemon's mass-delete guard holds.

#include "app/commands.hpp"
#include "app/control_files.hpp"
#include "app/sync_options.hpp"
#include "config/yaml_loader.hpp"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <functional>
#include <thread>

#include <fmt/format.h>

namespace fsmirror::app {

namespace {

constexpr const char* k_resume_help = R"(NAME
    fsmirror resume - release the deletions held by the mass-delete guard

SYNOPSIS
    fsmirror resume [--name NAME]... [--config FILE] [--state-dir DIR] [--timeout SECONDS]

DESCRIPTION
    When a batch would delete too much of a target (or anything while the source root is
    empty), the running daemon holds those deletions, keeps mirroring everything else,
    logs an error and writes DIR/<sync>/paused. Check the source first (is the volume
    mounted? was the deletion intended?). Then `fsmirror resume` asks the daemon, through
    DIR/<sync>/resume, to delete what the source still lacks of the held paths (anything
    that came back on the source is mirrored instead), and waits until it has done so.

OPTIONS
    --name NAME
        The sync to resume (repeatable). Default: every sync of --config, else sync1 (the
        name of a sync started with --source/--target and no --name).
    --config FILE
        The daemon's config file: its sync names and state_dir.
    --state-dir DIR
        The daemon's state directory. Default: state_dir of --config, else
        $STATE_DIRECTORY, else /var/lib/fsmirror.
    --timeout SECONDS
        How long to wait for the daemon to take the request. Default 10.

EXIT STATUS
    0   the daemon released the held deletions of every named sync
    1   a named sync is not paused, or the daemon did not take the request in time
    2   a usage or configuration error
)";

struct ResumeRequest {
    std::vector<std::string> names;
    std::optional<std::filesystem::path> config_file;
    std::optional<std::filesystem::path> state_dir;
    std::chrono::milliseconds timeout{10'000};
    bool help = false;
};

ResumeRequest parse(const std::vector<std::string>& args, const std::filesystem::path& cwd) {
    ResumeRequest request;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string flag = args[i];
        std::optional<std::string> value;
        if (auto eq = flag.find('='); flag.starts_with("--") && eq != std::string::npos) {
            value = flag.substr(eq + 1);
            flag = flag.substr(0, eq);
        }
        if (flag == "-h" || flag == "--help") {
            request.help = true;
            return request;
        }
        if (flag != "--name" && flag != "--config" && flag != "-c" && flag != "--state-dir" &&
            flag != "--timeout")
            throw UsageError("unknown option '" + flag + "' (see fsmirror resume --help)");
        if (!value) {
            if (i + 1 >= args.size())
                throw UsageError(flag + " needs a value");
            value = args[++i];
        }
        if (value->empty())
            throw UsageError(flag + " needs a non-empty value");
        auto path = [&] {
            return (cwd / *value).lexically_normal();
        };
        if (flag == "--name") {
            request.names.push_back(*value);
        } else if (flag == "--config" || flag == "-c") {
            request.config_file = path();
        } else if (flag == "--state-dir") {
            request.state_dir = path();
        } else {
            double seconds = 0;
            auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), seconds);
            if (ec != std::errc() || end != value->data() + value->size() || seconds <= 0)
                throw UsageError("--timeout takes a number of seconds > 0, got '" + *value + "'");
            request.timeout = std::chrono::milliseconds(static_cast<long>(seconds * 1000));
        }
    }
    return request;
}

bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return true;
}

} // namespace

int command_resume(const CommandContext& context) {
    ResumeRequest request;
    std::optional<std::filesystem::path> configured_state_dir;
    try {
        request = parse(context.args, context.working_directory);
        if (request.help) {
            std::fputs(k_resume_help, stdout);
            return k_exit_ok;
        }
        if (request.config_file) {
            auto config = config::load_yaml_config_file(*request.config_file);
            configured_state_dir = config.state_dir;
            if (request.names.empty())
                for (const auto& sync : config.syncs)
                    request.names.push_back(sync.name);
        }
    } catch (const UsageError& error) {
        std::fprintf(stderr, "fsmirror resume: %s\n", error.what());
        return k_exit_usage;
    } catch (const config::ConfigError& error) {
        std::fprintf(stderr, "fsmirror resume: %s\n", error.what());
        return k_exit_usage;
    }
    if (request.names.empty())
        request.names.push_back("sync1");
    ControlFiles files(resolve_state_dir(request.state_dir, configured_state_dir));

    int status = k_exit_ok;
    for (const auto& name : request.names) {
        auto paused = files.read_paused(name);
        if (!paused) {
            fmt::print(stderr,
                       "fsmirror resume: {}: no deletions are held ({} does not exist; is this "
                       "the daemon's state directory?)\n",
                       name, (files.sync_dir(name) / "paused").string());
            status = k_exit_failure;
            continue;
        }
        fmt::print("{}: paused:\n{}", name, *paused);
        if (auto requested = files.request_resume(name); !requested) {
            fmt::print(stderr, "fsmirror resume: {}: {}\n", name, requested.error().message);
            status = k_exit_failure;
            continue;
        }
        if (!wait_for([&] { return !files.resume_pending(name); }, request.timeout)) {
            files.take_resume_request(name); // withdraw it: a later start must not find it
            fmt::print(stderr,
                       "fsmirror resume: {}: the daemon did not take the request within {} ms; "
                       "is `fsmirror run` running with state directory {}?\n",
                       name, request.timeout.count(), files.state_dir().string());
            status = k_exit_failure;
            continue;
        }
        if (wait_for([&] { return !files.read_paused(name); }, request.timeout))
            fmt::print("{}: deletions resumed; the held paths were released\n", name);
        else
            fmt::print("{}: the daemon took the request but is paused again:\n{}", name,
                       files.read_paused(name).value_or(""));
    }
    std::fflush(stdout);
    return status;
}

} // namespace fsmirror::app
