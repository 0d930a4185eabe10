#pragma once
// Reading a configuration file's text, shared by the YAML and the lsyncd (Lua) loaders.

#include <filesystem>
#include <string>

namespace fsmirror::config {

// Returns the whole content of `absolute`. Throws ConfigError("cannot read config file <path>:
// <strerror>") when it cannot be opened or read.
std::string read_config_file(const std::filesystem::path& absolute);

} // namespace fsmirror::config
