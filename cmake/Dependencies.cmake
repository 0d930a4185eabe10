# Every dependency comes from a Debian 12 package; .ci/run installs them.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(fmt REQUIRED)            # libfmt-dev
find_package(yaml-cpp REQUIRED)       # libyaml-cpp-dev
if(BUILD_TESTING OR NOT DEFINED BUILD_TESTING)
  find_package(Catch2 2 REQUIRED)     # catch2 (Debian 12 ships Catch2 v2)
endif()
pkg_check_modules(Lua REQUIRED IMPORTED_TARGET lua5.4) # liblua5.4-dev: lsyncd configs
