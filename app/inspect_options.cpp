#include "app/inspect_options.hpp"

#include "config/yaml_loader.hpp"
#include "monitor/status_json.hpp"

#include <cerrno>
#include <csignal>
#include <fstream>
#include <sstream>

namespace fsmirror::app {

namespace {

std::filesystem::path resolve(const std::string& value, const std::filesystem::path& cwd) {
    std::filesystem::path path(value);
    return (path.is_relative() ? cwd / path : path).lexically_normal();
}

} // namespace

InspectOptions parse_inspect_options(const std::vector<std::string>& args,
                                     const std::filesystem::path& working_directory,
                                     const std::string& command, JsonFlag json) {
    InspectOptions options;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string flag = args[i];
        std::optional<std::string> value;
        if (auto eq = flag.find('='); flag.starts_with("--") && eq != std::string::npos) {
            value = flag.substr(eq + 1);
            flag = flag.substr(0, eq);
        }
        if (flag == "-h" || flag == "--help") {
            options.help_requested = true;
            return options;
        }
        if (flag == "--json" && json == JsonFlag::allowed && !value) {
            options.json = true;
            continue;
        }
        if (flag == "-c" || flag == "--config" || flag == "--state-dir") {
            if (!value) {
                if (i + 1 >= args.size())
                    throw UsageError(flag + " needs a value");
                value = args[++i];
            }
            if (value->empty())
                throw UsageError(flag + " needs a non-empty value");
            if (flag == "--state-dir")
                options.state_dir = resolve(*value, working_directory);
            else
                options.config_file = resolve(*value, working_directory);
            continue;
        }
        if (flag.starts_with("-"))
            throw UsageError("unknown option '" + flag + "' (see fsmirror " + command + " --help)");
        throw UsageError("unexpected argument '" + flag + "' (see fsmirror " + command +
                         " --help)");
    }
    return options;
}

config::Config inspect_config(const InspectOptions& options) {
    config::Config config;
    if (options.config_file)
        config = config::load_yaml_config_file(*options.config_file);
    if (options.state_dir)
        config.state_dir = *options.state_dir;
    return config;
}

base::Result<monitor::StatusReport> read_status_report(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in)
        return std::unexpected(base::error_from_errno(errno, "cannot read " + path.string()));
    std::stringstream text;
    text << in.rdbuf();
    auto report = monitor::status_from_json(text.str());
    if (!report)
        return base::fail(report.error().kind, path.string() + ": " + report.error().message);
    return report;
}

bool process_alive(long pid) {
    if (pid <= 0)
        return false;
    return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

} // namespace fsmirror::app
