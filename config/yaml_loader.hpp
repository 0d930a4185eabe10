#pragma once
// Loads fsmirror's native YAML configuration (documented in docs/configuration.md).

#include "config/config.hpp"

#include <filesystem>
#include <stdexcept>
#include <string>

namespace fsmirror::config {

// Thrown for any invalid configuration. what() names the file, line and key, e.g.
// "/etc/fsmirror/fsmirror.yml:12:5: unknown key 'dealy' in sync 'storage'".
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Parses `text` as if it were the contents of `origin` (used in messages). Relative paths in
// it are resolved against `base_dir`. Throws ConfigError on syntax errors, unknown keys, wrong
// types and values out of range.
Config load_yaml_config_text(const std::string& text, const std::string& origin,
                             const std::filesystem::path& base_dir);

// Reads and parses the file; relative paths resolve against the file's directory.
// Throws ConfigError, including when the file cannot be read.
Config load_yaml_config_file(const std::filesystem::path& path);

// Reads only the 'alerts' and 'state_dir' keys of the file (the rest of the returned Config is
// default), ignoring every other key, even an unknown or invalid one. For `fsmirror alert`: a
// unit that failed because of a mistake elsewhere in its configuration must still be reported.
// Throws ConfigError when the file cannot be read, is not one YAML mapping, or those keys are
// invalid.
Config load_yaml_alert_settings_file(const std::filesystem::path& path);

} // namespace fsmirror::config
