# Helpers shared by every area's CMakeLists.txt.

# theater_hot_under_sanitizers(<source files...>)
# The sanitizer build (THEATER_SANITIZE) compiles at -O0, which keeps that build short. A few
# files hold the loops the tests run over megabytes (SHA-256, base64, UTF-8 checks, the chain's
# payload codec, the management protocol's JSON); at -O0 every iterator step and intrinsic in
# them is a call, and they made the slowest sanitizer tests 2-3 times slower than they need be.
# Under THEATER_SANITIZE these files compile at -O1 (the level AddressSanitizer's documentation
# recommends), still fully instrumented: no check is lost. Outside unity batches, whose other
# files stay at -O0. Call it in the directory whose CMakeLists.txt adds the files to a target.
function(theater_hot_under_sanitizers)
  if(THEATER_SANITIZE)
    set_source_files_properties(${ARGN} PROPERTIES COMPILE_OPTIONS -O1
                                SKIP_UNITY_BUILD_INCLUSION ON)
  endif()
endfunction()

# theater_test_compile_options(<target> <optimized> <hot>): the compile options of a test's own
# files (theater_add_test), which the precompiled headers of theater_test_pch must share.
function(theater_test_compile_options target optimized hot)
  # The code under test is in the libraries, compiled as shipped; the test bodies gain nothing
  # from the optimizer, and without it they compile in half the time.
  if(NOT optimized)
    target_compile_options(${target} PRIVATE $<$<CONFIG:RelWithDebInfo,Release,MinSizeRel>:-O0>)
  endif()
  if(hot AND THEATER_SANITIZE)
    target_compile_options(${target} PRIVATE -O1)
  endif()
  # The fuzzers' coverage (THEATER_BUILD_FUZZ) is for the libraries the fuzz targets link; a
  # test's own code does not need it, and it is a quarter of clang's time on a test file with the
  # sanitizers (runtime_test.cc: 9.0 s with it, 6.8 s without).
  if(THEATER_BUILD_FUZZ)
    target_compile_options(${target} PRIVATE -fno-sanitize=fuzzer-no-link)
  endif()
endfunction()

# theater_test_pch(): the target theater_test_pch, once per build: GoogleTest, gMock,
# nlohmann/json and the standard headers the test files include most, precompiled with the test
# files' options, which every test reuses (target_precompile_headers REUSE_FROM). Reading them
# took about 2 of a test file's 3 to 10 CPU-s under clang with the sanitizers; with them
# precompiled the sanitizer build's test files compile in 0.70x the CPU time (docs/benchmarks.md,
# "Where a cold run's CPU goes"). GCC 12 gets GoogleTest and gMock alone: it loads a precompiled
# header of all of them about as slowly as it parses them (0.98x in the release build), one of
# these two in half a second less than it parses them. Only system headers: the project's own
# change too often to be worth it. A test whose options differ (OPTIMIZED; HOT in the sanitizer
# build) reads them as text: clang refuses a precompiled header built at another -O level or with
# other sanitizers (GCC would ignore it). The precompiled header is included first in every test
# file that uses it; a test must not depend on what these headers define being absent.
function(theater_test_pch)
  if(TARGET theater_test_pch)
    return()
  endif()
  set(source ${CMAKE_BINARY_DIR}/theater_test_pch.cc)
  if(NOT EXISTS ${source})
    file(WRITE ${source} "// The holder of the tests' precompiled headers (theater_test_pch).\n")
  endif()
  add_library(theater_test_pch OBJECT ${source})
  target_link_libraries(theater_test_pch PRIVATE GTest::gtest GTest::gmock
    nlohmann_json::nlohmann_json)
  set_target_properties(theater_test_pch PROPERTIES UNITY_BUILD OFF)
  theater_test_compile_options(theater_test_pch OFF OFF)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    # No timestamps of its inputs in it: the same headers make the same bytes, which a compiler
    # cache (scripts/test.sh) needs to answer the files that use it.
    target_compile_options(theater_test_pch PRIVATE -Xclang -fno-pch-timestamp)
    target_precompile_headers(theater_test_pch PRIVATE
      <gtest/gtest.h> <gmock/gmock.h> <nlohmann/json.hpp>
      <algorithm> <atomic> <chrono> <filesystem> <fstream> <future> <map> <memory> <mutex>
      <random> <set> <sstream> <string> <thread> <vector>)
  else()
    target_precompile_headers(theater_test_pch PRIVATE <gtest/gtest.h> <gmock/gmock.h>)
  endif()
endfunction()

# theater_add_test(<name> [OPTIMIZED] [HOT] SOURCES <files...> LIBS <targets...>)
# Builds a GoogleTest executable and registers its tests with CTest. OPTIMIZED keeps the build
# type's optimization for the test bodies too, for tests whose checks (speed, stack depth) cover
# library code that their own sources instantiate. HOT compiles the test bodies at -O1 in the
# sanitizer build (see theater_hot_under_sanitizers), for tests whose own code builds and parses
# megabytes of JSON: the template code they instantiate (nlohmann/json, the standard containers)
# is also what the libraries' calls into it bind to at run time.
function(theater_add_test name)
  cmake_parse_arguments(T "OPTIMIZED;HOT" "COST" "SOURCES;LIBS" ${ARGN})
  if(NOT THEATER_BUILD_TESTS)
    return()
  endif()
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main)
  # A test's files are compiled one at a time even in a unity build (THEATER_UNITY_BUILD): they
  # define fixtures and helpers of the same names in anonymous namespaces, and a test is one or
  # two files, which a unity build would not speed up.
  set_target_properties(${name} PROPERTIES UNITY_BUILD OFF)
  theater_test_compile_options(${name} ${T_OPTIMIZED} ${T_HOT})
  # The system headers every test file reads, compiled once per build (theater_test_pch, above),
  # for the test files compiled with the common options; the others read them as text.
  if(NOT T_OPTIMIZED AND NOT (T_HOT AND THEATER_SANITIZE))
    theater_test_pch()
    target_precompile_headers(${name} REUSE_FROM theater_test_pch)
  endif()
  target_compile_definitions(${name} PRIVATE
    THEATER_TEST_ACTOR_DIR="${CMAKE_BINARY_DIR}/tests/actors"
    THEATER_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
    THEATER_BUILD_DIR="${CMAKE_BINARY_DIR}")
  include(GoogleTest)
  set(properties ENVIRONMENT "THEATER_HOME=${CMAKE_BINARY_DIR}/test-home")
  if(T_COST)
    # ctest starts the costliest tests first, so that long ones overlap with the many short ones
    # instead of running last.
    list(APPEND properties COST ${T_COST})
  endif()
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES ${properties})
endfunction()

# Guest toolchain: clang-14 targeting wasm32-wasi with Debian's wasi-libc.
find_program(THEATER_WASM_CC NAMES clang-14 REQUIRED)
set(THEATER_WASM_CFLAGS --target=wasm32-wasi -O2 -mexec-model=reactor
    -Wall -Wextra -Werror=implicit-function-declaration
    -I${CMAKE_SOURCE_DIR}/sdk/c)

# theater_add_wasm_actor(<name> SOURCES <files...> [OUTPUT <dir>] [FLAGS <extra clang flags...>])
# Compiles a C or C++ guest to <OUTPUT or current binary dir>/<name>.wasm.
function(theater_add_wasm_actor name)
  cmake_parse_arguments(A "" "OUTPUT" "SOURCES;FLAGS;DEPENDS" ${ARGN})
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
    DEPENDS ${srcs} ${sdk_headers} ${A_DEPENDS}
    COMMENT "Compiling wasm actor ${name}"
    VERBATIM)
  add_custom_target(wasm_${name} ALL DEPENDS ${out})
endfunction()

# theater_embed_files(<output.cc> HEADER <include> NAMESPACE <ns> FUNCTION <fn> FILES <files...>)
# Generates <output.cc> defining `std::span<const EmbeddedFile> ns::fn()` (common/embedded_file.h)
# over the files' contents, regenerated whenever one of them changes.
function(theater_embed_files output)
  cmake_parse_arguments(E "" "HEADER;NAMESPACE;FUNCTION" "FILES" ${ARGN})
  string(REPLACE ";" "\\;" inputs "${E_FILES}")
  add_custom_command(OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -DOUTPUT=${output} -DINPUTS=${inputs} -DHEADER=${E_HEADER}
            -DNAMESPACE=${E_NAMESPACE} -DFUNCTION=${E_FUNCTION}
            -P ${PROJECT_SOURCE_DIR}/cmake/EmbedFiles.cmake
    DEPENDS ${E_FILES} ${PROJECT_SOURCE_DIR}/cmake/EmbedFiles.cmake
    COMMENT "Embedding ${E_FUNCTION}"
    VERBATIM)
endfunction()

# A static library of generated embedded-files sources, and nothing else. CMake makes a target's
# custom commands wait for everything the target links, and the objects of every dependent wait
# for those commands: embedded in theater_cli, the templates could not be generated (and the CLI
# not compiled) until every library of the runtime was built, which left a core idle for most of
# a minute of the first build. A library without dependencies generates them at once.
function(theater_embedded_library name)
  cmake_parse_arguments(L "" "" "SOURCES" ${ARGN})
  add_library(${name} STATIC ${L_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
  # Each source names its arrays kFile0, kFile1, ...: never combined in a unity build. Position
  # independent: the sanitizer build links it into shared libraries.
  set_target_properties(${name} PROPERTIES UNITY_BUILD OFF POSITION_INDEPENDENT_CODE ON)
endfunction()

# Component tools: Node.js and the pinned jco in tools/jco (scripts/install-deps.sh installs
# both). Components are built from core modules the way standard toolchains build them.
# They are needed only by a build that makes components (THEATER_BUILD_EXAMPLES or the tests).
find_program(THEATER_NODE NAMES node nodejs)
set(THEATER_COMPONENTIZE ${PROJECT_SOURCE_DIR}/tools/jco/componentize.mjs)
function(theater_require_component_tools)
  if(NOT THEATER_NODE OR NOT EXISTS ${PROJECT_SOURCE_DIR}/tools/jco/node_modules/@bytecodealliance/jco)
    message(FATAL_ERROR "the component tools are missing: run scripts/install-deps.sh "
                        "(it installs Node.js and runs `npm ci` in tools/jco)")
  endif()
endfunction()

# theater_add_component(<name> CORE <core.wasm> CORE_TARGET <target> WIT <dir> WORLD <world>
#                       [ADAPTER reactor|command] [OUTPUT <dir>])
# Makes <OUTPUT or current binary dir>/<name>.component.wasm from a core module that follows the
# component model's naming conventions (`wasm-tools component embed` + `component new`, through
# jco), with the WASI preview-1 adapter when ADAPTER is given.
function(theater_add_component name)
  theater_require_component_tools()
  cmake_parse_arguments(C "" "CORE;CORE_TARGET;WIT;WORLD;ADAPTER;OUTPUT" "" ${ARGN})
  if(NOT C_OUTPUT)
    set(C_OUTPUT ${CMAKE_CURRENT_BINARY_DIR})
  endif()
  set(out ${C_OUTPUT}/${name}.component.wasm)
  set(adapter_args "")
  if(C_ADAPTER)
    set(adapter_args --adapter ${C_ADAPTER})
  endif()
  file(GLOB wit_files ${C_WIT}/*.wit)
  add_custom_command(OUTPUT ${out}
    COMMAND ${THEATER_NODE} ${THEATER_COMPONENTIZE} --core ${C_CORE} --wit ${C_WIT}
            --world ${C_WORLD} --out ${out} ${adapter_args}
    DEPENDS ${C_CORE} ${C_CORE_TARGET} ${wit_files} ${THEATER_COMPONENTIZE}
    COMMENT "Making component ${name}"
    VERBATIM)
  add_custom_target(component_${name} ALL DEPENDS ${out})
endfunction()

# theater_add_wat_component(<output.wasm> <input.wat>): assembles component (or core module)
# text with the component tools' parser; the output is a dependency of the target
# `wat_<name>` (ALL).
function(theater_add_wat_component output input)
  theater_require_component_tools()
  get_filename_component(name ${output} NAME_WE)
  add_custom_command(OUTPUT ${output}
    COMMAND ${THEATER_NODE} ${PROJECT_SOURCE_DIR}/tools/jco/parse.mjs ${input} ${output}
    DEPENDS ${input} ${PROJECT_SOURCE_DIR}/tools/jco/parse.mjs
    COMMENT "Assembling component ${name}"
    VERBATIM)
  add_custom_target(wat_${name} ALL DEPENDS ${output})
endfunction()

# theater_add_handler(<name> SOURCES <files...> [LIBS <targets...>])
# One handler as a unit (src/handlers/<name>): the library theater_handler_<name>, built on the
# runtime's public host API (include/theater/host_api.h, handler.h). LIBS are its own private
# dependencies.
function(theater_add_handler name)
  cmake_parse_arguments(H "" "" "SOURCES;LIBS" ${ARGN})
  add_library(theater_handler_${name} ${H_SOURCES})
  target_link_libraries(theater_handler_${name} PUBLIC theater_runtime theater_handler_support
    PRIVATE ${H_LIBS})
endfunction()

# Links the project's allocator (THEATER_MALLOC, CMakeLists.txt) into an executable. Kept as a
# dependency even though nothing calls it by name: its malloc replaces glibc's by coming first.
function(theater_link_malloc target)
  if(THEATER_MALLOC_LIBRARY)
    target_link_libraries(${target} PRIVATE
      "-Wl,--push-state,--no-as-needed" ${THEATER_MALLOC_LIBRARY} "-Wl,--pop-state")
  endif()
endfunction()

# theater_add_test_needs(<name>)
# Adds the target <name>: what the tests and the fuzz targets run or load, and nothing else.
# That is every executable of the build (the test executables, the fuzz targets, `theater`,
# which tests start in child processes and CTest runs, the helpers tests spawn) and every custom
# target built by default (the guest modules and components, their bindings, the embedded files),
# which tests load by path at run time; the libraries come in as what those link. Collected from
# the targets themselves when the whole project is configured, so a new test or guest module is in
# it without a word here. What it leaves out is what nothing run needs: libraries no executable
# links and object libraries of their own (the header check, src/CMakeLists.txt).
# scripts/sanitizer-build.sh builds this target (a test's files and the header check are still
# compiled by the release build).
function(theater_add_test_needs name)
  set(pending ${PROJECT_SOURCE_DIR})
  set(needs "")
  while(pending)
    list(POP_FRONT pending dir)
    get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
    list(APPEND pending ${subdirs})
    get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
    foreach(target ${targets})
      get_target_property(type ${target} TYPE)
      get_target_property(excluded ${target} EXCLUDE_FROM_ALL)
      if((type STREQUAL "EXECUTABLE" OR type STREQUAL "UTILITY") AND NOT excluded)
        list(APPEND needs ${target})
      endif()
    endforeach()
  endwhile()
  add_custom_target(${name})
  add_dependencies(${name} ${needs})
endfunction()
