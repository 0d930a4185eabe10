#pragma once
// The pure half of the fanotify backend: decoding the records read() returns and mapping them
// to the same FsEvents the inotify backend produces. It never calls the kernel: where a
// directory handle leads is asked of a resolver the caller passes, so tests feed crafted
// buffers and a fake resolver.

#include "engine/event_source.hpp"
#include "engine/exclude_filter.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fsmirror::engine {

// One event as fanotify reports it with FAN_REPORT_DFID_NAME: the directory's file handle (the
// bytes of a `struct file_handle`, header included) and the entry's name ("." when the event
// is about the directory itself). The views point into the read buffer.
struct FanotifyRecord {
    std::uint64_t mask = 0;
    std::int32_t pid = 0;                  // the process that caused the event
    std::string_view directory_handle;     // for FAN_RENAME: the old directory
    std::string_view name;                 // for FAN_RENAME: the old name
    std::string_view new_directory_handle; // FAN_RENAME only
    std::string_view new_name;             // FAN_RENAME only
};

// Returns the records in one read() buffer, in order. A record without a directory handle
// (an unlinked file's own attribute change) carries only its mask; an event the decoder cannot
// parse ends the buffer.
std::vector<FanotifyRecord> decode_fanotify_records(std::span<const char> buffer);

// Where a directory handle leads now.
struct DirectoryPlace {
    enum class Where : std::uint8_t {
        inside,  // under the source root: `path` is relative to it ("" is the root)
        outside, // elsewhere on the file system
        gone,    // the directory was deleted since (ESTALE): its own removal is reported by
                 // an event on its parent, which makes events inside it moot
        unknown, // could not be resolved for another reason (out of file descriptors, ...)
    };
    Where where = Where::unknown;
    std::string path;
};

using DirectoryResolver = std::function<DirectoryPlace(std::string_view handle)>;

struct FanotifyTranslatorOptions {
    const ExcludeFilter* excludes = nullptr;
    // The root's parent directory and the root's name there, so that removing or renaming the
    // root (an event on a directory outside the source) is recognised without resolving.
    std::string root_parent_handle;
    std::string root_name;
    // The daemon's own pid: its writes are to the target (it never writes to the source), and
    // a local target on the source's file system would otherwise send back an event, and a
    // directory handle to resolve, for every entry it makes.
    std::int32_t own_pid = 0;
};

class FanotifyTranslator {
public:
    explicit FanotifyTranslator(FanotifyTranslatorOptions options);

    // Appends the events `record` means for the source tree (none for events outside it or
    // excluded): created/removed/modified/attrib, moved for a rename within the tree, removed
    // or created for a rename out of or into it, rescan of the whole tree for a queue overflow
    // or a directory that cannot be resolved, root_lost when the root is removed or renamed.
    void translate(const FanotifyRecord& record, const DirectoryResolver& resolve,
                   std::vector<FsEvent>& out) const;

private:
    // Returns the path of `name` in `directory` when it lies in the source and is not
    // excluded; nullopt otherwise.
    std::optional<std::string> place_in_tree(const DirectoryPlace& directory, std::string_view name,
                                             bool is_directory) const;
    bool names_root(std::string_view directory_handle, std::string_view name) const;
    void translate_rename(const FanotifyRecord& record, const DirectoryResolver& resolve,
                          std::vector<FsEvent>& out) const;

    FanotifyTranslatorOptions m_options;
};

} // namespace fsmirror::engine
