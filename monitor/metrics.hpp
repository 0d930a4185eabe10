#pragma once
// The status as Prometheus text exposition (format 0.0.4), for node_exporter's textfile
// collector and the optional HTTP listener.

#include "monitor/status_report.hpp"

#include <string>

namespace fsmirror::monitor {

// Returns every metric with its HELP and TYPE lines. Label values are escaped as the format
// requires (backslash, double quote, newline).
std::string format_metrics(const StatusReport& report);

// Returns `value` escaped for use inside a label's double quotes.
std::string escape_label_value(const std::string& value);

} // namespace fsmirror::monitor
