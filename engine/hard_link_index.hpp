#pragma once
// The hard-link bookkeeping of a TreeMirror: which names on the source share an inode. The
// kernel reports a write only under the name it went through, yet every other name of that
// file changed with it; and when that name is renamed, removed or replaced before its batch
// runs, no event names the change at all. So the index remembers each source file with several
// links by inode and name (following renames, forgetting removals), hands back the other names
// of a file being sent, and tracks what only a comparison of the whole tree can settle: inodes
// whose names are not all known (forced), how far each inode's names were searched for, and
// new links not yet sent (those found gone before their batch count as content lost with their
// name). See the hard-link rows of "Race classes found" in docs/reliability.md for each race
// this answers. Thread-safe: one mutex guards everything (transfers on the pool's threads note
// links while the session's thread renames and forgets).

#include "base/logger.hpp"
#include "engine/exclude_filter.hpp"
#include "engine/pending_changes.hpp"
#include "engine/source_tree.hpp"
#include "transport/transport.hpp"

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace fsmirror::engine {

class HardLinkIndex {
public:
    // `source` is looked at to tell a name that is gone from one that is another file now.
    HardLinkIndex(SourceTree& source, const ExcludeFilter& excludes, base::Logger& logger);

    // Remembers the names of a source file with several hard links. Returns its other known
    // names: they changed too, though the kernel reported only the name written through.
    // Sets `unknown_names` when some names were never seen and no rescan looked for them yet.
    std::vector<std::string> note_hard_link(const std::string& path,
                                            const transport::EntryInfo& info,
                                            bool* unknown_names = nullptr);
    // Keeps the names in step with a rename on the source: names at or below `to` were
    // replaced, names at or below `from` now live below `to`.
    void rename_hard_link_names(const std::string& from, const std::string& to);
    // Forgets the names at and below `top` (a removal on the source).
    void forget_names_under(const std::string& top);
    // Returns the inode known under `path`, if any.
    std::optional<std::uint64_t> hard_link_inode(const std::string& path);

    // The other names of an inode whose content changed through a name that is gone.
    struct OtherNames {
        std::vector<std::string> alive; // known names still that inode on the source
        bool unknown_names = false;     // some names are not known: the inode is forced and
                                        // only a rescan finds them
    };
    // Returns the other names of `inode` to transfer; when some are unknown the inode is
    // forced for the next comparison of the whole tree.
    OtherNames other_names_changed(std::uint64_t inode);

    // A new name on the source (see TreeMirror::note_new_name): notes it as a new link when it
    // is a file with other links.
    void note_new_name(const std::string& path);
    // Walks a new directory for hard links and notes each as a new link (see
    // TreeMirror::note_new_directory). Looks at about `budget` entries at most; returns how
    // many it looked at.
    std::size_t note_new_directory(const std::string& path, std::size_t budget);
    // Returns the inodes of the new links that are gone from the source (where `moves` took
    // them); keeps the others for the batch that sends them.
    std::set<std::uint64_t> new_links_gone(const std::vector<Move>& moves);
    // Forgets the new links among `sent` (the files a batch submitted for their content).
    void forget_new_links_sent(const std::set<std::string>& sent);

    // Returns the inodes whose every name a comparison of the whole tree must transfer.
    std::set<std::uint64_t> forced_inodes();
    // Forgets `inodes` as forced: a comparison of the whole tree has sent all their names.
    void forget_forced_inodes(const std::set<std::uint64_t>& inodes);

private:
    // Notes `path` in the index and as a new link (note_new_name).
    void note_new_link(const std::string& path, const transport::EntryInfo& info);
    // Forgets the names at and below `top` (adding them to `forgotten`, if given).
    // The caller holds m_hard_links_mutex.
    void
    forget_hard_link_names_under(const std::string& top,
                                 std::vector<std::pair<std::string, std::uint64_t>>* forgotten);

    SourceTree& m_source;
    const ExcludeFilter& m_excludes;
    base::Logger& m_logger;
    std::mutex m_hard_links_mutex;
    std::unordered_map<std::uint64_t, std::set<std::string>> m_hard_links; // inode -> names
    std::map<std::string, std::uint64_t> m_hard_link_names; // name -> inode; ordered, for renames
    // Inode -> the link count a rescan already looked for all names at.
    std::unordered_map<std::uint64_t, std::uint32_t> m_hard_links_searched;
    // Inodes whose every name a rescan transfers, even when size and mtime look unchanged.
    std::set<std::uint64_t> m_forced_inodes;
    // A new hard link (note_new_name, note_new_directory), kept until a batch sends it or
    // finds it gone, or a few batches have neither.
    struct NewLink {
        std::uint64_t inode = 0;
        unsigned batches = 0; // batches that found it still there and did not send it
    };
    std::map<std::string, NewLink> m_new_links; // by name
};

} // namespace fsmirror::engine
