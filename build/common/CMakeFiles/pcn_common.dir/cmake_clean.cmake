file(REMOVE_RECURSE
  "CMakeFiles/pcn_common.dir/log.c.o"
  "CMakeFiles/pcn_common.dir/log.c.o.d"
  "libpcn_common.a"
  "libpcn_common.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/pcn_common.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
