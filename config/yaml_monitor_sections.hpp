#pragma once
// The health-monitoring sections of fsmirror.yml ('monitor', 'alerts', 'metrics'), read by
// yaml_loader.cpp. Internal to config/.

#include "config/config.hpp"
#include "config/yaml_value_reader.hpp"

namespace fsmirror::config {

// Returns the 'monitor' thresholds (the defaults for an empty section). Throws ConfigError on an
// unknown key, a value out of range, or a critical disk level below the warning one.
MonitorConfig parse_monitor_section(const YamlValueReader& reader, const YamlEntry& section);

// Returns the 'alerts' channels and their timing. Throws ConfigError on an unknown key, a bad
// value, or an 'email' or 'exec' channel missing what it needs or mixing exclusive keys.
AlertsConfig parse_alerts_section(const YamlValueReader& reader, const YamlEntry& section);

// Returns the 'metrics' outputs. Throws ConfigError on an unknown key or a bad value.
MetricsConfig parse_metrics_section(const YamlValueReader& reader, const YamlEntry& section);

} // namespace fsmirror::config
