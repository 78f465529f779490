/* utf8.c - strict UTF-8 (RFC 3629), for names and paths that may not be. */
#include <string.h>

#include "gpupager.h"

size_t gp_utf8_char_len(const char *text, size_t avail)
{
	const unsigned char *s = (const unsigned char *)text;
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (!avail)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;      /* no overlong forms */
	else if (s[0] == 0xed)
		hi = 0x9f;      /* no surrogates */
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;      /* nothing above U+10FFFF */
	if (avail < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t k = 2; k < n; k++)
		if ((s[k] & 0xc0) != 0x80)
			return 0;
	return n;
}

size_t gp_utf8_sanitize(char *text)
{
	size_t len = strlen(text), replaced = 0;

	for (size_t i = 0; i < len;) {
		size_t n = gp_utf8_char_len(text + i, len - i);

		if (n) {
			i += n;
		} else {
			text[i++] = '?';
			replaced++;
		}
	}
	return replaced;
}
