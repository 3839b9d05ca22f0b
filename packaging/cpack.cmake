# SPDX-License-Identifier: MIT
install(DIRECTORY ${PROJECT_SOURCE_DIR}/resources/presets DESTINATION ${CMAKE_INSTALL_DATADIR}/fcl-workbench)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/resources/base DESTINATION ${CMAKE_INSTALL_DATADIR}/fcl-workbench)
# A desktop application: menu entry (opens .json experiments), icon, AppStream metainfo, man
# pages generated from --help, bash completion for fcl.
include(GNUInstallDirs)
set(fcl_desktop ${PROJECT_SOURCE_DIR}/packaging/desktop)
install(FILES ${fcl_desktop}/org.fclworkbench.FclWorkbench.desktop
    DESTINATION ${CMAKE_INSTALL_DATADIR}/applications)
install(FILES ${fcl_desktop}/org.fclworkbench.FclWorkbench.metainfo.xml
    DESTINATION ${CMAKE_INSTALL_DATADIR}/metainfo)
install(FILES ${fcl_desktop}/org.fclworkbench.FclWorkbench.svg
    DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps)
install(FILES ${fcl_desktop}/fcl.bash-completion
    DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME fcl)
foreach(program fcl fcl-workbench)
    if(program STREQUAL "fcl")
        set(summary "run, inspect and report federated continual learning experiments")
    else()
        set(summary "design, run and compare federated continual learning experiments")
    endif()
    add_custom_command(OUTPUT ${PROJECT_BINARY_DIR}/man/${program}.1
        COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
        COMMAND ${CMAKE_COMMAND} -DPROGRAM=$<TARGET_FILE:${program}> -DNAME=${program}
            "-DSUMMARY=${summary}" -DVERSION=${PROJECT_VERSION}
            -DOUT=${PROJECT_BINARY_DIR}/man/${program}.1 -P ${PROJECT_SOURCE_DIR}/packaging/manpage.cmake
        DEPENDS ${program} ${PROJECT_SOURCE_DIR}/packaging/manpage.cmake
        COMMENT "Writing the man page of ${program}")
    list(APPEND fcl_man_pages ${PROJECT_BINARY_DIR}/man/${program}.1)
endforeach()
add_custom_target(man_pages ALL DEPENDS ${fcl_man_pages})
install(FILES ${fcl_man_pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

set(CPACK_PACKAGE_NAME fcl-workbench)
set(CPACK_PACKAGE_CONTACT "FCL Workbench developers")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Federated continual instruction tuning workbench")
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "dataset-fashion-mnist, libqt6sql6-sqlite, libopenblas0-pthread")
include(CPack)
