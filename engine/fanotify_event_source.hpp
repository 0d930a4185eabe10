#pragma once
// fanotify backend for huge trees: one filesystem mark instead of one watch per directory, so
// starting costs nothing per directory and no kernel watch limit applies. Events carry the
// directory's file handle and the entry's name (FAN_REPORT_DFID_NAME); the handle is resolved
// to a path through open_by_handle_at and /proc/self/fd, with a bounded cache of directories.
// The mark covers the whole file system: events elsewhere are dropped after one cache lookup.

#include "base/unique_fd.hpp"
#include "engine/event_source.hpp"
#include "engine/fanotify_translator.hpp"

#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace fsmirror::engine {

class FanotifyEventSource final : public EventSource {
public:
    explicit FanotifyEventSource(EventSourceOptions options);

    // Returns success when fanotify can watch the file system of `root` here, otherwise why
    // not (no privilege, a kernel before 5.17, a file system without file handles), as a
    // message meant for the log.
    static base::Status check_available(const std::filesystem::path& root);

    // Marks the root's file system. Returns not_found when the root is missing,
    // permission_denied without CAP_SYS_ADMIN, fatal when the kernel or file system cannot.
    base::Status start() override;
    base::Result<std::vector<FsEvent>> poll(std::chrono::milliseconds timeout) override;
    void wake() override;
    std::size_t watch_count() const override { return m_fanotify_fd.valid() ? 1 : 0; }
    std::vector<std::string> watched_directories() const override { return {""}; }
    std::string_view name() const override { return "fanotify"; }

private:
    // Returns where `handle` (a directory's) leads, from the cache or the kernel.
    DirectoryPlace resolve(std::string_view handle);
    DirectoryPlace resolve_uncached(std::string_view handle) const;
    // Keeps the cache true after a directory was renamed or removed (`record`).
    void forget_changed_directory(const FanotifyRecord& record);
    void forget_inside(const std::string& path);
    void remember(const std::string& handle, const DirectoryPlace& place);
    base::Result<bool> read_available(std::vector<FsEvent>& out);

    EventSourceOptions m_options;
    std::string m_root;       // canonical absolute path, no trailing slash
    base::UniqueFd m_root_fd; // the mount open_by_handle_at resolves handles against
    base::UniqueFd m_fanotify_fd;
    base::UniqueFd m_wake_fd;
    std::optional<FanotifyTranslator> m_translator;
    // The cache, by handle bytes: directories in the tree (with an index by path, so a renamed
    // directory's subtree is forgotten in one range) and directories known to lie outside it.
    std::unordered_map<std::string, std::string> m_inside;
    std::map<std::string, std::string> m_inside_by_path;
    std::unordered_set<std::string> m_outside;
    std::size_t m_unresolved = 0; // handles that could not be resolved since the last poll
};

} // namespace fsmirror::engine
