# install.cmake - what `cmake --install` puts where (included last by CMakeLists.txt).
#
# Two layouts:
#   the C install (make install PREFIX=... DESTDIR=...):
#     bin/aggtrades, bin/cli                 the tool under its two names
#     lib/libaggtrades.so.0 (SONAME), .so.X.Y.Z and the libaggtrades.so link for -laggtrades
#     include/aggtrades/*.h                  the public API
#     lib/pkgconfig/aggtrades.pc             written at install time for the prefix in use
#     share/man/man1/aggtrades.1, cli.1      the manual page
#     share/bash-completion/completions/{aggtrades,cli}, share/zsh/site-functions/_aggtrades
#                                            generated at build time by `aggtrades completion`
#   the Python wheel (scikit-build-core sets SKBUILD; see pyproject.toml):
#     aggtrades/libaggtrades.so              beside the package's modules, loaded by _lib.py
#     aggtrades/bin/aggtrades                the tool, run by the `aggtrades` entry point
#     <data>/share/man/man1/aggtrades.1
include(GNUInstallDirs)

# the hand-written page, with the version of this build in its footer
configure_file(${CMAKE_SOURCE_DIR}/docs/man/aggtrades.1.in ${CMAKE_BINARY_DIR}/man/aggtrades.1 @ONLY)
set(AGT_MAN_PAGES ${CMAKE_BINARY_DIR}/man/aggtrades.1)

if(SKBUILD)
  # A private copy inside the package: no SONAME version, so the wheel holds
  # one file and not three (wheels have no symbolic links).
  install(TARGETS libaggtrades LIBRARY DESTINATION aggtrades)
  install(TARGETS aggtrades RUNTIME DESTINATION aggtrades/bin)
  set_target_properties(aggtrades PROPERTIES INSTALL_RPATH "$ORIGIN/..")
  install(FILES ${AGT_MAN_PAGES} DESTINATION ${SKBUILD_DATA_DIR}/${CMAKE_INSTALL_MANDIR}/man1)
  return()
endif()

# The SONAME carries the major version: libaggtrades.so.0 -> libaggtrades.so.0.1.0.
set_target_properties(libaggtrades PROPERTIES VERSION ${PROJECT_VERSION}
                                              SOVERSION ${PROJECT_VERSION_MAJOR})
install(TARGETS libaggtrades LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/include/aggtrades DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")

foreach(exe aggtrades cli)
  if(TARGET ${exe})
    # finds lib/ next to bin/ wherever the prefix is, when the tool links the library
    set_target_properties(${exe} PROPERTIES INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")
    install(TARGETS ${exe} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
endforeach()

# aggtrades.pc for the prefix of this install (also `cmake --install --prefix P`).
install(CODE "
  set(AGT_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(AGT_PC_LIBDIR \"\\\${prefix}/${CMAKE_INSTALL_LIBDIR}\")
  set(AGT_PC_INCLUDEDIR \"\\\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}\")
  set(PROJECT_VERSION \"${PROJECT_VERSION}\")
  configure_file(\"${CMAKE_SOURCE_DIR}/cmake/aggtrades.pc.in\" \"${CMAKE_BINARY_DIR}/aggtrades.pc\" @ONLY)
")
install(FILES ${CMAKE_BINARY_DIR}/aggtrades.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

install(FILES ${AGT_MAN_PAGES} ${CMAKE_SOURCE_DIR}/docs/man/cli.1
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

# Shell completions, printed by the tool itself so they never drift from it.
set(AGT_COMPLETIONS)
foreach(shell bash zsh)
  set(out ${CMAKE_BINARY_DIR}/completions/aggtrades.${shell})
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/completions
    COMMAND ${CMAKE_COMMAND} -DTOOL=$<TARGET_FILE:aggtrades> -DSHELL_NAME=${shell} -DOUT=${out}
            -P ${CMAKE_SOURCE_DIR}/cmake/completion.cmake
    DEPENDS aggtrades ${CMAKE_SOURCE_DIR}/cmake/completion.cmake
    COMMENT "Generating the ${shell} completion" VERBATIM)
  list(APPEND AGT_COMPLETIONS ${out})
endforeach()
add_custom_target(completions ALL DEPENDS ${AGT_COMPLETIONS})
# bash-completion loads a command's file by its name: one per name
foreach(name aggtrades cli)
  install(FILES ${CMAKE_BINARY_DIR}/completions/aggtrades.bash
          DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME ${name})
endforeach()
install(FILES ${CMAKE_BINARY_DIR}/completions/aggtrades.zsh
        DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/site-functions RENAME _aggtrades)

add_custom_target(uninstall
  COMMAND ${CMAKE_COMMAND} -DMANIFEST=${CMAKE_BINARY_DIR}/install_manifest.txt
          -P ${CMAKE_SOURCE_DIR}/cmake/uninstall.cmake
  COMMENT "Removing what install_manifest.txt lists" VERBATIM)
