# cmake -DINPUT=F -DOUTPUT=F.c -DNAME=sym -P embed_bytes.cmake: at build time, writes a C file
# defining `const unsigned char NAME[]` (the bytes of INPUT) and `const size_t NAME_len`,
# as custos_embed_file does at configure time, for files the build itself makes.
file(READ ${INPUT} hex HEX)
string(LENGTH "${hex}" hex_len)
math(EXPR len "${hex_len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
get_filename_component(source ${INPUT} NAME)
file(WRITE ${OUTPUT}.tmp
"/* Generated from ${source} by cmake/embed_bytes.cmake. */
#include <stddef.h>

extern const unsigned char ${NAME}[];
extern const size_t ${NAME}_len;

const unsigned char ${NAME}[] = {${bytes} 0};
const size_t ${NAME}_len = ${len};
")
file(RENAME ${OUTPUT}.tmp ${OUTPUT})
