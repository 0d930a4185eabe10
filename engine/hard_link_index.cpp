#include "engine/hard_link_index.hpp"

#include "base/rel_path.hpp"
#include "transport/target_marker.hpp"

namespace fsmirror::engine {

using transport::EntryInfo;
using transport::EntryType;

namespace {

std::string shown(const std::string& path) {
    return "/" + path;
}

} // namespace

HardLinkIndex::HardLinkIndex(SourceTree& source, const ExcludeFilter& excludes,
                             base::Logger& logger)
    : m_source(source), m_excludes(excludes), m_logger(logger) {}

void HardLinkIndex::note_new_name(const std::string& path) {
    auto info = m_source.stat(path);
    if (info && *info && (*info)->type == EntryType::file && (*info)->link_count > 1)
        note_new_link(path, **info);
}

void HardLinkIndex::note_new_link(const std::string& path, const EntryInfo& info) {
    note_hard_link(path, info);
    std::lock_guard lock(m_hard_links_mutex);
    m_new_links.insert_or_assign(path, NewLink{info.inode});
}

std::size_t HardLinkIndex::note_new_directory(const std::string& path, std::size_t budget) {
    std::vector<std::string> directories{path};
    std::size_t looked = 0;
    while (!directories.empty() && looked < budget) {
        const std::string dir = std::move(directories.back());
        directories.pop_back();
        auto entries = m_source.list_directory(dir);
        if (!entries)
            continue; // gone already: the event that says where is on its way
        for (const auto& entry : *entries) {
            ++looked;
            const std::string child = base::join_rel(dir, entry.name);
            const bool is_directory = entry.info.type == EntryType::directory;
            if (transport::is_reserved_path(child) ||
                m_excludes.is_excluded(child,
                                       is_directory ? EntryKind::directory : EntryKind::file))
                continue;
            if (is_directory) {
                directories.push_back(child);
            } else if (entry.info.type == EntryType::file && entry.info.link_count > 1) {
                note_new_link(child, entry.info);
            }
        }
    }
    return looked;
}

std::set<std::uint64_t> HardLinkIndex::new_links_gone(const std::vector<Move>& moves) {
    // The batch after the note sends the link (its creation, or its new directory's
    // comparison); one neither sent nor gone after a few batches is not worth a look at every
    // batch for ever.
    constexpr unsigned k_batches_kept = 4;
    std::map<std::string, NewLink> links;
    {
        std::lock_guard lock(m_hard_links_mutex);
        links.swap(m_new_links);
    }
    std::set<std::uint64_t> gone;
    std::map<std::string, NewLink> still_there;
    for (const auto& [name, link] : links) {
        std::string now = name;
        for (const auto& move : moves)
            if (base::is_same_or_under(now, move.from))
                now = move.to + now.substr(move.from.size());
        auto info = m_source.stat(now);
        if (info && *info && (*info)->inode == link.inode) {
            if (link.batches + 1 < k_batches_kept)
                still_there.emplace(std::move(now), NewLink{link.inode, link.batches + 1});
            continue;
        }
        m_logger.debug("new hard link {} is gone before its batch; a write through it may have "
                       "changed its other names with no event kept",
                       shown(name));
        gone.insert(link.inode);
    }
    std::lock_guard lock(m_hard_links_mutex);
    m_new_links.merge(still_there); // names noted meanwhile win
    return gone;
}

void HardLinkIndex::forget_new_links_sent(const std::set<std::string>& sent) {
    std::lock_guard lock(m_hard_links_mutex);
    std::erase_if(m_new_links, [&sent](const auto& link) { return sent.contains(link.first); });
}

void HardLinkIndex::forget_hard_link_names_under(
    const std::string& top, std::vector<std::pair<std::string, std::uint64_t>>* forgotten) {
    auto forget = [&](std::map<std::string, std::uint64_t>::iterator it) {
        if (forgotten)
            forgotten->emplace_back(it->first, it->second);
        if (auto names = m_hard_links.find(it->second); names != m_hard_links.end()) {
            names->second.erase(it->first);
            // Its last known name removed (not renamed: a rename puts the names back): the
            // inode may be gone, and its number given to a new file (ext4 reuses them), or it
            // may come back under names not known. Either way no search has looked for them.
            if (names->second.empty() && !forgotten) {
                m_hard_links_searched.erase(it->second);
                m_hard_links.erase(names);
            }
        }
        return m_hard_link_names.erase(it);
    };
    if (auto exact = m_hard_link_names.find(top); exact != m_hard_link_names.end())
        forget(exact);
    // "top/..." only: "top-x" sorts between "top" and "top/".
    const std::string prefix = top + "/";
    for (auto it = m_hard_link_names.lower_bound(prefix);
         it != m_hard_link_names.end() && it->first.starts_with(prefix);)
        it = forget(it);
}

void HardLinkIndex::rename_hard_link_names(const std::string& from, const std::string& to) {
    std::lock_guard lock(m_hard_links_mutex);
    std::vector<std::pair<std::string, std::uint64_t>> moved;
    forget_hard_link_names_under(from, &moved);
    forget_hard_link_names_under(to, nullptr);
    for (const auto& [name, inode] : moved) {
        std::string renamed = to + name.substr(from.size());
        m_hard_link_names[renamed] = inode;
        m_hard_links[inode].insert(renamed);
    }
}

void HardLinkIndex::forget_names_under(const std::string& top) {
    std::lock_guard lock(m_hard_links_mutex);
    forget_hard_link_names_under(top, nullptr);
}

std::optional<std::uint64_t> HardLinkIndex::hard_link_inode(const std::string& path) {
    std::lock_guard lock(m_hard_links_mutex);
    auto found = m_hard_link_names.find(path);
    if (found == m_hard_link_names.end())
        return std::nullopt;
    return found->second;
}

HardLinkIndex::OtherNames HardLinkIndex::other_names_changed(std::uint64_t inode) {
    std::vector<std::string> alive;
    std::uint32_t link_count = 0;
    {
        std::lock_guard lock(m_hard_links_mutex);
        auto names = m_hard_links.find(inode);
        if (names != m_hard_links.end())
            for (auto it = names->second.begin(); it != names->second.end();) {
                auto now = m_source.stat(*it);
                if (now && !*now) {
                    ++it; // renamed or removed: kept for the event that says which
                    continue;
                }
                if (!now || (*now)->inode != inode) {
                    m_hard_link_names.erase(*it);
                    it = names->second.erase(it);
                    m_hard_links_searched.erase(inode); // as in note_hard_link
                    continue;
                }
                link_count = (*now)->link_count;
                alive.push_back(*it);
                ++it;
            }
        if (alive.empty() || alive.size() < link_count)
            m_forced_inodes.insert(inode);
    }
    m_logger.debug("content of a hard-linked file changed through a name that is gone; "
                   "sending its {} other known names",
                   alive.size());
    const bool unknown_names = alive.empty() || alive.size() < link_count;
    return OtherNames{std::move(alive), unknown_names};
}

std::vector<std::string> HardLinkIndex::note_hard_link(const std::string& path,
                                                       const EntryInfo& info, bool* unknown_names) {
    std::lock_guard lock(m_hard_links_mutex);
    auto& names = m_hard_links[info.inode];
    names.insert(path);
    if (auto [known, fresh] = m_hard_link_names.try_emplace(path, info.inode);
        !fresh && known->second != info.inode) {
        if (auto previous = m_hard_links.find(known->second); previous != m_hard_links.end())
            previous->second.erase(path);
        known->second = info.inode;
    }
    std::vector<std::string> others;
    for (auto it = names.begin(); it != names.end();) {
        if (*it == path) {
            ++it;
            continue;
        }
        auto now = m_source.stat(*it);
        if (now && !*now) {
            // Gone from there: renamed (perhaps with its directory) or removed, and the event
            // that says which may still be unread. The name stays, so that the rename re-keys
            // it and content lost with it later still finds this inode; the removal forgets it.
            m_hard_links_searched.erase(info.inode); // worth another search
            ++it;
            continue;
        }
        // Forget names that are another file now (rewritten through a new inode).
        if (!now || (*now)->inode != info.inode) {
            if (auto known = m_hard_link_names.find(*it);
                known != m_hard_link_names.end() && known->second == info.inode)
                m_hard_link_names.erase(known);
            it = names.erase(it);
            m_hard_links_searched.erase(info.inode);
            continue;
        }
        others.push_back(*it);
        ++it;
    }
    // Once per inode and link count: a name outside the tree would otherwise rescan on every
    // write. Names gone from where the index has them do not count as known.
    auto& searched = m_hard_links_searched[info.inode];
    if (unknown_names && others.size() + 1 < info.link_count && searched < info.link_count) {
        searched = info.link_count;
        m_forced_inodes.insert(info.inode);
        *unknown_names = true;
    }
    return others;
}
std::set<std::uint64_t> HardLinkIndex::forced_inodes() {
    std::lock_guard lock(m_hard_links_mutex);
    return m_forced_inodes;
}

void HardLinkIndex::forget_forced_inodes(const std::set<std::uint64_t>& inodes) {
    std::lock_guard lock(m_hard_links_mutex);
    for (auto inode : inodes)
        m_forced_inodes.erase(inode);
}

} // namespace fsmirror::engine
