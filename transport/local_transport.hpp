#pragma once
// A target directory on this machine. Every path is resolved beneath the target root without
// following symlinks, so a symlink on the target can never redirect a write outside it.

#include "base/unique_fd.hpp"
#include "transport/transport.hpp"

#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <utility>

#include <sys/stat.h>
#include <sys/types.h>

namespace fsmirror::transport {

enum class WriteMode {
    replace, // write a temp file beside the target and rename it into place
    inplace, // update the existing file where it is (rsync --inplace)
};

enum class Durability {
    per_file,  // fsync each file before renaming it into place
    per_batch, // syncfs() once per flush()
    none,
};

// What list_directory() does with temporary files nobody in this process is writing.
enum class StaleTemps {
    remove, // left by a crash: the mirroring daemon cleans them up
    keep,   // read-only users (verify, dry runs) must not touch a running daemon's files
};

struct LocalTransportOptions {
    std::filesystem::path root;
    AttributePolicy attributes;
    WriteMode write_mode = WriteMode::replace;
    Durability durability = Durability::per_batch;
    // Files at least this large that already exist on the target are updated by block
    // compare (in place, or on a reflinked clone); smaller ones are copied whole.
    std::uint64_t delta_threshold = 64 * 1024;
    StaleTemps stale_temps = StaleTemps::remove;
};

class LocalTransport;

// A file being received beside its final name, for callers that produce the content
// themselves (the SSH agent writing a stream or applying a delta). Created by
// LocalTransport::begin_incoming(), filled through fd(), then committed; the destructor removes
// the temporary file when it was not committed. Must not outlive its transport.
class IncomingFile {
public:
    IncomingFile(IncomingFile&& other) noexcept;
    IncomingFile& operator=(IncomingFile&&) = delete;
    IncomingFile(const IncomingFile&) = delete;
    IncomingFile& operator=(const IncomingFile&) = delete;
    ~IncomingFile();

    // The temporary file, open for reading and writing, empty at first.
    int fd() const { return m_fd.get(); }

private:
    friend class LocalTransport;
    IncomingFile(LocalTransport& owner, base::UniqueFd directory, std::string name,
                 std::string temp, std::string key, std::string path, base::UniqueFd fd);
    void abandon();

    LocalTransport* m_owner;
    base::UniqueFd m_directory; // the final name's parent
    std::string m_name;         // final name in m_directory
    std::string m_temp;         // temporary name in m_directory
    std::string m_key;          // in-flight key
    std::string m_path;         // relative path, for messages
    base::UniqueFd m_fd;
    bool m_open = true; // neither committed nor abandoned yet
};

class LocalTransport final : public Transport {
public:
    // Opens the target root, which must exist and be a directory. Returns not_found otherwise.
    static base::Result<std::unique_ptr<LocalTransport>> open(LocalTransportOptions options);

    std::string describe() const override;
    base::Status check_root() override;
    base::Result<std::optional<EntryInfo>> stat(std::string_view path) override;
    // Opens each distinct parent directory once for the whole list.
    std::vector<base::Result<std::optional<EntryInfo>>>
    stat_many(const std::vector<std::string>& paths) override;
    base::Result<std::vector<DirEntry>> list_directory(std::string_view path) override;
    base::Status make_directory(std::string_view path, const EntryInfo& info) override;
    base::Result<PutResult> put_file(std::string_view path, const SourceFile& source,
                                     const std::optional<EntryInfo>& existing) override;
    base::Status put_symlink(std::string_view path, const EntryInfo& info) override;
    base::Status rename(std::string_view from, std::string_view to) override;
    base::Status remove(std::string_view path) override;
    base::Status set_attributes(std::string_view path, const EntryInfo& info) override;
    base::Status flush() override;
    base::Result<ContentDigest> hash_file(std::string_view path) override;
    base::Result<std::string> read_small_file(std::string_view path,
                                              std::size_t max_bytes) override;
    // The root's mount point status is left unknown: telling needs /proc/self/mountinfo,
    // which the safety checks read (the agent adds their answer).
    base::Result<FileSystemInfo> file_system() override;

    // Returns the directory `path` ("" for the root) opened as an O_PATH descriptor, never
    // outside the root and never through a symlink; not_found when it is not a directory.
    base::Result<base::UniqueFd> open_directory(std::string_view path);

    // Returns `path` opened read-only when it is a regular file (symlinks never followed, never
    // outside the root); not_found when it is absent or something else.
    base::Result<base::UniqueFd> open_file(std::string_view path);

    // Prepares to receive the regular file `path`: makes its parents, removes a directory in
    // the way, and creates an empty temporary file beside it.
    base::Result<IncomingFile> begin_incoming(std::string_view path);

    // Gives the received file `info`'s attributes (per the policy), syncs it when the
    // durability policy says so, and renames it into place.
    // `force_durable` fsyncs the file and its directory whatever the durability policy.
    base::Status commit_incoming(IncomingFile& file, const EntryInfo& info,
                                 bool force_durable = false);

    // Returns the attributes policy this transport applies.
    const AttributePolicy& attributes() const { return m_options.attributes; }

private:
    friend class IncomingFile;

    LocalTransport(LocalTransportOptions options, base::UniqueFd root_fd, dev_t device,
                   ino_t inode);

    std::string display(std::string_view path) const;
    // Opens the regular file `path` read-only and returns it with its fstat; not_found when it
    // is absent, a symlink or something else.
    base::Result<std::pair<base::UniqueFd, struct stat>> open_regular_file(std::string_view path);
    // True when `source` must be fsynced (with its directory after the rename).
    bool durable_file(const SourceFile& source) const;
    // Whether apply_attributes_* first looks at what the entry has (one fstat, which writes
    // nothing) and leaves out the chown and chmod that would change nothing (each writes the
    // inode and its ctime): worth it where they mostly match, as on a file or directory this
    // process just made, or an entry whose times alone changed.
    enum class CurrentAttributes { unknown, look_up };
    base::Status apply_attributes_fd(int fd, const EntryInfo& info, std::string_view path,
                                     CurrentAttributes current = CurrentAttributes::unknown);
    base::Status apply_attributes_at(int dir_fd, const std::string& name, const EntryInfo& info,
                                     std::string_view path,
                                     CurrentAttributes current = CurrentAttributes::unknown);
    base::Result<PutResult> update_in_place(int dir_fd, const std::string& name,
                                            const SourceFile& source, std::string_view path);
    base::Result<PutResult> write_via_temp(IncomingFile& incoming, const SourceFile& source,
                                           const std::optional<EntryInfo>& existing);
    // Makes `path`'s parents (and removes a directory at `path` when `existing` says there is
    // one, or, without `existing`, when one is found there). Returns the parent directory.
    base::Result<base::UniqueFd> prepare_file_parent(std::string_view path,
                                                     const std::optional<EntryInfo>* existing);
    // Creates the temporary file beside `path` with `permissions` (less the umask): the
    // source's own, when known, so that the commit usually has no mode left to set.
    base::Result<IncomingFile> create_incoming(base::UniqueFd parent, std::string_view path,
                                               mode_t permissions = 0600);

    // Temp files being written now, as "<parent>/<name>", so a listing removes only stale ones.
    void register_in_flight(const std::string& key);
    void unregister_in_flight(const std::string& key);
    bool is_in_flight(const std::string& key) const;

    LocalTransportOptions m_options;
    base::UniqueFd m_root_fd;
    dev_t m_root_device;
    ino_t m_root_inode;
    mode_t m_umask = 022;
    mutable std::mutex m_in_flight_mutex;
    std::set<std::string> m_in_flight;
};

} // namespace fsmirror::transport
