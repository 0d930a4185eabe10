// fsmirror: parse the command line, load the configuration, hand over to the daemon.

#include "app/command_line.hpp"
#include "app/daemon.hpp"
#include "config/yaml_loader.hpp"

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#ifndef FSMIRROR_VERSION
#define FSMIRROR_VERSION "0.0.0"
#endif

namespace {

using namespace fsmirror;

constexpr int k_exit_usage = 2;

void apply_log_settings(const config::Config& config, const app::Command& command,
                        base::Logger& logger) {
    logger.set_level(command.log_level.value_or(config.log.level));
    auto file = command.log_file ? command.log_file : config.log.file;
    if (file) {
        std::string error;
        if (!logger.set_file(*file, &error))
            throw config::ConfigError(error);
    }
}

} // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    base::Logger logger;
    app::Command command;
    config::Config config;
    try {
        command = app::parse_command_line(args, std::filesystem::current_path());
        switch (command.kind) {
        case app::CommandKind::help:
            std::fputs(app::help_text().c_str(), stdout);
            return 0;
        case app::CommandKind::version:
            std::printf("fsmirror %s\n", FSMIRROR_VERSION);
            return 0;
        case app::CommandKind::run:
        case app::CommandKind::sync:
            break;
        }
        config = command.config_file ? config::load_yaml_config_file(*command.config_file)
                                     : command.config;
        apply_log_settings(config, command, logger);
    } catch (const app::UsageError& error) {
        std::fprintf(stderr, "fsmirror: %s\n", error.what());
        return k_exit_usage;
    } catch (const config::ConfigError& error) {
        std::fprintf(stderr, "fsmirror: %s\n", error.what());
        return k_exit_usage;
    }

    if (command.kind == app::CommandKind::sync)
        return app::run_once(config, logger);
    app::ConfigReloader reload;
    if (command.config_file)
        reload = [path = *command.config_file] { return config::load_yaml_config_file(path); };
    return app::run_daemon(config, reload, logger);
}
