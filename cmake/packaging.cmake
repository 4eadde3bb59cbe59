# Installation layout and the Debian package: `cpack -G DEB` in the build directory makes
# lanspread_<version>_<arch>.deb with the program, its systemd user unit and the docs.
# Dependencies come from dpkg-shlibdeps (the libraries the binary links).
include(GNUInstallDirs)

# `install` and `cpack` need only the program, not every test and benchmark.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY TRUE)

install(TARGETS lanspread RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# systemd looks for user units in <prefix>/lib/systemd/user (not multiarch lib dirs).
install(FILES ${PROJECT_SOURCE_DIR}/packaging/lanspread.service DESTINATION lib/systemd/user)
file(GLOB LANSPREAD_DOCS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${LANSPREAD_DOCS}
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/lanspread)

set(LANSPREAD_DEB_MAINTAINER "lanspread maintainers <maintainers@lanspread.invalid>"
    CACHE STRING "Maintainer field of the Debian package")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME lanspread)
set(CPACK_PACKAGE_VENDOR lanspread)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT ${LANSPREAD_DEB_MAINTAINER})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "peer-to-peer game library distributor for LAN parties")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION games)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# `lanspread open` starts a browser with xdg-open when it is there.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "xdg-utils")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
# The summary above is the first line; this is the long description under it.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "Every machine runs one peer: peers find each other with mDNS, announce which
games of a shared catalog they hold, download a game's files in verified chunks
from every peer that has its latest version over QUIC, and install it in a
crash-safe transaction. `lanspread serve` is the daemon (a systemd user unit is
included); the other verbs and a local web UI drive it.")
include(CPack)
