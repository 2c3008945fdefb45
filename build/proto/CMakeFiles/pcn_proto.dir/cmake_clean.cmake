file(REMOVE_RECURSE
  "CMakeFiles/pcn_proto.dir/gen/cubemesh.pb-c.c.o"
  "CMakeFiles/pcn_proto.dir/gen/cubemesh.pb-c.c.o.d"
  "gen/cubemesh.pb-c.c"
  "gen/cubemesh.pb-c.h"
  "libpcn_proto.a"
  "libpcn_proto.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/pcn_proto.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
