# Shared build settings, included by the top-level project and by inference/
# when it is configured on its own.
include_guard(GLOBAL)

set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)
if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "Build type" FORCE)
endif()

option(ASSISTANT_WERROR "Treat warnings in our own code as errors" ON)
option(ASSISTANT_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
option(ASSISTANT_FUZZ "Build libFuzzer targets (needs clang)" OFF)

if(ASSISTANT_SANITIZE)
  message(STATUS "Sanitizers: ASan + UBSan enabled")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# Warnings on, and errors for our own code (not for generated protobuf code).
# -Wshadow=local is GCC's; clang (fuzz builds) does not know it.
function(assistant_target_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic>
    $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<CXX_COMPILER_ID:GNU>>:-Wshadow=local>
    $<$<COMPILE_LANGUAGE:CXX>:-Wnon-virtual-dtor -Wimplicit-fallthrough>
    $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<BOOL:${ASSISTANT_WERROR}>>:-Werror>)
endfunction()

# CUDA: enabled when nvcc is found, off otherwise; one configure line says which.
include(CheckLanguage)
option(ASSISTANT_CUDA "Build the CUDA backend when nvcc is found" ON)
if(NOT DEFINED ASSISTANT_HAVE_CUDA)
  set(ASSISTANT_HAVE_CUDA OFF)
  if(ASSISTANT_CUDA)
    if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
      set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
    endif()
    check_language(CUDA)
    if(CMAKE_CUDA_COMPILER)
      if(NOT CMAKE_CUDA_ARCHITECTURES)
        set(CMAKE_CUDA_ARCHITECTURES 80 86 89 90)
      endif()
      enable_language(CUDA)
      # CMake 3.25 predates nvcc 13 and does not know its C++20 dialect flag.
      if(NOT CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
        set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20" CACHE INTERNAL "")
        set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20" CACHE INTERNAL "")
      endif()
      set(ASSISTANT_HAVE_CUDA ON)
    endif()
  endif()
  if(ASSISTANT_HAVE_CUDA)
    message(STATUS "CUDA backend: ON (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, architectures ${CMAKE_CUDA_ARCHITECTURES})")
  elseif(ASSISTANT_CUDA)
    message(STATUS "CUDA backend: OFF (nvcc not found; building the CPU backend only)")
  else()
    message(STATUS "CUDA backend: OFF (disabled with -DASSISTANT_CUDA=OFF)")
  endif()
endif()
