# Installation layout and the Debian package (cpack -G DEB, or the `package`
# target). The units start /usr/bin/ndrd with /etc/ndrd/*.yaml, so the
# install prefix defaults to /usr, as for a distribution package, instead of
# CMake's /usr/local.
if(CMAKE_INSTALL_PREFIX_INITIALIZED_TO_DEFAULT)
  set(CMAKE_INSTALL_PREFIX /usr CACHE PATH "Install prefix" FORCE)
endif()
if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  message(STATUS "ndrd: the systemd units expect /usr/bin/ndrd, "
    "not ${CMAKE_INSTALL_PREFIX}/bin/ndrd; override ExecStart= with a drop-in")
endif()
include(GNUInstallDirs)

# systemd's own paths when its pkg-config file is there (package systemd on
# Debian 12), otherwise Debian 12's values. Absolute on purpose: systemd only
# reads units, sysusers and tmpfiles files from its own directories.
pkg_get_variable(NDRD_SYSTEMD_UNIT_DIR systemd systemdsystemunitdir)
if(NOT NDRD_SYSTEMD_UNIT_DIR)
  set(NDRD_SYSTEMD_UNIT_DIR /lib/systemd/system)
endif()
pkg_get_variable(NDRD_SYSUSERS_DIR systemd sysusersdir)
if(NOT NDRD_SYSUSERS_DIR)
  set(NDRD_SYSUSERS_DIR /usr/lib/sysusers.d)
endif()
# No tmpfiles.d file: StateDirectory= and RuntimeDirectory= in the units
# create /var/lib/ndrd and /run/ndrd with the right owner.

# The packaged configuration is the commented default: its relative paths
# resolve against /var/lib/ndrd, the service's state directory, because the
# file is /etc/ndrd/ndrd.yaml. Only its reference line changes, to the
# installed document. Generated rather than kept as a second copy, so the
# comments and defaults never drift from config/ndrd.yaml.
# The package's prefix: relative destinations land under /usr, absolute ones
# (/etc/ndrd, /lib/systemd/system) stay where they are.
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(ndrd_default_config ${PROJECT_SOURCE_DIR}/config/ndrd.yaml)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${ndrd_default_config})
file(READ ${ndrd_default_config} ndrd_config)
set(reference "# Reference: ${CPACK_PACKAGING_INSTALL_PREFIX}/${CMAKE_INSTALL_DOCDIR}/docs/configuration.md")
string(REGEX REPLACE "\n# Reference: [^\n]*" "\n${reference}" replaced "${ndrd_config}")
if(replaced STREQUAL ndrd_config)
  message(FATAL_ERROR "packaging: no line '# Reference: ...' in ${ndrd_default_config}; "
    "update cmake/packaging.cmake to match it")
endif()
set(NDRD_PACKAGED_CONFIG ${PROJECT_BINARY_DIR}/packaging/ndrd.yaml)
file(WRITE ${NDRD_PACKAGED_CONFIG} "${replaced}")

# Man pages, from their scdoc sources (Debian package scdoc), gzipped as
# Debian installs them.
find_program(NDRD_SCDOC scdoc REQUIRED)
set(ndrd_man_pages)
foreach(page ndrd.8 ndrd.yaml.5)
  set(source ${PROJECT_SOURCE_DIR}/docs/man/${page}.scd)
  set(output ${PROJECT_BINARY_DIR}/man/${page})
  add_custom_command(OUTPUT ${output} ${output}.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
    COMMAND sh -c "\"$0\" < \"$1\" > \"$2\"" ${NDRD_SCDOC} ${source} ${output}
    COMMAND gzip -9nkf ${output}
    DEPENDS ${source}
    COMMENT "Building the man page ${page}"
    VERBATIM)
  list(APPEND ndrd_man_pages ${output} ${output}.gz)
  string(REGEX REPLACE ".*\\." "" section ${page})
  install(FILES ${output}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()
add_custom_target(man ALL DEPENDS ${ndrd_man_pages})

install(TARGETS ndrd RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES systemd/ndrd.service systemd/ndrd@.service DESTINATION ${NDRD_SYSTEMD_UNIT_DIR})
install(FILES systemd/ndrd.sysusers DESTINATION ${NDRD_SYSUSERS_DIR} RENAME ndrd.conf)
install(FILES ${NDRD_PACKAGED_CONFIG} DESTINATION /etc/ndrd)
install(FILES README.md CHANGELOG.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
# The tree's layout, so that the documents' links between them hold.
install(DIRECTORY docs DESTINATION ${CMAKE_INSTALL_DOCDIR} PATTERN "man" EXCLUDE)
install(FILES bench/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR}/bench)
install(FILES packaging/debian/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})
# Debian's changelog, compressed under the name Debian policy gives it.
set(ndrd_debian_changelog ${PROJECT_BINARY_DIR}/packaging/changelog.Debian.gz)
add_custom_command(OUTPUT ${ndrd_debian_changelog}
  COMMAND gzip -9nc ${PROJECT_SOURCE_DIR}/packaging/debian/changelog > ${ndrd_debian_changelog}
  DEPENDS ${PROJECT_SOURCE_DIR}/packaging/debian/changelog
  VERBATIM)
add_custom_target(debian_changelog ALL DEPENDS ${ndrd_debian_changelog})
install(FILES ${ndrd_debian_changelog} DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ndrd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
if(NOT CPACK_PACKAGE_CONTACT)
  set(CPACK_PACKAGE_CONTACT "ndrd maintainers <maintainers@ndrd.invalid>")
endif()
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "near-duplicate removal daemon for image datasets")
# One line per line of the control file's extended description.
set(CPACK_PACKAGE_DESCRIPTION [[
ndrd watches an ingest directory, hashes every new image with the gradient
algorithm of Datumaro's NDR transform, and moves it into a working subset or,
when it is a near-duplicate of an image already kept, a duplicated subset.
A RocksDB index keeps the decisions across restarts.
]])
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION graphics)
# Depends: from the libraries the binary links (dpkg-shlibdeps), so it names
# exactly Debian's runtime packages and versions.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The maintainer scripts use deb-systemd-helper and deb-systemd-invoke when
# they are there, as debhelper's do.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS init-system-helpers)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles
  ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
  ${PROJECT_SOURCE_DIR}/packaging/debian/prerm
  ${PROJECT_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
