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
theater_add_test(process_supervisor_test
  SOURCES ${PROJECT_SOURCE_DIR}/src/handlers/process/process_supervisor_test.cc
  LIBS theater_runtime GTest::gmock)
theater_add_test(process_runtime_test
  SOURCES ${PROJECT_SOURCE_DIR}/src/handlers/process/process_runtime_test.cc
  LIBS theater_runtime GTest::gmock)
if(THEATER_BUILD_TESTS)
  add_dependencies(process_runtime_test wasm_proc_probe)
endif()
theater_add_test(http_client_test
  SOURCES ${PROJECT_SOURCE_DIR}/src/handlers/http-client/http_client_test.cc
  LIBS theater_runtime GTest::gmock OpenSSL::SSL)
theater_add_test(http_client_runtime_test
  SOURCES ${PROJECT_SOURCE_DIR}/src/handlers/http-client/http_client_runtime_test.cc
  LIBS theater_runtime GTest::gmock OpenSSL::SSL)
if(THEATER_BUILD_TESTS)
  add_dependencies(http_client_runtime_test wasm_http_probe)
endif()
theater_add_test(http_framework_route_test
  SOURCES ${PROJECT_SOURCE_DIR}/src/handlers/http-framework/route_table_test.cc
  LIBS theater_runtime GTest::gmock)
theater_add_test(http_framework_runtime_test
  SOURCES ${PROJECT_SOURCE_DIR}/src/handlers/http-framework/http_framework_runtime_test.cc
  LIBS theater_runtime GTest::gmock OpenSSL::SSL OpenSSL::Crypto)
if(THEATER_BUILD_TESTS)
  add_dependencies(http_framework_runtime_test wasm_http_server_probe)
endif()
theater_add_test(process_confinement_test
  SOURCES ${PROJECT_SOURCE_DIR}/src/handlers/process/process_confinement_test.cc
  LIBS theater_runtime GTest::gmock)
