#include "app/lsyncd_command_line.hpp"

#include <charconv>
#include <cmath>
#include <functional>
#include <map>

#include <fmt/format.h>

namespace fsmirror::app {

namespace {

using config::LsyncdCommandLineSync;

// Splits -sshopts' value at blanks, as lsyncd does.
std::vector<std::string> split_blanks(const std::string& text) {
    std::vector<std::string> words;
    std::string word;
    for (char c : text) {
        if (c == ' ' || c == '\t') {
            if (!word.empty())
                words.push_back(std::move(word));
            word.clear();
        } else {
            word += c;
        }
    }
    if (!word.empty())
        words.push_back(std::move(word));
    return words;
}

double parse_delay(const std::string& text) {
    double seconds = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(seconds) ||
        seconds < 0 || seconds > 86400)
        throw LsyncdUsageError(
            fmt::format("delay needs a number of seconds from 0 to 86400, got '{}'", text));
    return seconds;
}

base::LogLevel parse_log(const std::string& value) {
    if (value == "all")
        return base::LogLevel::debug;
    if (value == "scarce")
        return base::LogLevel::warning;
    // A debug category (Exec, Inotify, Delay, ...): fsmirror's debug lines have no categories,
    // so any of them turns on all debug lines.
    return base::LogLevel::debug;
}

} // namespace

LsyncdCommandLine parse_lsyncd_command_line(const std::vector<std::string>& args) {
    LsyncdCommandLine result;
    auto& settings = result.settings;
    std::vector<std::string> non_options;

    using Handler = std::function<void(const std::vector<std::string>&)>;
    struct Option {
        std::size_t arguments;
        Handler handler;
    };
    const std::map<std::string, Option> options = {
        {"delay",
         {1,
          [&](const auto& a) {
              settings.delay = parse_delay(a[0]);
          }}},
        {"help",
         {0,
          [&](const auto&) {
              result.help = true;
          }}},
        {"insist",
         {0,
          [&](const auto&) {
              settings.insist = true;
          }}},
        {"log",
         {1,
          [&](const auto& a) {
              settings.log_level = parse_log(a[0]);
          }}},
        {"logfile",
         {1,
          [&](const auto& a) {
              settings.logfile = a[0];
          }}},
        {"nodaemon",
         {0,
          [&](const auto&) {
              settings.nodaemon = true;
          }}},
        {"onepass",
         {0,
          [&](const auto&) {
              settings.onepass = true;
          }}},
        {"pidfile",
         {1,
          [&](const auto& a) {
              settings.pidfile = a[0];
          }}},
        {"sshopts",
         {1,
          [&](const auto& a) {
              for (auto& word : split_blanks(a[0]))
                  settings.ssh_extra_args.push_back(std::move(word));
          }}},
        {"version",
         {0,
          [&](const auto&) {
              result.version = true;
          }}},
        {"rsync",
         {2,
          [&](const auto& a) {
              settings.syncs.push_back({LsyncdCommandLineSync::Layer::rsync, a[0], a[1], {}, {}});
          }}},
        {"rsyncssh",
         {3,
          [&](const auto& a) {
              settings.syncs.push_back(
                  {LsyncdCommandLineSync::Layer::rsyncssh, a[0], {}, a[1], a[2]});
          }}},
        {"direct",
         {2,
          [&](const auto& a) {
              settings.syncs.push_back({LsyncdCommandLineSync::Layer::direct, a[0], a[1], {}, {}});
          }}},
        {"runner",
         {1,
          [](const auto&) {
              throw LsyncdUsageError("-runner is not supported: fsmirror has no Lua runner to "
                                     "replace");
          }}},
        {"script",
         {1,
          [](const auto&) {
              throw LsyncdUsageError("-script is not supported: fsmirror runs no Lua besides "
                                     "the config file");
          }}},
    };

    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg.empty() || arg[0] != '-') {
            non_options.push_back(arg);
            continue;
        }
        const std::string name = arg.substr(arg.starts_with("--") ? 2 : 1);
        if (name == "monitor") {
            // An optional argument: the monitor's name.
            if (i + 1 < args.size() && !args[i + 1].starts_with("-")) {
                const std::string& monitor = args[++i];
                if (monitor != "inotify")
                    throw LsyncdUsageError(
                        fmt::format("monitor '{}' is not supported: fsmirror watches with "
                                    "inotify",
                                    monitor));
            } else {
                result.list_monitors = true;
            }
            continue;
        }
        const auto option = options.find(name);
        if (option == options.end())
            throw LsyncdUsageError("unknown option command line option " + arg);
        const std::size_t count = option->second.arguments;
        if (i + count >= args.size())
            throw LsyncdUsageError(fmt::format("{} needs {} arguments", name, count));
        const std::vector<std::string> values(args.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                                              args.begin() +
                                                  static_cast<std::ptrdiff_t>(i + 1 + count));
        option->second.handler(values);
        i += count;
    }
    if (result.help || result.version || result.list_monitors)
        return result;

    if (!settings.syncs.empty()) {
        if (!non_options.empty())
            throw LsyncdUsageError(
                "There cannot be command line syncs and a config file together.");
    } else if (non_options.empty()) {
        result.help = true;
    } else if (non_options.size() == 1) {
        result.config_file = non_options.front();
    } else {
        throw LsyncdUsageError("There can only be one config file in the command line.");
    }
    return result;
}

std::string lsyncd_help_text() {
    return R"(
USAGE:
  runs a config file:
    fsmirror [OPTIONS] [CONFIG-FILE]

  default rsync behaviour:
    fsmirror [OPTIONS] -rsync [SOURCE] [TARGET]

  default rsync with mv's through ssh:
    fsmirror [OPTIONS] -rsyncssh [SOURCE] [HOST] [TARGETDIR]

  default local copying mechanisms (cp|mv|rm):
    fsmirror [OPTIONS] -direct [SOURCE] [TARGETDIR]

OPTIONS:
  -delay SECS         Overrides default delay times
  -help               Shows this
  -insist             Continues startup even if it cannot connect
  -log    all         Logs everything (debug)
  -log    scarce      Logs errors only
  -log    [Category]  Turns on debug logging (fsmirror has no categories)
  -logfile FILE       Writes log to FILE (DEFAULT: uses syslog)
  -nodaemon           Does not detach and logs to stdout/stderr
  -onepass            Sync once at startup, then exit
  -pidfile FILE       Writes the PID into FILE (removed at exit)
  -sshopts "OPTS"     Extra ssh options for -rsyncssh
  -version            Prints versions and exits

fsmirror runs lsyncd's command line and lsyncd.conf.lua files unchanged (lsyncd 2.2.3 and
2.3). Its own commands are listed by `fsmirror --help`; `fsmirror convert CONFIG-FILE` prints
the equivalent native YAML. See docs/lsyncd-compatibility.md.

EXIT STATUS:
  0 after -version and -onepass, 128+N after signal N (143 for SIGTERM), 255 on errors.

)";
}

std::string lsyncd_version_line(const std::string& fsmirror_version) {
    return fmt::format("Version: 2.2.3 (fsmirror {})\n", fsmirror_version);
}

} // namespace fsmirror::app
