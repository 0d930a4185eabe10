#pragma once
// Everything the daemon says about itself at one moment: what the status files (lsyncd's
// layout and JSON) and `fsmirror status` are made from.

#include "monitor/health_checks.hpp"
#include "monitor/sync_status.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fsmirror::monitor {

// What the configuration says about a sync (the snapshot says what it is doing).
struct SyncDescription {
    std::string name;
    std::string source;
    std::optional<std::string> target_path; // local targets: for disk probes
    std::vector<std::string> excludes;      // patterns, for lsyncd's "From excludes:" list
};

struct StatusReport {
    WallTime written{};
    WallTime started{};
    long pid = 0;
    std::string hostname;
    std::chrono::milliseconds status_interval{10'000};
    std::vector<SyncDescription> descriptions;
    std::vector<SyncStatus> syncs;
    std::vector<Alert> alerts;                     // from the last health check
    std::map<std::string, DiskUsage> target_disks; // by sync name, when probed

    // Returns the description of the sync `name`, nullptr when there is none.
    const SyncDescription* description(const std::string& name) const;
};

} // namespace fsmirror::monitor
