# Every dependency comes from a Debian 12 package; .ci/run installs them.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(fmt REQUIRED)            # libfmt-dev
find_package(yaml-cpp REQUIRED)       # libyaml-cpp-dev
find_package(nlohmann_json 3 REQUIRED) # nlohmann-json3-dev (status JSON, alert JSON)
find_package(CURL REQUIRED)           # libcurl4-openssl-dev (SMTP alerts)
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd) # libsystemd-dev (sd_notify)
if(BUILD_TESTING OR NOT DEFINED BUILD_TESTING)
  find_package(Catch2 2 REQUIRED)     # catch2 (Debian 12 ships Catch2 v2)
endif()
