#include "engine/fanotify_translator.hpp"

#include "base/rel_path.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>

#include <fcntl.h>
#include <sys/fanotify.h>

namespace fsmirror::engine {

namespace {

// struct fanotify_event_info_fid: the info header, the file system id, then a struct
// file_handle (handle_bytes, handle_type, f_handle[handle_bytes]) and, for the *_NAME record
// types, the NUL-terminated name (padded to the record's length).
constexpr std::size_t k_handle_offset =
    sizeof(fanotify_event_info_header) + sizeof(__kernel_fsid_t);
constexpr std::size_t k_handle_header_size = sizeof(std::uint32_t) + sizeof(int);

template <typename T> T read_struct(const char* at) {
    T value;
    std::memcpy(&value, at, sizeof value);
    return value;
}

// Splits one directory-handle record into its handle bytes and name; false when malformed.
bool decode_directory_record(std::string_view info, std::string_view& handle,
                             std::string_view& name) {
    if (info.size() < k_handle_offset + k_handle_header_size)
        return false;
    auto handle_bytes = read_struct<std::uint32_t>(info.data() + k_handle_offset);
    const std::size_t handle_size = k_handle_header_size + handle_bytes;
    if (info.size() - k_handle_offset < handle_size)
        return false;
    handle = info.substr(k_handle_offset, handle_size);
    std::string_view rest = info.substr(k_handle_offset + handle_size);
    name = rest.substr(0, rest.find('\0'));
    if (name.empty())
        name = "."; // a FAN_EVENT_INFO_TYPE_DFID record: the directory itself
    return true;
}

void add_rescan_of_everything(std::vector<FsEvent>& out) {
    bool already = std::any_of(out.begin(), out.end(), [](const FsEvent& event) {
        return event.kind == EventKind::rescan && event.path.empty();
    });
    if (!already)
        out.push_back(FsEvent{EventKind::rescan, "", "", true});
}

} // namespace

std::vector<FanotifyRecord> decode_fanotify_records(std::span<const char> buffer) {
    std::vector<FanotifyRecord> records;
    std::size_t offset = 0;
    while (buffer.size() - offset >= sizeof(fanotify_event_metadata)) {
        auto metadata = read_struct<fanotify_event_metadata>(buffer.data() + offset);
        if (metadata.vers != FANOTIFY_METADATA_VERSION ||
            metadata.metadata_len < sizeof(fanotify_event_metadata) ||
            metadata.event_len < metadata.metadata_len ||
            metadata.event_len > buffer.size() - offset)
            break;
        FanotifyRecord record;
        record.mask = metadata.mask;
        record.pid = metadata.pid;
        std::string_view event(buffer.data() + offset, metadata.event_len);
        for (std::size_t info = metadata.metadata_len;
             event.size() - info >= sizeof(fanotify_event_info_header);) {
            auto header = read_struct<fanotify_event_info_header>(event.data() + info);
            if (header.len < sizeof header || header.len > event.size() - info)
                break;
            std::string_view body = event.substr(info, header.len);
            info += header.len;
            switch (header.info_type) {
            case FAN_EVENT_INFO_TYPE_DFID_NAME:
            case FAN_EVENT_INFO_TYPE_DFID:
            case FAN_EVENT_INFO_TYPE_OLD_DFID_NAME:
                decode_directory_record(body, record.directory_handle, record.name);
                break;
            case FAN_EVENT_INFO_TYPE_NEW_DFID_NAME:
                decode_directory_record(body, record.new_directory_handle, record.new_name);
                break;
            default:
                break; // the object's own FID: not needed to place the event
            }
        }
        records.push_back(record);
        offset += metadata.event_len;
    }
    return records;
}

FanotifyTranslator::FanotifyTranslator(FanotifyTranslatorOptions options)
    : m_options(std::move(options)) {}

std::optional<std::string> FanotifyTranslator::place_in_tree(const DirectoryPlace& directory,
                                                             std::string_view name,
                                                             bool is_directory) const {
    if (directory.where != DirectoryPlace::Where::inside)
        return std::nullopt;
    std::string path = name == "." ? directory.path : base::join_rel(directory.path, name);
    if (!path.empty() && m_options.excludes &&
        m_options.excludes->is_excluded(path,
                                        is_directory ? EntryKind::directory : EntryKind::file))
        return std::nullopt;
    return path;
}

bool FanotifyTranslator::names_root(std::string_view directory_handle,
                                    std::string_view name) const {
    return !m_options.root_parent_handle.empty() &&
           directory_handle == m_options.root_parent_handle && name == m_options.root_name;
}

void FanotifyTranslator::translate(const FanotifyRecord& record, const DirectoryResolver& resolve,
                                   std::vector<FsEvent>& out) const {
    if (record.mask & FAN_Q_OVERFLOW) {
        add_rescan_of_everything(out);
        return;
    }
    if (m_options.own_pid != 0 && record.pid == m_options.own_pid)
        return;
    if (record.directory_handle.empty())
        return; // an unlinked file's own event: its removal was reported with its name
    if (record.mask & FAN_RENAME) {
        translate_rename(record, resolve, out);
        return;
    }
    const bool is_directory = (record.mask & FAN_ONDIR) != 0;
    if (is_directory && (record.mask & FAN_DELETE) &&
        names_root(record.directory_handle, record.name)) {
        out.push_back(FsEvent{EventKind::root_lost, "", "", true});
        return;
    }
    DirectoryPlace directory = resolve(record.directory_handle);
    if (directory.where == DirectoryPlace::Where::unknown) {
        add_rescan_of_everything(out);
        return;
    }
    auto path = place_in_tree(directory, record.name, is_directory);
    if (!path)
        return;
    // The kernel merges events on one name while they wait in the queue, so a mask may hold
    // both a creation and a removal in unknown order. Removal first, then creation, is right
    // either way: the mirror looks at the source as it is now.
    if (record.mask & FAN_DELETE)
        out.push_back(FsEvent{EventKind::removed, *path, "", is_directory});
    if (record.mask & FAN_CREATE)
        out.push_back(FsEvent{EventKind::created, *path, "", is_directory});
    if (record.mask & (FAN_MODIFY | FAN_CLOSE_WRITE))
        out.push_back(FsEvent{EventKind::modified, *path, "", is_directory});
    if (record.mask & FAN_ATTRIB)
        out.push_back(FsEvent{EventKind::attrib, *path, "", is_directory});
}

void FanotifyTranslator::translate_rename(const FanotifyRecord& record,
                                          const DirectoryResolver& resolve,
                                          std::vector<FsEvent>& out) const {
    const bool is_directory = (record.mask & FAN_ONDIR) != 0;
    if (is_directory && (names_root(record.directory_handle, record.name) ||
                         names_root(record.new_directory_handle, record.new_name))) {
        out.push_back(FsEvent{EventKind::root_lost, "", "", true});
        return;
    }
    DirectoryPlace old_directory = resolve(record.directory_handle);
    DirectoryPlace new_directory = resolve(record.new_directory_handle);
    if (old_directory.where == DirectoryPlace::Where::unknown ||
        new_directory.where == DirectoryPlace::Where::unknown) {
        add_rescan_of_everything(out);
        return;
    }
    auto from = place_in_tree(old_directory, record.name, is_directory);
    auto to = place_in_tree(new_directory, record.new_name, is_directory);
    if (from && to)
        out.push_back(FsEvent{EventKind::moved, *to, *from, is_directory});
    else if (from)
        out.push_back(FsEvent{EventKind::removed, *from, "", is_directory});
    else if (to)
        out.push_back(FsEvent{EventKind::created, *to, "", is_directory});
}

} // namespace fsmirror::engine
