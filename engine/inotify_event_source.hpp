#pragma once
// inotify backend: one watch per directory, kept in a tree keyed by watch descriptor so that a
// renamed directory moves its whole subtree by updating one node.

#include "base/unique_fd.hpp"
#include "engine/event_source.hpp"

#include <sys/inotify.h>

#include <cstdint>
#include <optional>
#include <unordered_map>

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

    // Watches `path` and every directory below it that is not excluded. `parent_wd` and
    // `name` place the node in the tree (-1 and "" for the root).
    base::Status watch_tree(const std::string& path, int parent_wd, const std::string& name);
    void unwatch_tree(int wd);
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
};

} // namespace fsmirror::engine
