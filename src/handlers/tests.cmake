# Unit tests of the built-in handlers' pure logic (no wasm). Included from
# src/runtime/CMakeLists.txt, after theater_runtime (which compiles the handlers) is defined.
theater_add_test(random_handler_test
  SOURCES ${PROJECT_SOURCE_DIR}/src/handlers/random/random_handler_test.cc
  LIBS theater_runtime)
theater_add_test(environment_handler_test
  SOURCES ${PROJECT_SOURCE_DIR}/src/handlers/environment/environment_handler_test.cc
  LIBS theater_runtime)
theater_add_test(builtin_handlers_test
  SOURCES ${PROJECT_SOURCE_DIR}/src/handlers/builtins_test.cc LIBS theater_runtime)
theater_add_test(filesystem_handler_test
  SOURCES ${PROJECT_SOURCE_DIR}/src/handlers/filesystem/filesystem_handler_test.cc
  LIBS theater_runtime GTest::gmock)
theater_add_test(filesystem_runtime_test
  SOURCES ${PROJECT_SOURCE_DIR}/src/handlers/filesystem/filesystem_runtime_test.cc
  LIBS theater_runtime GTest::gmock)
if(THEATER_BUILD_TESTS)
  add_dependencies(filesystem_runtime_test wasm_fs_probe)
endif()
