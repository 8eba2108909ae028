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

# The packaged configuration is the commented default with the data under the
# service's state directory. Generated rather than kept as a second copy, so
# the comments and defaults never drift from config/ndrd.yaml.
# The package's prefix: relative destinations land under /usr, absolute ones
# (/etc/ndrd, /lib/systemd/system) stay where they are.
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(ndrd_default_config ${PROJECT_SOURCE_DIR}/config/ndrd.yaml)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${ndrd_default_config})
file(READ ${ndrd_default_config} ndrd_config)
foreach(setting
    "ingest_dir: /var/lib/ndrd/incoming"
    "output_dir: /var/lib/ndrd/dataset"
    "index_dir: /var/lib/ndrd/index"
    "# Reference: ${CPACK_PACKAGING_INSTALL_PREFIX}/${CMAKE_INSTALL_DOCDIR}/configuration.md")
  string(REGEX REPLACE ": .*" ":" key "${setting}")
  # At the start of a line: the header comment mentions some keys too.
  string(REGEX REPLACE "\n${key} [^\n]*" "\n${setting}" replaced "${ndrd_config}")
  if(replaced STREQUAL ndrd_config)
    message(FATAL_ERROR "packaging: no line '${key} ...' in ${ndrd_default_config}; "
      "update cmake/packaging.cmake to match it")
  endif()
  set(ndrd_config "${replaced}")
endforeach()
set(NDRD_PACKAGED_CONFIG ${PROJECT_BINARY_DIR}/packaging/ndrd.yaml)
file(WRITE ${NDRD_PACKAGED_CONFIG} "${ndrd_config}")

install(TARGETS ndrd RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES systemd/ndrd.service systemd/ndrd@.service DESTINATION ${NDRD_SYSTEMD_UNIT_DIR})
install(FILES systemd/ndrd.sysusers DESTINATION ${NDRD_SYSUSERS_DIR} RENAME ndrd.conf)
install(FILES ${NDRD_PACKAGED_CONFIG} DESTINATION /etc/ndrd)
install(FILES README.md docs/configuration.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

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
# ExecReload= runs /bin/kill.
set(CPACK_DEBIAN_PACKAGE_DEPENDS procps)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles
  ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
  ${PROJECT_SOURCE_DIR}/packaging/debian/prerm
  ${PROJECT_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
