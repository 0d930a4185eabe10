#include "app/library_versions.hpp"

#include <librsync.h>
#include <libssh2.h>
#include <lua.h>
#include <sqlite3.h>

namespace fsmirror::app {

namespace {

// librsync's string reads "librsync 2.3.2"; keep only the number, as the other libraries give it.
std::string without_prefix(std::string_view text, std::string_view prefix) {
    if (text.starts_with(prefix))
        text.remove_prefix(prefix.size());
    return std::string(text);
}

} // namespace

std::vector<LibraryVersion> library_versions() {
    const char* ssh = libssh2_version(0); // 0: any version; returns this library's version
    return {
        {"librsync", without_prefix(rs_librsync_version, "librsync ")},
        {"libssh2", ssh != nullptr ? ssh : "unknown"},
        {"sqlite", sqlite3_libversion()},
        {"lua", without_prefix(LUA_RELEASE, "Lua ")},
    };
}

} // namespace fsmirror::app
