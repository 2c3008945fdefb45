# CMake generated Testfile for 
# Source directory: /work/main/cubes/simpleforwarder
# Build directory: /work/main/build/cubes/simpleforwarder
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
