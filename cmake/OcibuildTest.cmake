# ocibuild_test(NAME
#   SOURCES a_test.cc ...
#   LIBS lib ...
#   [LABELS unit|integration ...]
#   [UNPRIV]      also run the whole binary as an unprivileged user (scripts/as-user.sh)
#   [CONTAINER]   also run it inside docker run --user 1000 --cap-drop=ALL (scripts/in-container.sh)
#   [TIMEOUT sec]
#   [LOCK name]   ctest RESOURCE_LOCK for every test of the binary (tests that share host state)
#   [COST n])     ctest COST: long tests start first, so a fresh tree's run (no timing data yet)
#                 does not end with one long test running alone
# Test binaries find the tree through environment variables, never through the working directory:
#   OCIBUILD_SOURCE_DIR, OCIBUILD_TESTDATA, OCIBUILD_CONFORMANCE, OCIBUILD_BINARY (the ocibuild exe).
add_library(ocibuild_test_main STATIC ${CMAKE_CURRENT_LIST_DIR}/../tests/test_main.cc)
target_link_libraries(ocibuild_test_main PUBLIC GTest::gtest GTest::gmock)
target_compile_definitions(ocibuild_test_main PRIVATE
  OCIBUILD_DEFAULT_SOURCE_DIR="${OCIBUILD_SOURCE_DIR}"
  OCIBUILD_DEFAULT_CONFORMANCE="${OCIBUILD_CONFORMANCE_DIR}"
  OCIBUILD_DEFAULT_BUILD_DIR="${CMAKE_BINARY_DIR}"
  OCIBUILD_DEFAULT_BINARY="$<TARGET_FILE:ocibuild>")

function(ocibuild_test name)
  cmake_parse_arguments(T "UNPRIV;CONTAINER" "TIMEOUT;LOCK;COST" "SOURCES;LIBS;LABELS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 600)
  endif()
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  # The sanitizer build exists for the unit tests; integration tests run in the main build.
  if(OCIBUILD_SANITIZE AND NOT "unit" IN_LIST T_LABELS)
    return()
  endif()
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} ocibuild_test_main)
  set(env
      "OCIBUILD_SOURCE_DIR=${OCIBUILD_SOURCE_DIR}"
      "OCIBUILD_TESTDATA=${OCIBUILD_SOURCE_DIR}/testdata"
      "OCIBUILD_CONFORMANCE=${OCIBUILD_CONFORMANCE_DIR}"
      "OCIBUILD_BUILD_DIR=${CMAKE_BINARY_DIR}"
      "OCIBUILD_BINARY=$<TARGET_FILE:ocibuild>")
  # Discovered tests get the OCIBUILD_* paths from tests/test_main.cc: gtest discovery splits
  # list-valued properties, so neither ENVIRONMENT nor several LABELS survive it.
  list(GET T_LABELS 0 first_label)
  set(lock_props)
  if(T_LOCK)
    set(lock_props RESOURCE_LOCK ${T_LOCK})
  endif()
  if(T_COST)
    list(APPEND lock_props COST ${T_COST})
  endif()
  gtest_discover_tests(${name}
    DISCOVERY_TIMEOUT 60
    PROPERTIES LABELS ${first_label} TIMEOUT ${T_TIMEOUT} SKIP_RETURN_CODE 77 ${lock_props})
  if(T_UNPRIV)
    add_test(NAME ${name}.as-unprivileged-user
             COMMAND ${OCIBUILD_SOURCE_DIR}/scripts/as-user.sh $<TARGET_FILE:${name}>)
    set_tests_properties(${name}.as-unprivileged-user PROPERTIES
      LABELS "unpriv;${T_LABELS}" TIMEOUT ${T_TIMEOUT} ENVIRONMENT "${env}" SKIP_RETURN_CODE 77
      ${lock_props})
  endif()
  if(T_CONTAINER)
    add_test(NAME ${name}.in-container
             COMMAND ${OCIBUILD_SOURCE_DIR}/scripts/in-container.sh $<TARGET_FILE:${name}>)
    set_tests_properties(${name}.in-container PROPERTIES
      LABELS "container;${T_LABELS}" TIMEOUT ${T_TIMEOUT} ENVIRONMENT "${env}"
      SKIP_RETURN_CODE 77 RESOURCE_LOCK "dockerd;${T_LOCK}")
  endif()
endfunction()
