# Configures, builds and runs the consumer project against cloudstore, found either as an
# installed package (MODE=find_package, PREFIX) or as a subdirectory (MODE=add_subdirectory).
file(REMOVE_RECURSE "${WORK_DIR}")
set(configure "${CMAKE_COMMAND}" -S "${CONSUMER_DIR}" -B "${WORK_DIR}" -G "${GENERATOR}"
    -DCMAKE_CXX_COMPILER=${CXX} -DMODE=${MODE} -DEXPECTED_VERSION=${EXPECTED_VERSION}
    -DCLOUDSTORE_SOURCE_DIR=${CLOUDSTORE_SOURCE_DIR})
if(MODE STREQUAL "find_package")
  list(APPEND configure -DCMAKE_PREFIX_PATH=${PREFIX} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
endif()
foreach(step configure build run)
  if(step STREQUAL "build")
    set(command "${CMAKE_COMMAND}" --build "${WORK_DIR}")
  elseif(step STREQUAL "run")
    set(command "${WORK_DIR}/consumer")
  else()
    set(command ${configure})
  endif()
  execute_process(COMMAND ${command} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer (${MODE}): ${step} failed (${rc})")
  endif()
endforeach()
