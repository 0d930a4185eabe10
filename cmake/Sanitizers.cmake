# FSMIRROR_SANITIZE is a ;-list passed to -fsanitize=, e.g. "address;undefined" or "thread".
set(FSMIRROR_SANITIZE "" CACHE STRING "Sanitizers to build with (address;undefined or thread)")
if(FSMIRROR_SANITIZE)
  list(JOIN FSMIRROR_SANITIZE "," sanitizers)
  add_compile_options(-fsanitize=${sanitizers} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${sanitizers})
endif()
