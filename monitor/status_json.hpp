#pragma once
// The machine-readable status the daemon writes beside lsyncd's layout, read back by
// `fsmirror status` and `fsmirror health`.

#include "base/error.hpp"
#include "monitor/status_report.hpp"

#include <string>

namespace fsmirror::monitor {

// Bumped when a field changes meaning; readers refuse a newer major version.
inline constexpr int k_status_json_version = 1;

// Returns the report as a JSON document (watched directory lists are left out: only counts).
std::string status_to_json(const StatusReport& report);

// Parses what status_to_json wrote. Returns a protocol error naming the problem for anything
// else.
base::Result<StatusReport> status_from_json(const std::string& text);

} // namespace fsmirror::monitor
