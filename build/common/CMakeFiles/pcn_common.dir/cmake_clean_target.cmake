file(REMOVE_RECURSE
  "libpcn_common.a"
)
