# Empty compiler generated dependencies file for pcn_proto.
# This may be replaced when dependencies are built.
