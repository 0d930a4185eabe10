#pragma once
// inotify backend: one watch per directory, kept in a tree keyed by watch descriptor so that a
// renamed directory moves its whole subtree by updating one node.

#include "base/unique_fd.hpp"
#include "engine/event_source.hpp"

#include <cstdint>
#include <optional>
#include <unordered_map>

#include <sys/inotify.h>

namespace fsmirror::engine {

class InotifyEventSource final : public EventSource {
public:
    explicit InotifyEventSource(EventSourceOptions options);

    base::Status start() override;
    base::Result<std::vector<FsEvent>> poll(std::chrono::milliseconds timeout) override;
    void wake() override;
    std::size_t watch_count() const override { return m_nodes.size(); }
    std::vector<std::string> watched_directories() const override;
    std::string_view name() const override { return "inotify"; }

private:
    struct WatchNode {
        ino_t inode = 0;    // of the directory actually watched, to catch name races
        int parent_wd = -1; // -1 for the root
        std::string name;   // the directory's name in its parent
        std::unordered_map<std::string, int> children;
    };
    struct PendingMoveFrom {
        std::uint32_t cookie;
        int parent_wd;
        std::string name;
        std::string path;
        bool is_directory;
    };

    // A directory whose watch could not be set when its event was read: the path the event
    // named no longer led to it (an ancestor renamed meanwhile).
    struct UnplacedDirectory {
        int parent_wd;
        std::string name;
    };

    // Watches `path` and every directory below it that is not excluded. `parent_wd` and
    // `name` place the node in the tree (-1 and "" for the root). When `path` no longer leads
    // to a child of `parent_wd`, remembers it in m_unplaced and returns success.
    base::Status watch_tree(const std::string& path, int parent_wd, const std::string& name);
    // Watches the opened directory `dir` (now at `path`) and, through it, its subdirectories.
    base::Status watch_opened(base::UniqueFd dir, const std::string& path, int parent_wd,
                              const std::string& name);
    // Once the events read so far have updated the tree, watches the directories in
    // m_unplaced that are still there under their parent's current path, and queues a rescan
    // of each. Those removed or renamed meanwhile are dropped: their own events cover them.
    void place_unplaced(std::vector<FsEvent>& out);
    // True when watch `wd`, found under a moved directory's old name `from`, is not the moved
    // directory but one made under that name after the move.
    bool watch_is_newer_than_move(int wd, const std::string& from, const std::string& to) const;
    // Removes watch `wd` and those below it, and its name from its parent.
    void unwatch_tree(int wd);
    // The same, leaving the parent's list of children alone.
    void unwatch_subtree(int wd);
    // Returns the inode now at `path`, 0 when there is none.
    ino_t inode_at(const std::string& path) const;
    void detach_child(int parent_wd, const std::string& name);
    std::optional<int> child_wd(int parent_wd, const std::string& name) const;
    std::string path_of(int wd) const;

    // Reads whatever the kernel has queued, appending translated events. Returns false when
    // nothing was available.
    base::Result<bool> read_available(std::vector<FsEvent>& out);
    void translate(const inotify_event& event, std::vector<FsEvent>& out);
    void flush_unpaired_moves(std::vector<FsEvent>& out);
    void on_overflow(std::vector<FsEvent>& out);
    bool is_excluded(const std::string& path, bool is_directory) const;

    EventSourceOptions m_options;
    base::UniqueFd m_inotify_fd;
    base::UniqueFd m_wake_fd;
    int m_root_wd = -1;
    bool m_root_lost = false;
    std::unordered_map<int, WatchNode> m_nodes;
    std::vector<PendingMoveFrom> m_pending_moves;
    std::vector<UnplacedDirectory> m_unplaced;
};

} // namespace fsmirror::engine
