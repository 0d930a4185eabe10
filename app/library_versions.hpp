#pragma once
// The versions of the libraries fsmirror is built on, for `fsmirror --version` and bug reports.

#include <string>
#include <string_view>
#include <vector>

namespace fsmirror::app {

struct LibraryVersion {
    std::string_view name; // "librsync", "libssh2", ...
    std::string version;   // as the library reports it, e.g. "1.10.0"
};

// Returns one entry per library, in a fixed order. librsync, libssh2 and SQLite report the
// version of the shared library loaded at run time; Lua reports the version of the headers
// fsmirror was compiled against (liblua5.4 has no version string to ask at run time without a
// Lua state). Never fails.
std::vector<LibraryVersion> library_versions();

} // namespace fsmirror::app
