# CMake generated Testfile for 
# Source directory: /work/main/broker
# Build directory: /work/main/build/broker
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
