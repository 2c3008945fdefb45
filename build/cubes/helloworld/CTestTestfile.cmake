# CMake generated Testfile for 
# Source directory: /work/main/cubes/helloworld
# Build directory: /work/main/build/cubes/helloworld
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
