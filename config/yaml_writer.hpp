#pragma once
// Writes a Config as fsmirror's native YAML (docs/configuration.md), with comments: what
// `fsmirror convert lsyncd.conf.lua` prints. The output loads back with load_yaml_config_*.

#include "config/config.hpp"

#include <string>
#include <vector>

namespace fsmirror::config {

struct YamlComments {
    std::vector<std::string> header;                // comment lines at the top
    std::vector<std::vector<std::string>> per_sync; // comment lines above each sync, by index
};

// Returns the YAML text. Keys equal to the native defaults are left out, except `delay`, which
// is always written because lsyncd's default (15 s) differs from fsmirror's (1 s).
std::string write_yaml_config(const Config& config, const YamlComments& comments);

} // namespace fsmirror::config
