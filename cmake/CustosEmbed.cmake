# custos_embed_file(INPUT OUTPUT NAME): writes OUTPUT, a C file defining
#   const unsigned char NAME[];   the bytes of INPUT and a terminating 0
#   const size_t NAME_len;        the number of bytes of INPUT (without the 0)
# at configure time, and configures again whenever INPUT changes.
function(custos_embed_file input output name)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${input})
  file(READ ${input} hex HEX)
  string(LENGTH "${hex}" hex_len)
  math(EXPR len "${hex_len} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  file(RELATIVE_PATH source ${PROJECT_SOURCE_DIR} ${input})
  file(CONFIGURE OUTPUT ${output} CONTENT
"/* Generated from ${source} by cmake/CustosEmbed.cmake. */
#include <stddef.h>

extern const unsigned char ${name}[];
extern const size_t ${name}_len;

const unsigned char ${name}[] = {${bytes} 0};
const size_t ${name}_len = ${len};
")
endfunction()
