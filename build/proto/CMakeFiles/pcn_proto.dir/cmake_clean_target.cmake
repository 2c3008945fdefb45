file(REMOVE_RECURSE
  "libpcn_proto.a"
)
