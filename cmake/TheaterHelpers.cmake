# Helpers shared by every area's CMakeLists.txt.

# theater_add_test(<name> SOURCES <files...> LIBS <targets...>)
# Builds a GoogleTest executable and registers its tests with CTest.
function(theater_add_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  if(NOT THEATER_BUILD_TESTS)
    return()
  endif()
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    THEATER_TEST_ACTOR_DIR="${CMAKE_BINARY_DIR}/tests/actors"
    THEATER_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
    THEATER_BUILD_DIR="${CMAKE_BINARY_DIR}")
  include(GoogleTest)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60
    PROPERTIES ENVIRONMENT "THEATER_HOME=${CMAKE_BINARY_DIR}/test-home")
endfunction()

# Guest toolchain: clang-14 targeting wasm32-wasi with Debian's wasi-libc.
find_program(THEATER_WASM_CC NAMES clang-14 REQUIRED)
set(THEATER_WASM_CFLAGS --target=wasm32-wasi -O2 -mexec-model=reactor
    -Wall -Wextra -Werror=implicit-function-declaration
    -I${CMAKE_SOURCE_DIR}/sdk/c)

# theater_add_wasm_actor(<name> SOURCES <files...> [OUTPUT <dir>] [FLAGS <extra clang flags...>])
# Compiles a C or C++ guest to <OUTPUT or current binary dir>/<name>.wasm.
function(theater_add_wasm_actor name)
  cmake_parse_arguments(A "" "OUTPUT" "SOURCES;FLAGS" ${ARGN})
  if(NOT A_OUTPUT)
    set(A_OUTPUT ${CMAKE_CURRENT_BINARY_DIR})
  endif()
  set(out ${A_OUTPUT}/${name}.wasm)
  set(srcs "")
  foreach(s ${A_SOURCES})
    get_filename_component(abs ${s} ABSOLUTE)
    list(APPEND srcs ${abs})
  endforeach()
  file(GLOB_RECURSE sdk_headers ${CMAKE_SOURCE_DIR}/sdk/c/*.h)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${A_OUTPUT}
    COMMAND ${THEATER_WASM_CC} ${THEATER_WASM_CFLAGS} ${A_FLAGS} -o ${out} ${srcs}
    DEPENDS ${srcs} ${sdk_headers}
    COMMENT "Compiling wasm actor ${name}"
    VERBATIM)
  add_custom_target(wasm_${name} ALL DEPENDS ${out})
endfunction()

# theater_embed_files(<output.cc> HEADER <include> NAMESPACE <ns> FUNCTION <fn> TYPE <struct>
#                     FILES <files...>)
# Generates <output.cc> defining `std::span<const TYPE> ns::fn()` over the files' contents,
# regenerated whenever one of them changes.
function(theater_embed_files output)
  cmake_parse_arguments(E "" "HEADER;NAMESPACE;FUNCTION;TYPE" "FILES" ${ARGN})
  string(REPLACE ";" "\\;" inputs "${E_FILES}")
  add_custom_command(OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -DOUTPUT=${output} -DINPUTS=${inputs} -DHEADER=${E_HEADER}
            -DNAMESPACE=${E_NAMESPACE} -DFUNCTION=${E_FUNCTION} -DTYPE=${E_TYPE}
            -P ${PROJECT_SOURCE_DIR}/cmake/EmbedFiles.cmake
    DEPENDS ${E_FILES} ${PROJECT_SOURCE_DIR}/cmake/EmbedFiles.cmake
    COMMENT "Embedding ${E_FUNCTION}"
    VERBATIM)
endfunction()
