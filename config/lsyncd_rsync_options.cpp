#include "config/lsyncd_rsync_options.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include <fmt/format.h>

namespace fsmirror::config {

namespace {

// rsync's own state as the flags leave it. Absent flags are rsync's defaults: no -p, -t, -l,
// -o or -g.
struct RsyncState {
    bool perms = false;
    bool times = false;
    bool links = false;
    bool copy_links = false;
    bool owner = false;
    bool group = false;
    TargetKind target = TargetKind::local;
    RsyncTranslation out;

    void note(std::string message) { out.notes.push_back({false, std::move(message)}); }
    void warn(std::string message) { out.notes.push_back({true, std::move(message)}); }
};

enum class Handling {
    honoured,   // `apply` gives it its effect
    equivalent, // fsmirror always behaves this way; nothing to do
    output,     // only changes what rsync prints
    remote,     // only matters for a remote target: `apply` records it
    ignored,    // not supported; a warning says what differs
    refused,    // ignoring it would change what ends up on the target: an error
};

struct RsyncOption {
    std::string_view name; // long name without "--"
    char letter;           // short name, 0 when none
    bool takes_value;
    Handling handling;
    void (*apply)(RsyncState&, std::string_view value);
    std::string_view why; // the reason shown for equivalent, ignored and refused options
};

// rsync's --cvs-exclude list (rsync(1), "-C").
constexpr std::array k_cvs_patterns = {
    "RCS",         "SCCS",         "CVS",   "CVS.adm", "RCSLOG", "cvslog.*", "tags", "TAGS",
    ".make.state", ".nse_depinfo", "*~",    "#*",      ".#*",    ",*",       "_$*",  "*$",
    "*.old",       "*.bak",        "*.BAK", "*.orig",  "*.rej",  ".del-*",   "*.a",  "*.olb",
    "*.o",         "*.obj",        "*.so",  "*.exe",   "*.Z",    "*.elc",    "*.ln", "core",
    ".svn/",       ".git/",        ".hg/",  ".bzr/",
};

void set_archive(RsyncState& s, std::string_view) {
    s.perms = s.times = s.links = s.owner = s.group = true;
}
void set_perms(RsyncState& s, std::string_view) {
    s.perms = true;
}
void clear_perms(RsyncState& s, std::string_view) {
    s.perms = false;
}
void set_times(RsyncState& s, std::string_view) {
    s.times = true;
}
void clear_times(RsyncState& s, std::string_view) {
    s.times = false;
}
void set_links(RsyncState& s, std::string_view) {
    s.links = true;
}
void clear_links(RsyncState& s, std::string_view) {
    s.links = false;
}
void set_copy_links(RsyncState& s, std::string_view) {
    s.copy_links = true;
}
void clear_copy_links(RsyncState& s, std::string_view) {
    s.copy_links = false;
}
void set_owner(RsyncState& s, std::string_view) {
    s.owner = true;
}
void clear_owner(RsyncState& s, std::string_view) {
    s.owner = false;
}
void set_group(RsyncState& s, std::string_view) {
    s.group = true;
}
void clear_group(RsyncState& s, std::string_view) {
    s.group = false;
}
void set_inplace(RsyncState& s, std::string_view) {
    s.out.inplace = true;
}
void clear_inplace(RsyncState& s, std::string_view) {
    s.out.inplace = false;
}
void set_fsync(RsyncState& s, std::string_view) {
    s.out.fsync_each_file = true;
}
void add_exclude(RsyncState& s, std::string_view value) {
    if (value.empty())
        throw RsyncOptionError("--exclude needs a pattern");
    s.out.excludes.emplace_back(value);
}
void set_exclude_from(RsyncState& s, std::string_view value) {
    if (value.empty())
        throw RsyncOptionError("--exclude-from needs a file");
    if (s.out.exclude_from && *s.out.exclude_from != value)
        throw RsyncOptionError(fmt::format("only one exclude file is supported, got {} and {}",
                                           *s.out.exclude_from, value));
    s.out.exclude_from = std::string(value);
}
void add_cvs_excludes(RsyncState& s, std::string_view) {
    s.out.excludes.insert(s.out.excludes.end(), k_cvs_patterns.begin(), k_cvs_patterns.end());
    s.warn("cvs_exclude: rsync's CVS patterns are excluded, but .cvsignore files and "
           "$CVSIGNORE are not read");
}
void set_compress(RsyncState& s, std::string_view) {
    s.out.compress = true;
    if (s.target == TargetKind::local)
        s.note("compress: no effect on a local target (as with rsync)");
}
void clear_compress(RsyncState& s, std::string_view) {
    s.out.compress = false;
}
void set_rsh(RsyncState& s, std::string_view value) {
    if (value.empty())
        throw RsyncOptionError("--rsh needs a command");
    s.out.rsh = std::string(value);
    if (s.target == TargetKind::local)
        s.warn(fmt::format("rsh '{}' is not used: the target is local", value));
}
void remote_only(RsyncState& s, std::string_view) {
    (void)s; // recorded by the caller's note
}
void devices_skipped(RsyncState& s, std::string_view) {
    s.note("devices/specials: fsmirror does not copy device files, FIFOs and sockets");
}

constexpr std::string_view k_whole_file_why =
    "fsmirror copies whole files, and updates large files already on the target by comparing "
    "blocks; the result is the same";
constexpr std::string_view k_output_why = "it only changes what rsync prints";
constexpr std::string_view k_daemon_why = "rsync daemon targets (host::module) are not supported";

// Every rsync option fsmirror knows, and what it does with it. Options not listed are refused
// with "unknown": fsmirror does not run on options it does not understand.
constexpr RsyncOption k_options[] = {
    // Attributes.
    {"archive", 'a', false, Handling::honoured, set_archive, ""},
    {"perms", 'p', false, Handling::honoured, set_perms, ""},
    {"no-perms", 0, false, Handling::honoured, clear_perms, ""},
    {"no-p", 0, false, Handling::honoured, clear_perms, ""},
    {"times", 't', false, Handling::honoured, set_times, ""},
    {"no-times", 0, false, Handling::honoured, clear_times, ""},
    {"no-t", 0, false, Handling::honoured, clear_times, ""},
    {"links", 'l', false, Handling::honoured, set_links, ""},
    {"no-links", 0, false, Handling::honoured, clear_links, ""},
    {"no-l", 0, false, Handling::honoured, clear_links, ""},
    {"copy-links", 'L', false, Handling::honoured, set_copy_links, ""},
    {"no-copy-links", 0, false, Handling::honoured, clear_copy_links, ""},
    {"owner", 'o', false, Handling::honoured, set_owner, ""},
    {"no-owner", 0, false, Handling::honoured, clear_owner, ""},
    {"no-o", 0, false, Handling::honoured, clear_owner, ""},
    {"group", 'g', false, Handling::honoured, set_group, ""},
    {"no-group", 0, false, Handling::honoured, clear_group, ""},
    {"no-g", 0, false, Handling::honoured, clear_group, ""},
    {"devices", 0, false, Handling::honoured, devices_skipped, ""},
    {"specials", 0, false, Handling::honoured, devices_skipped, ""},
    {"D", 'D', false, Handling::honoured, devices_skipped, ""},
    {"executability", 'E', false, Handling::equivalent, nullptr,
     "fsmirror carries the execute bits with the other permission bits"},
    {"omit-dir-times", 'O', false, Handling::equivalent, nullptr,
     "harmless: fsmirror still sets directory times, once per batch after the directory's "
     "contents, so they cost no extra updates"},
    {"omit-link-times", 'J', false, Handling::equivalent, nullptr,
     "harmless: fsmirror sets symlink times when the file system allows it"},
    {"numeric-ids", 0, false, Handling::equivalent, nullptr,
     "owners and groups are always carried as numbers"},
    // How files are written.
    {"inplace", 0, false, Handling::honoured, set_inplace, ""},
    {"no-inplace", 0, false, Handling::honoured, clear_inplace, ""},
    {"fsync", 0, false, Handling::honoured, set_fsync, ""},
    {"whole-file", 'W', false, Handling::equivalent, nullptr, k_whole_file_why},
    {"no-whole-file", 0, false, Handling::equivalent, nullptr, k_whole_file_why},
    {"no-W", 0, false, Handling::equivalent, nullptr, k_whole_file_why},
    {"delay-updates", 0, false, Handling::equivalent, nullptr,
     "fsmirror always writes a temporary file and renames it into place"},
    {"partial", 0, false, Handling::equivalent, nullptr,
     "an interrupted transfer leaves no partial file; the next attempt starts over"},
    {"partial-dir", 0, true, Handling::equivalent, nullptr,
     "an interrupted transfer leaves no partial file; the next attempt starts over"},
    {"P", 'P', false, Handling::output, nullptr, k_output_why},
    {"recursive", 'r', false, Handling::equivalent, nullptr, "fsmirror mirrors the whole tree"},
    {"dirs", 'd', false, Handling::equivalent, nullptr, "fsmirror mirrors the whole tree"},
    {"no-implied-dirs", 0, false, Handling::equivalent, nullptr, "fsmirror mirrors the whole tree"},
    {"no-relative", 0, false, Handling::equivalent, nullptr,
     "paths are always relative to the source"},
    {"force", 0, false, Handling::equivalent, nullptr,
     "a directory replaced by a file (or the reverse) is always replaced on the target"},
    {"ignore-errors", 0, false, Handling::equivalent, nullptr,
     "a failing entry never stops the others; it is retried"},
    {"ignore-times", 'I', false, Handling::equivalent, nullptr,
     "fsmirror transfers every file that changed, whatever its size and time"},
    {"protect-args", 's', false, Handling::equivalent, nullptr, "no shell is involved"},
    {"no-protect-args", 0, false, Handling::equivalent, nullptr, "no shell is involved"},
    {"delete-missing-args", 0, false, Handling::equivalent, nullptr,
     "a path gone from the source is deleted on the target"},
    {"ignore-missing-args", 0, false, Handling::equivalent, nullptr,
     "a file that vanishes before its transfer is skipped"},
    {"mkpath", 0, false, Handling::equivalent, nullptr, "missing directories are created"},
    // Deletion (fsmirror always deletes after the transfers of a batch, as --delete-after).
    {"delete", 0, false, Handling::honoured, nullptr, ""},
    {"del", 0, false, Handling::honoured, nullptr, ""},
    {"delete-before", 0, false, Handling::honoured, nullptr, ""},
    {"delete-during", 0, false, Handling::honoured, nullptr, ""},
    {"delete-delay", 0, false, Handling::honoured, nullptr, ""},
    {"delete-after", 0, false, Handling::honoured, nullptr, ""},
    {"delete-excluded", 0, false, Handling::ignored, nullptr,
     "excluded entries on the target are left alone"},
    {"max-delete", 0, true, Handling::ignored, nullptr,
     "fsmirror never deletes because of an empty or unmounted source, and its mass-delete "
     "guard takes this role"},
    // Which files.
    {"exclude", 0, true, Handling::honoured, add_exclude, ""},
    {"exclude-from", 0, true, Handling::honoured, set_exclude_from, ""},
    {"cvs-exclude", 'C', false, Handling::honoured, add_cvs_excludes, ""},
    {"checksum", 'c', false, Handling::ignored, nullptr,
     "the initial comparison trusts size and modification time; while running, every changed "
     "file is transferred anyway"},
    {"size-only", 0, false, Handling::ignored, nullptr,
     "fsmirror transfers a file whenever it changed"},
    {"max-size", 0, true, Handling::ignored, nullptr, "files of every size are mirrored"},
    {"min-size", 0, true, Handling::ignored, nullptr, "files of every size are mirrored"},
    {"one-file-system", 'x', false, Handling::ignored, nullptr,
     "file systems mounted inside the source are mirrored too"},
    {"prune-empty-dirs", 'm', false, Handling::ignored, nullptr, "empty directories are mirrored"},
    {"modify-window", '@', true, Handling::ignored, nullptr, "times are compared exactly"},
    // Special files.
    {"hard-links", 'H', false, Handling::ignored, nullptr,
     "hard-linked files are copied as separate files"},
    {"acls", 'A', false, Handling::ignored, nullptr, "ACLs are not copied"},
    {"xattrs", 'X', false, Handling::ignored, nullptr, "extended attributes are not copied"},
    {"sparse", 'S', false, Handling::ignored, nullptr,
     "holes are kept only where the file system clones or skips them"},
    {"preallocate", 0, false, Handling::ignored, nullptr, "files are not preallocated"},
    {"keep-dirlinks", 'K', false, Handling::ignored, nullptr,
     "a symlink on the target is replaced, never followed"},
    {"copy-dirlinks", 'k', false, Handling::ignored, nullptr,
     "symlinks to directories are copied as symlinks"},
    {"copy-unsafe-links", 0, false, Handling::ignored, nullptr, "symlinks are copied as symlinks"},
    {"safe-links", 0, false, Handling::ignored, nullptr,
     "symlinks pointing out of the tree are copied too (the target never follows them)"},
    {"munge-links", 0, false, Handling::ignored, nullptr, "symlinks are copied as they are"},
    {"super", 0, false, Handling::ignored, nullptr, "owners are carried when running as root"},
    {"fake-super", 0, false, Handling::ignored, nullptr, "attributes are not stored in xattrs"},
    {"append", 0, false, Handling::ignored, nullptr, "changed files are transferred whole"},
    {"append-verify", 0, false, Handling::ignored, nullptr, "changed files are transferred whole"},
    {"temp-dir", 'T', true, Handling::ignored, nullptr,
     "temporary files are written beside the final name"},
    {"block-size", 'B', true, Handling::ignored, nullptr, "fsmirror picks its own block size"},
    {"fuzzy", 'y', false, Handling::ignored, nullptr, "no basis file is searched for"},
    {"open-noatime", 0, false, Handling::ignored, nullptr, "access times are not managed"},
    {"atimes", 'U', false, Handling::ignored, nullptr, "access times are not copied"},
    {"crtimes", 'N', false, Handling::ignored, nullptr, "creation times are not copied"},
    // Network (an SSH target).
    {"compress", 'z', false, Handling::remote, set_compress, ""},
    {"no-compress", 0, false, Handling::remote, clear_compress, ""},
    {"compress-level", 0, true, Handling::remote, remote_only, ""},
    {"zl", 0, true, Handling::remote, remote_only, ""},
    {"compress-choice", 0, true, Handling::remote, remote_only, ""},
    {"zc", 0, true, Handling::remote, remote_only, ""},
    {"skip-compress", 0, true, Handling::remote, remote_only, ""},
    {"rsh", 'e', true, Handling::remote, set_rsh, ""},
    {"rsync-path", 0, true, Handling::ignored, nullptr,
     "fsmirror does not run rsync on the remote side"},
    {"bwlimit", 0, true, Handling::ignored, nullptr, "transfers are not rate-limited"},
    {"timeout", 0, true, Handling::ignored, nullptr, "fsmirror detects stalled transfers itself"},
    {"contimeout", 0, true, Handling::ignored, nullptr, k_daemon_why},
    {"port", 0, true, Handling::ignored, nullptr, k_daemon_why},
    {"password-file", 0, true, Handling::ignored, nullptr, k_daemon_why},
    {"address", 0, true, Handling::ignored, nullptr, "the system picks the source address"},
    {"sockopts", 0, true, Handling::ignored, nullptr, "socket options are not set"},
    {"ipv4", '4', false, Handling::ignored, nullptr, "ssh picks the address family"},
    {"ipv6", '6', false, Handling::ignored, nullptr, "ssh picks the address family"},
    {"blocking-io", 0, false, Handling::output, nullptr, k_output_why},
    {"no-blocking-io", 0, false, Handling::output, nullptr, k_output_why},
    // Output.
    {"verbose", 'v', false, Handling::output, nullptr, k_output_why},
    {"quiet", 'q', false, Handling::output, nullptr, k_output_why},
    {"progress", 0, false, Handling::output, nullptr, k_output_why},
    {"stats", 0, false, Handling::output, nullptr, k_output_why},
    {"human-readable", 'h', false, Handling::output, nullptr, k_output_why},
    {"itemize-changes", 'i', false, Handling::output, nullptr, k_output_why},
    {"8-bit-output", '8', false, Handling::output, nullptr, k_output_why},
    {"no-motd", 0, false, Handling::output, nullptr, k_output_why},
    {"msgs2stderr", 0, false, Handling::output, nullptr, k_output_why},
    {"log-file", 0, true, Handling::output, nullptr, k_output_why},
    {"log-file-format", 0, true, Handling::output, nullptr, k_output_why},
    {"out-format", 0, true, Handling::output, nullptr, k_output_why},
    {"info", 0, true, Handling::output, nullptr, k_output_why},
    {"debug", 0, true, Handling::output, nullptr, k_output_why},
    {"outbuf", 0, true, Handling::output, nullptr, k_output_why},
    {"inc-recursive", 0, false, Handling::output, nullptr, k_output_why},
    {"no-inc-recursive", 0, false, Handling::output, nullptr, k_output_why},
    // Refused: ignoring them would change what ends up on the target.
    {"update", 'u', false, Handling::refused, nullptr,
     "fsmirror always makes the target equal to the source, newer target files included"},
    {"existing", 0, false, Handling::refused, nullptr, "fsmirror creates new files too"},
    {"ignore-non-existing", 0, false, Handling::refused, nullptr, "fsmirror creates new files too"},
    {"ignore-existing", 0, false, Handling::refused, nullptr, "fsmirror updates existing files"},
    {"backup", 'b', false, Handling::refused, nullptr,
     "fsmirror keeps no backups of replaced files"},
    {"backup-dir", 0, true, Handling::refused, nullptr,
     "fsmirror keeps no backups of replaced files"},
    {"suffix", 0, true, Handling::refused, nullptr, "fsmirror keeps no backups of replaced files"},
    {"dry-run", 'n', false, Handling::refused, nullptr, "a dry run is not supported this way"},
    {"list-only", 0, false, Handling::refused, nullptr, "fsmirror does not list files"},
    {"relative", 'R', false, Handling::refused, nullptr, "paths are always relative to the source"},
    {"remove-source-files", 0, false, Handling::refused, nullptr,
     "fsmirror never changes the source"},
    {"chmod", 0, true, Handling::refused, nullptr, "fsmirror does not rewrite permissions"},
    {"chown", 0, true, Handling::refused, nullptr, "fsmirror does not rewrite owners"},
    {"usermap", 0, true, Handling::refused, nullptr, "fsmirror does not map owners"},
    {"groupmap", 0, true, Handling::refused, nullptr, "fsmirror does not map groups"},
    {"copy-as", 0, true, Handling::refused, nullptr, "fsmirror does not switch users"},
    {"include", 0, true, Handling::refused, nullptr,
     "include rules are not supported; use excludes"},
    {"include-from", 0, true, Handling::refused, nullptr,
     "include rules are not supported; use excludes"},
    {"filter", 'f', true, Handling::refused, nullptr,
     "use lsyncd's exclude or filter keys instead"},
    {"F", 'F', false, Handling::refused, nullptr, "per-directory filter files are not supported"},
    {"files-from", 0, true, Handling::refused, nullptr, "fsmirror mirrors the whole tree"},
    {"from0", '0', false, Handling::refused, nullptr, "fsmirror mirrors the whole tree"},
    {"compare-dest", 0, true, Handling::refused, nullptr, "basis directories are not supported"},
    {"copy-dest", 0, true, Handling::refused, nullptr, "basis directories are not supported"},
    {"link-dest", 0, true, Handling::refused, nullptr, "basis directories are not supported"},
    {"write-batch", 0, true, Handling::refused, nullptr, "batch files are not supported"},
    {"only-write-batch", 0, true, Handling::refused, nullptr, "batch files are not supported"},
    {"read-batch", 0, true, Handling::refused, nullptr, "batch files are not supported"},
    {"iconv", 0, true, Handling::refused, nullptr, "file names are copied byte for byte"},
    {"stop-after", 0, true, Handling::refused, nullptr, "fsmirror does not stop on a timer"},
    {"stop-at", 0, true, Handling::refused, nullptr, "fsmirror does not stop on a timer"},
    {"time-limit", 0, true, Handling::refused, nullptr, "fsmirror does not stop on a timer"},
};

const RsyncOption* find_long(std::string_view name) {
    for (const auto& option : k_options)
        if (option.name == name)
            return &option;
    return nullptr;
}

const RsyncOption* find_letter(char letter) {
    for (const auto& option : k_options)
        if (option.letter == letter)
            return &option;
    return nullptr;
}

bool is_delete_flag(std::string_view name) {
    return name == "delete" || name == "del" || name == "delete-before" ||
           name == "delete-during" || name == "delete-delay" || name == "delete-after";
}

// Gives one option its effect. `spelled` is how the config wrote it, for messages.
void apply(RsyncState& state, const RsyncOption& option, std::string_view value,
           const std::string& spelled) {
    switch (option.handling) {
    case Handling::honoured:
        if (is_delete_flag(option.name)) {
            if (!state.out.delete_flag)
                state.out.delete_flag = spelled;
            return;
        }
        if (option.apply != nullptr)
            option.apply(state, value);
        return;
    case Handling::equivalent:
        state.note(fmt::format("{}: nothing to do: {}", spelled, option.why));
        return;
    case Handling::output:
        state.note(fmt::format("{}: ignored: {}", spelled, option.why));
        return;
    case Handling::remote:
        if (option.apply != nullptr && option.apply != remote_only) {
            option.apply(state, value);
        } else if (state.target == TargetKind::local) {
            state.note(fmt::format("{}: no effect on a local target", spelled));
        } else {
            state.warn(
                fmt::format("{}: ignored: the SSH transport picks its own compression", spelled));
        }
        return;
    case Handling::ignored:
        state.warn(fmt::format("{}: ignored: {}", spelled, option.why));
        return;
    case Handling::refused:
        throw RsyncOptionError(fmt::format("{} is not supported: {}", spelled, option.why));
    }
}

std::string value_text(const LuaValue& value, const std::string& name) {
    if (value.kind == LuaValue::Kind::string)
        return value.text;
    if (value.kind == LuaValue::Kind::number)
        return value.describe();
    throw RsyncOptionError(fmt::format("Parameter \"{}\" must be a string or a number, got {}",
                                       name, value.describe()));
}

// Parses rsync._extra: verbatim rsync arguments.
void apply_extra(RsyncState& state, const LuaValue& extra) {
    if (extra.kind != LuaValue::Kind::table || !extra.fields.empty() || !extra.odd_keys.empty())
        throw RsyncOptionError(
            fmt::format("Parameter \"rsync._extra\" must be a list of rsync arguments, got {}",
                        extra.describe()));
    std::vector<std::string> args;
    for (const LuaValue& item : extra.items)
        args.push_back(value_text(item, "rsync._extra"));

    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        const auto next_value = [&](const std::string& spelled) -> std::string {
            if (i + 1 >= args.size())
                throw RsyncOptionError(fmt::format("rsync._extra: {} needs a value", spelled));
            return args[++i];
        };
        if (arg.starts_with("--")) {
            const auto equals = arg.find('=');
            const std::string name =
                arg.substr(2, equals == std::string::npos ? std::string::npos : equals - 2);
            const RsyncOption* option = find_long(name);
            if (option == nullptr || name.size() == 1) // "D", "F", "P" are short forms only
                throw RsyncOptionError(fmt::format(
                    "rsync._extra: fsmirror does not know the rsync option '{}'; remove it", arg));
            std::string value;
            if (option->takes_value)
                value = equals != std::string::npos ? arg.substr(equals + 1) : next_value(arg);
            else if (equals != std::string::npos)
                throw RsyncOptionError(fmt::format("rsync._extra: {} takes no value", name));
            apply(state, *option, value, "rsync._extra " + arg);
        } else if (arg.size() > 1 && arg[0] == '-') {
            for (std::size_t k = 1; k < arg.size(); ++k) {
                const RsyncOption* option = find_letter(arg[k]);
                if (option == nullptr)
                    throw RsyncOptionError(fmt::format(
                        "rsync._extra: fsmirror does not know the rsync option '-{}' (in '{}'); "
                        "remove it",
                        arg[k], arg));
                const std::string spelled = fmt::format("rsync._extra -{}", arg[k]);
                if (option->takes_value) {
                    std::string value =
                        k + 1 < arg.size() ? arg.substr(k + 1) : next_value(spelled);
                    apply(state, *option, value, spelled);
                    break;
                }
                apply(state, *option, "", spelled);
            }
        } else {
            throw RsyncOptionError(fmt::format(
                "rsync._extra: '{}' is not an option; lsyncd passes source and target itself",
                arg));
        }
    }
}

// lsyncd's checkgauge for rsync={...} (default-rsync.lua), in the order lsyncd emits them.
constexpr std::string_view k_short_keys[] = {
    "acls",
    "backup",
    "checksum",
    "compress",
    "copy_dirlinks",
    "copy_links",
    "cvs_exclude",
    "dry_run",
    "executability",
    "group",
    "hard_links",
    "ignore_times",
    "ipv4",
    "ipv6",
    "keep_dirlinks",
    "links",
    "one_file_system",
    "omit_dir_times",
    "omit_link_times",
    "owner",
    "perms",
    "protect_args",
    "prune_empty_dirs",
    "quiet",
    "sparse",
    "times",
    "update",
    "verbose",
    "whole_file",
    "xattrs",
};
constexpr std::string_view k_long_keys[] = {
    "append",   "append_verify", "backup_dir", "bwlimit",       "chmod", "chown",
    "groupmap", "existing",      "inplace",    "password_file", "rsh",   "rsync_path",
    "suffix",   "temp_dir",      "timeout",    "usermap",
};
constexpr std::string_view k_other_keys[] = {"archive", "binary", "_extra"};

std::string option_name(std::string_view key) {
    std::string name(key);
    std::replace(name.begin(), name.end(), '_', '-');
    return name;
}

template <class Range> bool contains(const Range& range, std::string_view key) {
    return std::find(std::begin(range), std::end(range), key) != std::end(range);
}

} // namespace

RsyncTranslation translate_rsync_options(const LuaValue* rsync_table, TargetKind target) {
    if (rsync_table != nullptr && rsync_table->kind != LuaValue::Kind::table)
        throw RsyncOptionError(
            fmt::format("Parameter \"rsync\" must be a table, got {}", rsync_table->describe()));
    // default.rsync's table under the user's: links, times and protect_args on.
    LuaValue table = rsync_table != nullptr ? *rsync_table : LuaValue::make_table();
    if (!table.odd_keys.empty() || !table.items.empty())
        throw RsyncOptionError("Parameter \"rsync\" must be a table of named options");
    const bool user_protect_args = table.field("protect_args") != nullptr;
    for (const char* key : {"links", "times", "protect_args"}) {
        if (table.field(key) == nullptr) {
            table.fields.push_back(LuaField{key, LuaValue::make_boolean(true)});
            std::sort(table.fields.begin(), table.fields.end(),
                      [](const LuaField& a, const LuaField& b) { return a.key < b.key; });
        }
    }
    for (const LuaField& f : table.fields) {
        if (!contains(k_short_keys, f.key) && !contains(k_long_keys, f.key) &&
            !contains(k_other_keys, f.key))
            throw RsyncOptionError(
                fmt::format("Parameter \"rsync.{}\" unknown. (default.rsync knows: archive, "
                            "binary, _extra and rsync's own options; see "
                            "docs/lsyncd-compatibility.md)",
                            f.key));
    }

    RsyncState state;
    state.target = target;
    const auto flag = [&](std::string_view key) {
        const LuaValue* value = table.field(key);
        return value != nullptr && value->truthy();
    };
    // archive fills in the keys the table leaves unset (default-rsync.lua's prepare).
    const bool archive = flag("archive");
    const auto flag_or_archive = [&](std::string_view key) {
        const LuaValue* value = table.field(key);
        return value != nullptr ? value->truthy() : archive;
    };

    // 1. The short-flag cluster.
    for (std::string_view key : k_short_keys) {
        if (key == "protect_args" && !user_protect_args)
            continue; // default.rsync's own default: nothing to report
        const bool on =
            (key == "links" || key == "perms" || key == "times" || key == "group" || key == "owner")
                ? flag_or_archive(key)
                : flag(key);
        if (on)
            apply(state, *find_long(option_name(key)), "", "rsync." + std::string(key));
    }
    // 2. _extra, verbatim.
    if (const LuaValue* extra = table.field("_extra"); extra != nullptr && extra->truthy())
        apply_extra(state, *extra);
    // 3. The long options.
    for (std::string_view key : k_long_keys) {
        const LuaValue* value = table.field(key);
        if (value == nullptr || !value->truthy())
            continue;
        const RsyncOption& option = *find_long(option_name(key));
        const std::string spelled = "rsync." + std::string(key);
        apply(state, option, option.takes_value ? value_text(*value, spelled) : "", spelled);
    }
    if (const LuaValue* binary = table.field("binary"); binary != nullptr && binary->truthy())
        state.note(fmt::format("rsync.binary {}: not used: fsmirror copies in-process",
                               binary->describe()));

    RsyncTranslation out = std::move(state.out);
    out.preserve.mode = state.perms;
    out.preserve.times = state.times;
    if (state.copy_links) {
        out.preserve.links = false;
    } else {
        out.preserve.links = true;
        if (!state.links)
            out.notes.push_back(
                {true, "rsync without links skips symlinks; fsmirror copies them as symlinks"});
    }
    if (state.owner || state.group) {
        out.preserve.owner = std::nullopt; // when running as root, as rsync -o/-g does
        if (state.owner != state.group)
            out.notes.push_back({false, "fsmirror carries owner and group together: both are "
                                        "preserved (when running as root)"});
    } else {
        out.preserve.owner = false;
    }
    if (!state.perms)
        out.notes.push_back(
            {false, "permissions are not preserved (no perms/archive, or --no-perms): as with "
                    "rsync, new files get the source's mode minus the umask and existing files "
                    "keep theirs"});
    return out;
}

} // namespace fsmirror::config
