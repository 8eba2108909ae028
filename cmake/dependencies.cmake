# Every dependency comes from Debian 12 packages (see .ci/setup).
find_package(Threads REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS unit_test_framework program_options)
find_package(RocksDB REQUIRED CONFIG)
find_package(yaml-cpp REQUIRED CONFIG)
find_package(nlohmann_json 3.11 REQUIRED CONFIG)
find_package(PkgConfig REQUIRED)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
pkg_check_modules(TURBOJPEG REQUIRED IMPORTED_TARGET libturbojpeg)
pkg_check_modules(WEBP REQUIRED IMPORTED_TARGET libwebp) # the WebP header check OpenCV makes
pkg_check_modules(NATS REQUIRED IMPORTED_TARGET libnats) # the JetStream client (daemon/cluster)

# Debian splits OpenCV into per-module -dev packages; only libopencv-dev (which
# pulls every module) ships OpenCVConfig.cmake. Use it when present, otherwise
# assemble an imported target from the three modules we need.
find_package(OpenCV QUIET COMPONENTS core imgproc imgcodecs)
if(OpenCV_FOUND)
  add_library(ndrd_opencv INTERFACE)
  target_link_libraries(ndrd_opencv INTERFACE ${OpenCV_LIBS})
  target_include_directories(ndrd_opencv SYSTEM INTERFACE ${OpenCV_INCLUDE_DIRS})
else()
  find_path(OPENCV_INCLUDE_DIR opencv2/core.hpp PATH_SUFFIXES opencv4 REQUIRED)
  add_library(ndrd_opencv INTERFACE)
  foreach(module core imgproc imgcodecs)
    find_library(OPENCV_${module}_LIBRARY opencv_${module} REQUIRED)
    target_link_libraries(ndrd_opencv INTERFACE ${OPENCV_${module}_LIBRARY})
  endforeach()
  target_include_directories(ndrd_opencv SYSTEM INTERFACE ${OPENCV_INCLUDE_DIR})
endif()
find_package(ZLIB REQUIRED)  # tests build PNG fixtures with crc32
