# Install rules and the Debian package (CPack DEB): the binary, man pages, a default config
# (a conffile), logrotate rules and the systemd units. scripts/package.sh builds the .deb.
#
# The default prefix is /usr, not /usr/local: the units and the config name absolute paths that
# are written at configure time, and a system daemon with units in /lib/systemd/system belongs
# under /usr. Pass -DCMAKE_INSTALL_PREFIX=... for anything else; every path below follows it.
if(CMAKE_INSTALL_PREFIX_INITIALIZED_TO_DEFAULT)
  set(CMAKE_INSTALL_PREFIX /usr CACHE PATH "Install prefix" FORCE)
endif()
include(GNUInstallDirs)

set(fsmirror_packaging ${PROJECT_SOURCE_DIR}/packaging)
set(fsmirror_generated ${PROJECT_BINARY_DIR}/packaging)
# Absolute paths (GNUInstallDirs maps sysconfdir to /etc and localstatedir to /var under /usr).
set(FSMIRROR_BINARY ${CMAKE_INSTALL_FULL_BINDIR}/fsmirror)
set(FSMIRROR_CONFIG_DIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/fsmirror)
set(FSMIRROR_LIBEXEC_DIR ${CMAKE_INSTALL_FULL_LIBEXECDIR}/fsmirror)
set(FSMIRROR_LOG_DIR ${CMAKE_INSTALL_FULL_LOCALSTATEDIR}/log/fsmirror)
set(FSMIRROR_STATE_DIR ${CMAKE_INSTALL_FULL_LOCALSTATEDIR}/lib/fsmirror)

# Where the units go: systemd's own answer under /usr (/lib/systemd/system on Debian 12),
# PREFIX/lib/systemd/system otherwise, unless FSMIRROR_SYSTEMD_UNIT_DIR says.
set(FSMIRROR_SYSTEMD_UNIT_DIR "" CACHE PATH "Where the systemd units go (empty: automatic)")
set(systemd_unit_dir ${FSMIRROR_SYSTEMD_UNIT_DIR})
if(NOT systemd_unit_dir AND CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  pkg_get_variable(systemd_unit_dir systemd systemdsystemunitdir)
endif()
if(NOT systemd_unit_dir)
  set(systemd_unit_dir ${CMAKE_INSTALL_PREFIX}/lib/systemd/system)
endif()

# --- binary and helper ---
install(TARGETS fsmirror RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
configure_file(${fsmirror_packaging}/systemd/failure-alert.in ${fsmirror_generated}/failure-alert
               @ONLY FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
               GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
install(PROGRAMS ${fsmirror_generated}/failure-alert DESTINATION ${FSMIRROR_LIBEXEC_DIR})

# --- systemd units ---
# fsmirror.service and fsmirror@.service come from one template, as do the two health checks,
# so the plain and the per-instance units cannot drift apart. The instance units read
# /etc/fsmirror/<instance>.yml and keep their state (status.json, which the health check reads)
# in /var/lib/fsmirror/<instance>: with one state directory, every daemon would overwrite the
# others' status.json. An optional fifth argument names the StateDirectory= (default fsmirror).
function(fsmirror_unit template output config what)
  set(FSMIRROR_UNIT_CONFIG ${config})
  set(FSMIRROR_UNIT_WHAT ${what})
  set(FSMIRROR_UNIT_STATE fsmirror)
  if(ARGC GREATER 4)
    set(FSMIRROR_UNIT_STATE ${ARGV4})
  endif()
  configure_file(${fsmirror_packaging}/systemd/${template} ${fsmirror_generated}/${output} @ONLY)
  install(FILES ${fsmirror_generated}/${output} DESTINATION ${systemd_unit_dir})
endfunction()
fsmirror_unit(fsmirror.service.in fsmirror.service
              ${FSMIRROR_CONFIG_DIR}/fsmirror.yml "${FSMIRROR_CONFIG_DIR}/fsmirror.yml")
fsmirror_unit(fsmirror.service.in fsmirror@.service
              ${FSMIRROR_CONFIG_DIR}/%i.yml "instance %i, ${FSMIRROR_CONFIG_DIR}/%i.yml" fsmirror/%i)
fsmirror_unit(fsmirror-health.service.in fsmirror-health.service
              ${FSMIRROR_CONFIG_DIR}/fsmirror.yml "fsmirror.service")
fsmirror_unit(fsmirror-health.service.in fsmirror-health@.service
              ${FSMIRROR_CONFIG_DIR}/%i.yml "fsmirror@%i.service" fsmirror/%i)
fsmirror_unit(fsmirror-health.timer.in fsmirror-health.timer "" "fsmirror.service")
fsmirror_unit(fsmirror-health.timer.in fsmirror-health@.timer "" "fsmirror@%i.service")
fsmirror_unit(fsmirror-failure@.service.in fsmirror-failure@.service "" "")

# --- configuration, logs, state ---
install(FILES ${fsmirror_packaging}/fsmirror.yml DESTINATION ${FSMIRROR_CONFIG_DIR})
install(FILES ${fsmirror_packaging}/logrotate RENAME fsmirror
        DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/logrotate.d)
install(DIRECTORY DESTINATION ${FSMIRROR_LOG_DIR})
install(DIRECTORY DESTINATION ${FSMIRROR_STATE_DIR})

# --- documentation: man pages gzipped as Debian policy wants, examples, the config reference ---
foreach(page fsmirror.1 fsmirror.yml.5)
  string(REGEX REPLACE ".*\\.([0-9])$" "\\1" section ${page})
  add_custom_command(OUTPUT ${fsmirror_generated}/${page}.gz
                     COMMAND gzip -9nc ${fsmirror_packaging}/man/${page} > ${fsmirror_generated}/${page}.gz
                     DEPENDS ${fsmirror_packaging}/man/${page} VERBATIM)
  list(APPEND fsmirror_man_pages ${fsmirror_generated}/${page}.gz)
  install(FILES ${fsmirror_generated}/${page}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()
add_custom_target(fsmirror_man_pages ALL DEPENDS ${fsmirror_man_pages})
install(FILES README.md docs/configuration.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${fsmirror_packaging}/debian/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})
# Debian wants a changelog in every package's doc directory; it names the maintainer.
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "fsmirror maintainers <maintainers@fsmirror.invalid>"
    CACHE STRING "Maintainer field of the Debian package")
configure_file(${fsmirror_packaging}/debian/changelog.in ${fsmirror_generated}/changelog @ONLY)
add_custom_command(OUTPUT ${fsmirror_generated}/changelog.gz
                   COMMAND gzip -9nc ${fsmirror_generated}/changelog > ${fsmirror_generated}/changelog.gz
                   DEPENDS ${fsmirror_generated}/changelog VERBATIM)
add_custom_target(fsmirror_changelog ALL DEPENDS ${fsmirror_generated}/changelog.gz)
install(FILES ${fsmirror_generated}/changelog.gz DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY examples/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# --- the Debian package ---
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME fsmirror)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "real-time directory mirroring daemon (replaces lsyncd)")
set(CPACK_PACKAGE_DESCRIPTION
    "fsmirror keeps a target directory an exact copy of a source directory: it\n"
    "watches the source with inotify, batches changes for a short delay and\n"
    "mirrors them with in-process transfers. Renames stay renames, a changed file\n"
    "is never skipped, and the target never shows a half-written file. It runs as\n"
    "a hardened systemd service with a health check and mail alerts.")
string(JOIN "" CPACK_PACKAGE_DESCRIPTION ${CPACK_PACKAGE_DESCRIPTION})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # fsmirror_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Runtime libraries are found by dpkg-shlibdeps from what the binary links, so Depends stays
# right as the SSH, SQLite and Lua code lands.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Loaded with dlopen when a mail is sent (monitor/curl_library.hpp), so dpkg-shlibdeps cannot
# see it; CPack appends what it finds to this.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libcurl4 (>= 7.74)")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "logrotate")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
configure_file(${fsmirror_packaging}/debian/conffiles.in ${fsmirror_generated}/debian/conffiles
               @ONLY)
foreach(script postinst prerm postrm)
  configure_file(${fsmirror_packaging}/debian/${script}.in ${fsmirror_generated}/debian/${script}
                 @ONLY FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
                 GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
  list(APPEND CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${fsmirror_generated}/debian/${script})
endforeach()
list(APPEND CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${fsmirror_generated}/debian/conffiles)
set(CPACK_STRIP_FILES ON)
include(CPack)
