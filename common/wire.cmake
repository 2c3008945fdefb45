# Wire-protocol helpers (common/wire.h): packing, unpacking, nng errors,
# socket URLs, peer credentials. Included from common/CMakeLists.txt.
add_library(pcn_wire STATIC ${CMAKE_CURRENT_LIST_DIR}/wire.c)
target_include_directories(pcn_wire PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(pcn_wire PUBLIC pcn_proto pcn_common nng::nng)

cubemesh_unit_test(wire_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/wire_test.c
  LIBS pcn_wire
  TIMEOUT 120)
