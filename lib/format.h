/* format.h - sizes as text for messages and tool output (internal). */
#ifndef GP_LIB_FORMAT_H
#define GP_LIB_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/*
 * bytes in binary units with decimals digits: "100 B" (under 1 KiB, exact),
 * "1.50 GiB" with 2 digits, "1.5 GiB" with 1.  Writes at most len bytes to
 * buf (32 is always enough) and returns buf, to use inside printf arguments.
 */
const char *gp_format_size_prec(uint64_t bytes, unsigned decimals, char *buf, size_t len);

/* gp_format_size_prec() with 2 digits, as the tools print sizes: "1.50 GiB". */
const char *gp_format_size(uint64_t bytes, char *buf, size_t len);

#endif
