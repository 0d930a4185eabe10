#pragma once
// What a sync's rsync={...} table means for fsmirror. lsyncd turns the table into rsync
// arguments (the short-flag cluster first, then _extra verbatim, then the long options), and
// rsync lets a later flag win; this reads the table the same way and reports, per option,
// whether it is honoured, equivalent, ignored (with the reason) or refused.

#include "config/config.hpp"
#include "config/lua_value.hpp"

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace fsmirror::config {

// A refused or malformed option; what() says which and why (without a file position).
class RsyncOptionError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct RsyncOptionNote {
    bool warning = false; // false: for information only
    std::string message;
};

struct RsyncTranslation {
    PreserveOptions preserve;
    bool inplace = false;
    bool fsync_each_file = false; // --fsync
    // The first --delete* flag in _extra, if any: rsync then deletes in every run.
    std::optional<std::string> delete_flag;
    std::vector<std::string> excludes; // --exclude=..., cvs_exclude's list
    std::optional<std::string> exclude_from;
    bool compress = false;
    std::optional<std::string> rsh; // rsync.rsh, --rsh=, -e
    std::vector<RsyncOptionNote> notes;
};

enum class TargetKind { local, remote };

// Translates the merged rsync table of a sync (nullptr: none given; default.rsync's own
// defaults - links, times, protect_args - always apply). Throws RsyncOptionError for an
// unknown key (lsyncd's wording: Parameter "rsync.X" unknown.), a value of the wrong type, or
// an option fsmirror refuses because ignoring it would change what ends up on the target.
RsyncTranslation translate_rsync_options(const LuaValue* rsync_table, TargetKind target);

} // namespace fsmirror::config
