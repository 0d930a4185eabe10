# Every dependency comes from a Debian 12 package; .ci/run installs them.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(fmt REQUIRED)            # libfmt-dev
find_package(yaml-cpp REQUIRED)       # libyaml-cpp-dev
find_package(SQLite3 REQUIRED)        # libsqlite3-dev (the snapshot helper and its tests)
find_package(nlohmann_json 3 REQUIRED) # nlohmann-json3-dev (status JSON, alert JSON)
find_package(CURL REQUIRED)           # libcurl4-openssl-dev (SMTP alerts)
if(BUILD_TESTING OR NOT DEFINED BUILD_TESTING)
  find_package(Catch2 2 REQUIRED)     # catch2 (Debian 12 ships Catch2 v2)
endif()
# The SSH transport: libssh2 (libssh2-1-dev), librsync (librsync-dev, no pkg-config file) and
# xxHash (libxxhash-dev) for content hashes.
pkg_check_modules(LIBSSH2 REQUIRED IMPORTED_TARGET libssh2)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
pkg_check_modules(lua REQUIRED IMPORTED_TARGET lua5.4)        # liblua5.4-dev
find_path(LIBRSYNC_INCLUDE_DIR librsync.h REQUIRED)
find_library(LIBRSYNC_LIBRARY rsync REQUIRED)
if(NOT TARGET librsync::librsync)
  add_library(librsync::librsync UNKNOWN IMPORTED)
  set_target_properties(librsync::librsync PROPERTIES
    IMPORTED_LOCATION "${LIBRSYNC_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${LIBRSYNC_INCLUDE_DIR}")
endif()
