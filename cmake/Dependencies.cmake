# Every dependency comes from a Debian 12 package; .ci/run installs them.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(fmt REQUIRED)            # libfmt-dev
find_package(yaml-cpp REQUIRED)       # libyaml-cpp-dev
if(BUILD_TESTING OR NOT DEFINED BUILD_TESTING)
  find_package(Catch2 2 REQUIRED)     # catch2 (Debian 12 ships Catch2 v2)
endif()

# The libraries of the coming transports and loaders (SSH, SQLite, lsyncd configs). `fsmirror
# --version` reports their versions; the issues that use them link the same targets.
pkg_check_modules(libssh2 REQUIRED IMPORTED_TARGET libssh2)   # libssh2-1-dev
pkg_check_modules(sqlite3 REQUIRED IMPORTED_TARGET sqlite3)   # libsqlite3-dev
pkg_check_modules(lua REQUIRED IMPORTED_TARGET lua5.4)        # liblua5.4-dev
# librsync-dev ships no pkg-config file.
find_path(LIBRSYNC_INCLUDE_DIR librsync.h REQUIRED)
find_library(LIBRSYNC_LIBRARY rsync REQUIRED)
if(NOT TARGET librsync::librsync)
  add_library(librsync::librsync UNKNOWN IMPORTED)
  set_target_properties(librsync::librsync PROPERTIES
    IMPORTED_LOCATION "${LIBRSYNC_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${LIBRSYNC_INCLUDE_DIR}")
endif()
