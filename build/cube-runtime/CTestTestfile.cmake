# CMake generated Testfile for 
# Source directory: /work/main/cube-runtime
# Build directory: /work/main/build/cube-runtime
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
