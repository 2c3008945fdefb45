# cubemesh_bpf(<name> SOURCE <file.bpf.c> [HOOKS xdp tc] [INCLUDES dirs...])
#
# Compiles one fast-path source once per hook (-DPCN_HOOK_XDP / -DPCN_HOOK_TC):
# <name>.<hook>.bpf.o, and a bpftool skeleton <name>_<hook>.skel.h for each.
# Defines the INTERFACE target <name>_skel whose include directory holds the
# skeletons, so a user-space target links it to embed the objects.
find_program(CLANG_BPF clang REQUIRED)
find_program(BPFTOOL bpftool PATHS /usr/sbin /usr/bin /sbin REQUIRED)

function(cubemesh_bpf name)
  cmake_parse_arguments(ARG "" "SOURCE" "HOOKS;INCLUDES" ${ARGN})
  if(NOT ARG_HOOKS)
    set(ARG_HOOKS xdp tc)
  endif()
  if(IS_ABSOLUTE ${ARG_SOURCE})
    set(src ${ARG_SOURCE})
  else()
    set(src ${CMAKE_CURRENT_SOURCE_DIR}/${ARG_SOURCE})
  endif()
  set(outdir ${CMAKE_CURRENT_BINARY_DIR}/bpfgen)
  file(MAKE_DIRECTORY ${outdir})
  set(incs -I${CMAKE_SOURCE_DIR}/bpf -I/usr/include/x86_64-linux-gnu)
  foreach(d ${ARG_INCLUDES})
    list(APPEND incs -I${d})
  endforeach()
  set(skels)
  foreach(hook ${ARG_HOOKS})
    string(TOUPPER ${hook} HOOK)
    set(obj ${outdir}/${name}.${hook}.bpf.o)
    set(skel ${outdir}/${name}_${hook}.skel.h)
    add_custom_command(
      OUTPUT ${obj}
      COMMAND ${CLANG_BPF} -O2 -g -target bpf -D__BPF__ -DPCN_HOOK_${HOOK}
              -Wall -Wno-unused-function ${incs}
              -MD -MF ${obj}.d -c ${src} -o ${obj}
      DEPENDS ${src} ${CMAKE_SOURCE_DIR}/bpf/pcn_kern_user.h
      DEPFILE ${obj}.d
      COMMENT "BPF ${name} (${hook})"
      VERBATIM)
    add_custom_command(
      OUTPUT ${skel}
      COMMAND ${BPFTOOL} gen skeleton ${obj} name ${name}_${hook} > ${skel}
      DEPENDS ${obj}
      COMMENT "skeleton ${name}_${hook}"
      VERBATIM)
    list(APPEND skels ${skel})
  endforeach()
  add_custom_target(${name}_bpfgen DEPENDS ${skels})
  add_library(${name}_skel INTERFACE)
  add_dependencies(${name}_skel ${name}_bpfgen)
  target_include_directories(${name}_skel INTERFACE ${outdir})
endfunction()
