#pragma once
// The per-sync sections of fsmirror.yml ('defaults' and 'syncs'), read by yaml_loader.cpp.
// Internal to config/.

#include "config/config.hpp"
#include "config/yaml_value_reader.hpp"

#include <vector>

namespace fsmirror::config {

// Returns the options of the 'defaults' mapping (built-in defaults where it sets none). Throws
// ConfigError on an unknown key, a bad value, or 'name', 'source' or 'target' set there.
SyncConfig parse_defaults_section(const YamlValueReader& reader, const YamlEntry& section);

// Returns the syncs of the 'syncs' list, each starting from `defaults`; a sync with a list of
// targets becomes one sync per target, named "<name>-1", "<name>-2", ... Throws ConfigError on
// any mistake, including two syncs with the same name or target.
std::vector<SyncConfig> parse_syncs_section(const YamlValueReader& reader, const YamlEntry& section,
                                            const SyncConfig& defaults);

} // namespace fsmirror::config
