#include "monitor/sync_status.hpp"

#include <array>
#include <utility>

namespace fsmirror::monitor {

namespace {

constexpr std::array k_state_names = {
    std::pair{SyncState::starting, "starting"},
    std::pair{SyncState::initial_sync, "initial_sync"},
    std::pair{SyncState::watching, "watching"},
    std::pair{SyncState::syncing, "syncing"},
    std::pair{SyncState::deletions_paused, "deletions_paused"},
    std::pair{SyncState::source_lost, "source_lost"},
    std::pair{SyncState::target_lost, "target_lost"},
    std::pair{SyncState::target_refused, "target_refused"},
    std::pair{SyncState::stopped, "stopped"},
};

constexpr std::array k_item_status_names = {
    std::pair{ItemStatus::wait, "wait"},
    std::pair{ItemStatus::active, "active"},
    std::pair{ItemStatus::block, "block"},
};

} // namespace

const char* to_string(SyncState state) {
    for (const auto& [value, name] : k_state_names)
        if (value == state)
            return name;
    return "unknown";
}

std::optional<SyncState> parse_sync_state(std::string_view text) {
    for (const auto& [value, name] : k_state_names)
        if (text == name)
            return value;
    return std::nullopt;
}

const char* to_string(ItemStatus status) {
    for (const auto& [value, name] : k_item_status_names)
        if (value == status)
            return name;
    return "wait";
}

std::optional<ItemStatus> parse_item_status(std::string_view text) {
    for (const auto& [value, name] : k_item_status_names)
        if (text == name)
            return value;
    return std::nullopt;
}

} // namespace fsmirror::monitor
