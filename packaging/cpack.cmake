# SPDX-License-Identifier: MIT
install(DIRECTORY ${PROJECT_SOURCE_DIR}/resources/presets DESTINATION ${CMAKE_INSTALL_DATADIR}/fcl-workbench)
set(CPACK_PACKAGE_NAME fcl-workbench)
set(CPACK_PACKAGE_CONTACT "FCL Workbench developers")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Federated continual instruction tuning workbench")
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "dataset-fashion-mnist, libqt6sql6-sqlite, libopenblas0-pthread")
include(CPack)
