// The few zlib entry points AttentionPlot uses, declared here so that building needs only
// libz (present on every Swift Linux install), not zlib's development headers.
#ifndef CZLIB_SHIM_H
#define CZLIB_SHIM_H
#include <stddef.h>

unsigned long crc32(unsigned long crc, const unsigned char *buf, unsigned int len);
unsigned long compressBound(unsigned long sourceLen);
int compress2(unsigned char *dest, unsigned long *destLen, const unsigned char *source,
              unsigned long sourceLen, int level);
int uncompress(unsigned char *dest, unsigned long *destLen, const unsigned char *source,
               unsigned long sourceLen);

#endif
