# A room is one library over one directory of the tree, declared with the
# rooms it may use. A build step checks every quoted #include of the room's
# files against them: a header of the room itself, or of a room it depends
# on (directly or through another room). A wrong-way include fails the build.
#
# ndrd_room(<target> SOURCES <files...> [ROOMS <room targets...>]
#           [PUBLIC <libraries...>] [PRIVATE <libraries...>])
function(ndrd_room target)
  cmake_parse_arguments(ROOM "" "" "SOURCES;ROOMS;PUBLIC;PRIVATE" ${ARGN})
  add_library(${target} ${ROOM_SOURCES})
  set_target_properties(${target} PROPERTIES UNITY_BUILD ${NDRD_UNITY_BUILD})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${target} PUBLIC ${ROOM_ROOMS} ${ROOM_PUBLIC} PRIVATE ${ROOM_PRIVATE})

  file(RELATIVE_PATH dir ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR})
  set(allowed ${dir})
  foreach(room IN LISTS ROOM_ROOMS)
    get_target_property(dirs ${room} NDRD_ROOM_DIRS)
    list(APPEND allowed ${dirs})
  endforeach()
  list(REMOVE_DUPLICATES allowed)
  set_target_properties(${target} PROPERTIES NDRD_ROOM_DIRS "${allowed}")

  file(GLOB headers ${CMAKE_CURRENT_SOURCE_DIR}/*.hpp)
  list(TRANSFORM ROOM_SOURCES PREPEND ${CMAKE_CURRENT_SOURCE_DIR}/)
  set(files ${ROOM_SOURCES} ${headers})
  string(REPLACE ";" "," allowed_arg "${allowed}")
  string(REPLACE ";" "," files_arg "${files}")
  set(stamp ${CMAKE_CURRENT_BINARY_DIR}/${target}.includes-checked)
  add_custom_command(OUTPUT ${stamp}
    COMMAND ${CMAKE_COMMAND} -DROOM=${dir} -DALLOWED=${allowed_arg} -DFILES=${files_arg} -DSTAMP=${stamp}
      -P ${PROJECT_SOURCE_DIR}/cmake/check_includes.cmake
    DEPENDS ${files} ${PROJECT_SOURCE_DIR}/cmake/check_includes.cmake
    COMMENT "Checking that ${dir} includes only its own rooms"
    VERBATIM)
  add_custom_target(${target}_includes DEPENDS ${stamp})
  add_dependencies(${target} ${target}_includes)
endfunction()
