# IPC-protocol helpers (common/ipc.h): packing, unpacking, nng errors,
# socket URLs, peer credentials. Included from common/CMakeLists.txt.
add_library(pcn_ipc STATIC ${CMAKE_CURRENT_LIST_DIR}/ipc.c)
target_include_directories(pcn_ipc PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(pcn_ipc PUBLIC pcn_proto pcn_common nng::nng)

cubemesh_unit_test(ipc_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/ipc_test.c
  LIBS pcn_ipc
  TIMEOUT 120)
