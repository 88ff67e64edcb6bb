# Fails when a handler reaches past the public host API: no file under src/handlers/ may include
# a header of the runtime's internals (src/runtime/), and no handler may include another
# handler's folder (shared code belongs in src/handlers/support or below the runtime), except
# another handler's permission (`*_permissions.h`), which governs a call of its own (runtime-ext's
# get-env checks the environment permission).
# Run by CTest as handler_layering_test:  cmake -DROOT=<source dir> -P check_layering.cmake
file(GLOB_RECURSE sources "${ROOT}/src/handlers/*.cc" "${ROOT}/src/handlers/*.h")
set(violations "")
foreach(source ${sources})
  file(RELATIVE_PATH rel "${ROOT}/src/handlers" "${source}")
  string(REGEX MATCH "^[^/]+" own_folder "${rel}")
  file(STRINGS "${source}" includes REGEX "^#include \"")
  foreach(line ${includes})
    string(REGEX REPLACE "^#include \"([^\"]+)\".*" "\\1" header "${line}")
    if(header MATCHES "^runtime/")
      list(APPEND violations "src/handlers/${rel}: includes ${header} (runtime internals)")
    elseif(header MATCHES "^handlers/([^/]+)/")
      set(folder "${CMAKE_MATCH_1}")
      if(NOT folder STREQUAL own_folder AND NOT folder STREQUAL "support"
         AND NOT own_folder STREQUAL "builtins" AND NOT header MATCHES "_permissions\\.h$")
        list(APPEND violations "src/handlers/${rel}: includes ${header} (another handler)")
      endif()
    endif()
  endforeach()
endforeach()
if(violations)
  list(JOIN violations "\n  " text)
  message(FATAL_ERROR "handlers reach past the host API:\n  ${text}")
endif()
list(LENGTH sources count)
message(STATUS "handler layering: ${count} files, no handler includes runtime internals or another handler")
