#include "engine/directory_diff.hpp"

#include "base/rel_path.hpp"
#include "transport/target_marker.hpp"

#include <algorithm>
#include <unordered_map>

namespace fsmirror::engine {

using transport::EntryInfo;
using transport::EntryType;

namespace {

EntryKind kind_of(const EntryInfo& info) {
    return info.type == EntryType::directory ? EntryKind::directory : EntryKind::file;
}

} // namespace

DirectoryPlan plan_directory(const DirectoryRules& rules, std::vector<transport::DirEntry> source,
                             std::vector<transport::DirEntry> target) {
    DirectoryPlan plan;
    const bool at_root = rules.path.empty();
    std::unordered_map<std::string, EntryInfo> on_target;
    on_target.reserve(target.size());
    for (auto& entry : target)
        on_target.emplace(std::move(entry.name), std::move(entry.info));
    if (at_root)
        on_target.erase(std::string(transport::k_marker_name)); // never mirrored or deleted
    plan.target_entries = on_target.size();
    auto excluded = [&](const std::string& child, const EntryInfo& info) {
        return rules.excluded && rules.excluded(child, kind_of(info));
    };

    for (auto& entry : source) {
        if (at_root && transport::is_marker_path(entry.name))
            continue; // a source's own marker (it was a mirror once) is not content
        // Never copied: its database's snapshot carries its content. One still on the target
        // stays in `on_target` and is an extra.
        if (rules.companions.contains(entry.name))
            continue;
        const std::string child = base::join_rel(rules.path, entry.name);
        auto found = on_target.find(entry.name);
        std::optional<EntryInfo> existing;
        if (found != on_target.end()) {
            existing = std::move(found->second);
            on_target.erase(found);
        }
        if (excluded(child, entry.info))
            continue; // excluded entries on the target are left alone
        if (entry.info.type == EntryType::directory) {
            const bool same_type = existing && existing->type == EntryType::directory;
            const bool differ = !same_type || (rules.attributes_differ &&
                                               rules.attributes_differ(entry.info, *existing));
            plan.directories.push_back(
                PlannedDirectory{std::move(entry.name), entry.info, !same_type, !existing, differ});
            continue;
        }
        bool forced = false;
        if (entry.info.type == EntryType::file) {
            if (entry.info.link_count > 1)
                plan.hard_linked.push_back(transport::DirEntry{child, entry.info});
            // Also with one link left: the names it was written through may be gone since.
            forced = (rules.forced && rules.forced(entry.info.inode)) ||
                     rules.quick_check == QuickCheck::not_trusted;
        }
        const bool up_to_date = !forced && existing && existing->type == entry.info.type &&
                                existing->size == entry.info.size &&
                                (!rules.same_mtime || rules.same_mtime(entry.info, *existing)) &&
                                existing->link_target == entry.info.link_target &&
                                !rules.live_databases.contains(entry.name);
        if (up_to_date) {
            if (rules.attributes_differ && rules.attributes_differ(entry.info, *existing))
                plan.attributes.push_back(PlannedAttributes{std::move(entry.name), entry.info});
            continue;
        }
        const ChangeKind kind = existing ? ChangeKind::modify : ChangeKind::create;
        plan.transfers.push_back(
            PlannedLeaf{std::move(entry.name), std::move(entry.info), std::move(existing), kind});
    }
    // What is left exists only on the target.
    for (auto& [name, info] : on_target) {
        if (excluded(base::join_rel(rules.path, name), info))
            continue;
        plan.extras.push_back(transport::DirEntry{name, std::move(info)});
    }
    std::sort(plan.extras.begin(), plan.extras.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
    return plan;
}

} // namespace fsmirror::engine
