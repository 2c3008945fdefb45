# The data-plane side of pcn-broker: PatchPanel, forwarding and netdev-input
# maps, netdev attachments, host netdevs and their monitor.
# Included from broker/CMakeLists.txt.
add_library(broker_dp STATIC
  ${CMAKE_CURRENT_LIST_DIR}/dataplane.c
  ${CMAKE_CURRENT_LIST_DIR}/netdev.c
  ${CMAKE_CURRENT_LIST_DIR}/netdev_offload.c
  ${CMAKE_CURRENT_LIST_DIR}/netdev_spec.c
  ${CMAKE_CURRENT_LIST_DIR}/netdevs.c
  ${CMAKE_CURRENT_LIST_DIR}/netmon.c)
target_include_directories(broker_dp PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(broker_dp
  PUBLIC pcn_common PkgConfig::LIBBPF PkgConfig::LIBUV PkgConfig::JANSSON
  PRIVATE pcn_netdev_skel)

# These tests create veths, load and attach programs: they need root and a
# kernel with BPF, like the broker itself. Each uses its own bpffs root and
# netdev names, so they may run in parallel.
foreach(_t dataplane netdev netdev_offload netdevs netmon)
  if(NOT EXISTS ${CMAKE_CURRENT_LIST_DIR}/${_t}_test.c)
    continue()
  endif()
  cubemesh_unit_test(broker_${_t}_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/${_t}_test.c ${CMAKE_CURRENT_LIST_DIR}/dp_testutil.c
    LIBS broker_dp)
endforeach()
