# What `cmake --install` puts where (GNUInstallDirs), the defaults an installed daemon uses,
# the CMake package and pkg-config file for programs and plugins, man pages, and the Debian
# package (`make package`, CPack). Included from the top CMakeLists.txt before the targets.
include(GNUInstallDirs)
# Three packages (`make package`): orchestra (daemons, CLI, plugins, configuration: the
# default component), liborchestra1 (the shared library) and liborchestra-dev (headers,
# pkg-config file, CMake package).
set(CMAKE_INSTALL_DEFAULT_COMPONENT_NAME daemons)

set(ORC_SYSCONF_DIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/orchestra)
set(ORC_STATE_DIR ${CMAKE_INSTALL_FULL_LOCALSTATEDIR}/lib/orchestra)
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(ORC_STATE_DIR /var/lib/orchestra)
endif()
set(ORC_PLUGIN_INSTALL_DIR ${CMAKE_INSTALL_FULL_LIBDIR}/orchestra/plugins)
set(ORC_DATA_INSTALL_DIR ${CMAKE_INSTALL_FULL_DATADIR}/orchestra)
# The daemons read <sysconfdir>/orchestra/<name>.conf when it exists, and the executor uses
# the installed plugin folder when --plugins is not given: an installed tree runs as is.
add_compile_definitions(ORC_SYSCONF_DIR="${ORC_SYSCONF_DIR}"
                        ORC_PLUGIN_INSTALL_DIR="${ORC_PLUGIN_INSTALL_DIR}")

# Where the config files go: /etc for the prefix /usr, else under the prefix (so that
# `cmake --install --prefix` moves them too).
if(IS_ABSOLUTE "${CMAKE_INSTALL_SYSCONFDIR}" OR CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(ORC_SYSCONF_INSTALL ${ORC_SYSCONF_DIR})
else()
  set(ORC_SYSCONF_INSTALL ${CMAKE_INSTALL_SYSCONFDIR}/orchestra)
endif()

function(orc_install_dist)
  foreach(conf orchestrad orchestra-http orchestra-executor orchestra-notify)
    configure_file(${PROJECT_SOURCE_DIR}/dist/etc/${conf}.conf
                   ${PROJECT_BINARY_DIR}/dist/${conf}.conf @ONLY)
    install(FILES ${PROJECT_BINARY_DIR}/dist/${conf}.conf DESTINATION ${ORC_SYSCONF_INSTALL})
  endforeach()
  foreach(unit orchestrad orchestra-http orchestra-executor orchestra-notify)
    configure_file(${PROJECT_SOURCE_DIR}/dist/systemd/${unit}.service.in
                   ${PROJECT_BINARY_DIR}/dist/${unit}.service @ONLY)
    install(FILES ${PROJECT_BINARY_DIR}/dist/${unit}.service
            DESTINATION lib/systemd/system)
  endforeach()
  # The example workflows, for `orchestra workflow load` on an installed system.
  foreach(app simple_workflow journalism_workflow)
    install(DIRECTORY ${PROJECT_SOURCE_DIR}/plugins/${app}/
            DESTINATION ${CMAKE_INSTALL_DATADIR}/orchestra/workflows/${app}
            FILES_MATCHING PATTERN "*.json" PATTERN "*.js" PATTERN "*.css" PATTERN "*.html")
  endforeach()
  install(FILES ${PROJECT_SOURCE_DIR}/dist/bash-completion/orchestra
          DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
  # Each package's documents: its copyright and changelog.
  set(changelog ${PROJECT_BINARY_DIR}/dist/changelog.gz)
  add_custom_command(OUTPUT ${changelog}
                     COMMAND gzip -9nc ${PROJECT_SOURCE_DIR}/dist/debian/changelog > ${changelog}
                     DEPENDS ${PROJECT_SOURCE_DIR}/dist/debian/changelog)
  add_custom_target(orc_changelog ALL DEPENDS ${changelog})
  install(FILES ${PROJECT_SOURCE_DIR}/dist/debian/liborchestra1.lintian-overrides
          DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides RENAME liborchestra1
          COMPONENT lib)
  foreach(pkg daemons:orchestra lib:liborchestra1 dev:liborchestra-dev)
    string(REPLACE ":" ";" pair ${pkg})
    list(GET pair 0 component)
    list(GET pair 1 name)
    install(FILES ${PROJECT_SOURCE_DIR}/dist/debian/copyright ${changelog}
            DESTINATION ${CMAKE_INSTALL_DOCDIR}/../${name} COMPONENT ${component})
  endforeach()
endfunction()

# orc_man_page(target section description): a man page made from the binary's --help and
# --version by help2man, installed into man<section>.
function(orc_man_page target section description)
  find_program(HELP2MAN help2man)
  if(NOT HELP2MAN)
    message(STATUS "help2man not found: no man page for ${target}")
    return()
  endif()
  get_target_property(name ${target} OUTPUT_NAME)
  if(NOT name)
    set(name ${target})
  endif()
  set(page ${PROJECT_BINARY_DIR}/man/${name}.${section})
  add_custom_command(
    OUTPUT ${page}.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
    COMMAND ${HELP2MAN} --no-info --section=${section} --name=${description}
            --output=${page} $<TARGET_FILE:${target}>
    COMMAND gzip -9nf ${page}
    DEPENDS ${target} VERBATIM)
  add_custom_target(man_${target} ALL DEPENDS ${page}.gz)
  install(FILES ${page}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endfunction()

# The CMake package (find_package(Orchestra)): Orchestra::orchestra, the client library, and
# Orchestra::plugin, the headers a plugin builds against (it links nothing of ours).
function(orc_install_package)
  include(CMakePackageConfigHelpers)
  set(dir ${CMAKE_INSTALL_LIBDIR}/cmake/Orchestra)
  install(EXPORT OrchestraTargets NAMESPACE Orchestra:: DESTINATION ${dir} COMPONENT dev)
  configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/OrchestraConfig.cmake.in
                                ${PROJECT_BINARY_DIR}/OrchestraConfig.cmake
                                INSTALL_DESTINATION ${dir})
  write_basic_package_version_file(${PROJECT_BINARY_DIR}/OrchestraConfigVersion.cmake
                                   COMPATIBILITY SameMinorVersion)
  install(FILES ${PROJECT_BINARY_DIR}/OrchestraConfig.cmake
                ${PROJECT_BINARY_DIR}/OrchestraConfigVersion.cmake DESTINATION ${dir}
          COMPONENT dev)
  # pkg-config: the prefix is found from where the .pc file lies, so the tree can move.
  file(RELATIVE_PATH up ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
  string(REGEX REPLACE "/$" "" up "${up}")
  set(ORC_PC_PREFIX "\${pcfiledir}/${up}")
  file(RELATIVE_PATH ORC_PC_LIBDIR ${CMAKE_INSTALL_PREFIX} ${CMAKE_INSTALL_FULL_LIBDIR})
  file(RELATIVE_PATH ORC_PC_INCLUDEDIR ${CMAKE_INSTALL_PREFIX} ${CMAKE_INSTALL_FULL_INCLUDEDIR})
  configure_file(${PROJECT_SOURCE_DIR}/client/orchestra.pc.in ${PROJECT_BINARY_DIR}/orchestra.pc
                 @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/orchestra.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
          COMPONENT dev)
endfunction()

# The Debian packages: `make package` (a build configured with the prefix /usr).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME orchestra)
set(CPACK_PACKAGE_VENDOR "Orchestra in C")
set(CPACK_PACKAGE_CONTACT "Orchestra maintainers <maintainers@orchestra.invalid>")
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL daemons lib dev)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_SET_DESTDIR ON)
set(CPACK_DEBIAN_DAEMONS_PACKAGE_NAME orchestra)
set(CPACK_DEBIAN_DAEMONS_PACKAGE_SECTION net)
set(CPACK_DEBIAN_DAEMONS_PACKAGE_DEPENDS "adduser")
set(CPACK_COMPONENT_DAEMONS_DESCRIPTION
    "orchestrate teams of experts and machines through workflows\n"
    "Orchestra coordinates human experts and machine steps through versioned\n"
    "workflows: a coordinator (orchestrad, on SQLite), executors for machine\n"
    "steps, an HTTP shim serving the legacy JSON API and the experts' web app,\n"
    "and a command line. The package starts nothing by itself.")
set(CPACK_DEBIAN_DAEMONS_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/dist/debian/postinst ${PROJECT_SOURCE_DIR}/dist/debian/postrm
    ${PROJECT_BINARY_DIR}/dist/conffiles)
set(CPACK_DEBIAN_DAEMONS_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_LIB_PACKAGE_NAME liborchestra1)
set(CPACK_DEBIAN_LIB_PACKAGE_SECTION libs)
# The shared library's shlibs file and ldconfig trigger (dpkg runs ldconfig once per
# transaction; no maintainer script of ours calls it).
configure_file(${PROJECT_SOURCE_DIR}/dist/debian/lib-postinst ${PROJECT_BINARY_DIR}/dist/lib/postinst
               COPYONLY)
configure_file(${PROJECT_SOURCE_DIR}/dist/debian/lib-postrm ${PROJECT_BINARY_DIR}/dist/lib/postrm
               COPYONLY)
set(CPACK_DEBIAN_LIB_PACKAGE_CONTROL_EXTRA ${PROJECT_BINARY_DIR}/dist/shlibs
    ${PROJECT_SOURCE_DIR}/dist/debian/triggers ${PROJECT_BINARY_DIR}/dist/lib/postinst
    ${PROJECT_BINARY_DIR}/dist/lib/postrm)
set(CPACK_DEBIAN_LIB_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_COMPONENT_LIB_DESCRIPTION
    "client library for the Orchestra coordinator\n"
    "liborchestra talks to orchestrad: projects, workers, tasks, the job\n"
    "protocol of machine steps and the event feed.")
set(CPACK_DEBIAN_DEV_PACKAGE_NAME liborchestra-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_DEV_DEPENDS lib)
set(CPACK_COMPONENT_DEV_DESCRIPTION
    "development files of liborchestra and of Orchestra plugins\n"
    "Headers, the pkg-config file and the CMake package (find_package(Orchestra))\n"
    "for programs using liborchestra and for machine-step plugins.")
file(WRITE ${PROJECT_BINARY_DIR}/dist/shlibs
     "liborchestra 1 liborchestra1 (>= ${PROJECT_VERSION})\n")
file(WRITE ${PROJECT_BINARY_DIR}/dist/conffiles
     "${ORC_SYSCONF_DIR}/orchestrad.conf\n${ORC_SYSCONF_DIR}/orchestra-http.conf\n"
     "${ORC_SYSCONF_DIR}/orchestra-executor.conf\n${ORC_SYSCONF_DIR}/orchestra-notify.conf\n")
