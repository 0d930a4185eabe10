# Warnings are an INTERFACE target linked by first-party targets only, so third-party headers
# keep their own flags. -Werror is on for development and CI; packagers may turn it off.
option(FSMIRROR_WERROR "Treat compiler warnings as errors" ON)

add_library(fsmirror_warnings INTERFACE)
target_compile_options(fsmirror_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Wunused
  -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough
  $<$<BOOL:${FSMIRROR_WERROR}>:-Werror>)
