# FSMIRROR_FUZZ builds the libFuzzer targets in fuzz/. Every first-party library is compiled
# with coverage instrumentation (-fsanitize=fuzzer-no-link) so the fuzzer sees inside the
# parsers; only the fuzz executables link libFuzzer's main. Needs clang (scripts/fuzz.sh picks
# Debian's clang-19, the first whose C++23 mode accepts libstdc++ 12's <expected>).
option(FSMIRROR_FUZZ "Build the libFuzzer targets under fuzz/ (clang only)" OFF)
if(FSMIRROR_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "FSMIRROR_FUZZ needs clang (libFuzzer): configure with "
                        "-DCMAKE_CXX_COMPILER=clang++-19, or run scripts/fuzz.sh")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
