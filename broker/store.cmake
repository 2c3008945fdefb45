# The broker's datastore (datastore.c) and id allocators (idalloc.c), with
# their tests. Included from broker/CMakeLists.txt.
add_library(broker_store STATIC
  ${CMAKE_CURRENT_LIST_DIR}/datastore.c
  ${CMAKE_CURRENT_LIST_DIR}/record.c
  ${CMAKE_CURRENT_LIST_DIR}/idalloc.c)
target_include_directories(broker_store PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(broker_store PUBLIC pcn_common PkgConfig::JANSSON)

cubemesh_unit_test(broker_datastore_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/datastore_test.c
  LIBS broker_store)
cubemesh_unit_test(broker_idalloc_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/idalloc_test.c
  LIBS broker_store)
