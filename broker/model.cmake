# The model layer of pcn-broker: libyang context, REST targets, configs.
# Included from broker/CMakeLists.txt.
add_library(broker_model STATIC
  ${CMAKE_CURRENT_LIST_DIR}/model.c
  ${CMAKE_CURRENT_LIST_DIR}/model_json.c
  ${CMAKE_CURRENT_LIST_DIR}/config_read.c
  ${CMAKE_CURRENT_LIST_DIR}/target.c
  ${CMAKE_CURRENT_LIST_DIR}/config.c)
target_include_directories(broker_model PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(broker_model PUBLIC PkgConfig::LIBYANG PkgConfig::JANSSON pcn_common)

set(_model_test_defs
  CUBEMESH_YANG_DIR="${CUBEMESH_YANG_DIR}"
  CUBEMESH_TESTDATA_DIR="${CMAKE_CURRENT_LIST_DIR}/testdata")
foreach(_t model model_upgrade target config config_read)
  if(NOT EXISTS ${CMAKE_CURRENT_LIST_DIR}/${_t}_test.c)
    continue()
  endif()
  cubemesh_unit_test(broker_${_t}_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/${_t}_test.c ${CMAKE_CURRENT_LIST_DIR}/model_testutil.c
    LIBS broker_model)
  target_compile_definitions(broker_${_t}_test PRIVATE ${_model_test_defs})
endforeach()

# The shipped models must pass yanglint on their own.
find_program(YANGLINT yanglint)
if(YANGLINT)
  file(GLOB _yang_models ${CUBEMESH_YANG_DIR}/*.yang)
  add_test(NAME yang_models_lint
    COMMAND ${YANGLINT} -p ${CUBEMESH_YANG_DIR} -p ${CMAKE_CURRENT_LIST_DIR}/testdata ${_yang_models}
            ${CMAKE_CURRENT_LIST_DIR}/testdata/router-test.yang ${CMAKE_CURRENT_LIST_DIR}/testdata/transparent-test.yang
            ${CMAKE_CURRENT_LIST_DIR}/testdata/enum-test.yang)
  set_tests_properties(yang_models_lint PROPERTIES LABELS unit TIMEOUT 30)
endif()
