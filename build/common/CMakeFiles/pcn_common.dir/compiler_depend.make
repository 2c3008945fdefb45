# Empty compiler generated dependencies file for pcn_common.
# This may be replaced when dependencies are built.
