#pragma once
// lsyncd's command line (2.2.3 and 2.3), so `fsmirror` can replace `lsyncd` in a unit file or
// playbook unchanged: options take one dash or two, anything else is the config file.
//
//   fsmirror [OPTIONS] CONFIG-FILE
//   fsmirror [OPTIONS] -rsync SOURCE TARGET ...
//   fsmirror [OPTIONS] -rsyncssh SOURCE HOST TARGETDIR ...
//   fsmirror [OPTIONS] -direct SOURCE TARGETDIR ...

#include "config/lua_loader.hpp"

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace fsmirror::app {

// A command line lsyncd would refuse; what() is lsyncd's message, e.g.
// "unknown option command line option -dealy" or "rsync needs 2 arguments".
class LsyncdUsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct LsyncdCommandLine {
    bool help = false;                      // -help: print the usage and exit 255, as lsyncd does
    bool version = false;                   // -version: print "Version: ..." and exit 0
    bool list_monitors = false;             // -monitor without a name
    std::optional<std::string> config_file; // as written; relative to the working directory
    config::LsyncdCommandLineSettings settings;
};

// Parses `args` (argv without argv[0]). Throws LsyncdUsageError for an unknown option, a
// missing argument, two config files, command-line syncs together with a config file, and the
// options fsmirror cannot honour (-runner, -script, -monitor with anything but inotify).
// No arguments at all means help, as with lsyncd.
LsyncdCommandLine parse_lsyncd_command_line(const std::vector<std::string>& args);

// The usage text for -help.
std::string lsyncd_help_text();

// The version line for -version: lsyncd's shape, "Version: 2.2.3 (fsmirror X.Y.Z)".
std::string lsyncd_version_line(const std::string& fsmirror_version);

} // namespace fsmirror::app
