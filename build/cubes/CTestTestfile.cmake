# CMake generated Testfile for 
# Source directory: /work/main/cubes
# Build directory: /work/main/build/cubes
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
subdirs("helloworld")
subdirs("simpleforwarder")
