# theater_generate_bindings(<name> WIT <file-or-dir> [WORLD <world>] LANG <c|cpp> OUT <dir>
#                 [DEPENDS <extra...>])
# Runs the freshly built `theater bindgen` at build time. Sets <name>_OUTPUTS in the caller's
# scope to the generated files (<world>.h/.c or <world>.hpp/.cpp, the world name in snake case),
# for use in DEPENDS of whatever compiles them. A .wit file is a dependency by itself; for a
# directory, list its files (or a stamp) in DEPENDS.
function(theater_generate_bindings name)
  cmake_parse_arguments(B "" "WIT;WORLD;LANG;OUT" "DEPENDS" ${ARGN})
  string(REPLACE "-" "_" base "${B_WORLD}")
  if(B_LANG STREQUAL "c")
    set(outputs ${B_OUT}/${base}.h ${B_OUT}/${base}.c)
  elseif(B_LANG STREQUAL "rust")
    set(outputs ${B_OUT}/${base}.rs)
  else()
    set(outputs ${B_OUT}/${base}.hpp ${B_OUT}/${base}.cpp)
  endif()
  set(world_args "")
  if(B_WORLD)
    set(world_args --world ${B_WORLD})
  endif()
  # A directory (possibly generated during the build) is tracked through DEPENDS instead.
  set(wit_deps "")
  if(B_WIT MATCHES "\\.wit$")
    set(wit_deps ${B_WIT})
  endif()
  add_custom_command(OUTPUT ${outputs}
    COMMAND $<TARGET_FILE:theater> bindgen ${B_WIT} ${world_args} --lang ${B_LANG} --out ${B_OUT}
    DEPENDS theater ${wit_deps} ${B_DEPENDS}
    COMMENT "theater bindgen ${B_WORLD} (${B_LANG})"
    VERBATIM)
  set(${name}_OUTPUTS ${outputs} PARENT_SCOPE)
endfunction()
