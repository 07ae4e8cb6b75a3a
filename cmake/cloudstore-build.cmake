# Settings for cloudstore's own targets (tests, examples, benchmarks).

find_program(CLOUDSTORE_CCACHE ccache)
if(CLOUDSTORE_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER "${CLOUDSTORE_CCACHE}")
endif()

# The shared test vectors and fixtures live beside the clone.
set(CLOUDSTORE_SHARED_DIR "${PROJECT_SOURCE_DIR}/../shared" CACHE PATH "cloudstore's shared/ folder")

# Warnings as errors on cloudstore's own code only.
function(cloudstore_strict_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Werror)
endfunction()
