/*
 * ranges.c - block index sets from "0-5,7,9-11" (block swap selections).
 *
 * A part holding '-' is a range and any fault in it is reported as
 * "Invalid range: '<part>'"; any other part must be one integer, else
 * "Invalid integer: '<part>'".  Parts are trimmed of blanks.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

struct interval {
	uint64_t start, end;
};

struct gp_ranges {
	struct interval *items;
	size_t count, cap;
};

/* Strict non-negative decimal: digits only, no sign, no overflow. */
static int parse_index(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

static int add_interval(struct gp_ranges *r, uint64_t start, uint64_t end)
{
	if (r->count == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		struct interval *n = realloc(r->items, cap * sizeof(*n));
		if (!n)
			return gp_fail(GP_ENOMEM, "out of memory parsing block ranges");
		r->items = n;
		r->cap = cap;
	}
	r->items[r->count++] = (struct interval){ start, end };
	return 0;
}

static int cmp_interval(const void *a, const void *b)
{
	const struct interval *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Sort and merge overlapping or touching intervals. */
static void normalize(struct gp_ranges *r)
{
	size_t out = 0;

	if (r->count == 0)
		return;
	qsort(r->items, r->count, sizeof(r->items[0]), cmp_interval);
	for (size_t i = 1; i < r->count; i++) {
		struct interval *last = &r->items[out];
		if (r->items[i].start <= last->end ||
		    (last->end != UINT64_MAX && r->items[i].start == last->end + 1)) {
			if (r->items[i].end > last->end)
				last->end = r->items[i].end;
		} else {
			r->items[++out] = r->items[i];
		}
	}
	r->count = out + 1;
}

static int parse_part(struct gp_ranges *r, const char *part, size_t len)
{
	const char *dash;
	uint64_t a, b;

	while (len && isspace((unsigned char)*part))
		part++, len--;
	while (len && isspace((unsigned char)part[len - 1]))
		len--;
	dash = memchr(part, '-', len);
	if (!dash) {
		if (parse_index(part, len, &a))
			return gp_fail(GP_EINVAL, "Invalid integer: '%.*s'", (int)len, part);
		return add_interval(r, a, a);
	}
	if (parse_index(part, (size_t)(dash - part), &a) ||
	    parse_index(dash + 1, len - (size_t)(dash - part) - 1, &b) || a > b)
		return gp_fail(GP_EINVAL, "Invalid range: '%.*s'", (int)len, part);
	return add_interval(r, a, b);
}

int gp_ranges_parse(const char *text, struct gp_ranges **out)
{
	struct gp_ranges *r;
	const char *p;
	int err;

	if (!text || !out)
		return gp_fail(GP_EINVAL, "Invalid integer: ''");
	r = calloc(1, sizeof(*r));
	if (!r)
		return gp_fail(GP_ENOMEM, "out of memory parsing block ranges");
	p = text;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		err = parse_part(r, p, len);
		if (err)
			goto fail;
		if (!comma)
			break;
		p = comma + 1;
	}
	normalize(r);
	*out = r;
	return 0;
fail:
	gp_ranges_free(r);
	return err;
}

int gp_ranges_contains(const struct gp_ranges *r, uint64_t index)
{
	size_t lo = 0, hi = r->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (index < r->items[mid].start)
			hi = mid;
		else if (index > r->items[mid].end)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

size_t gp_ranges_count(const struct gp_ranges *r)
{
	return r->count;
}

void gp_ranges_get(const struct gp_ranges *r, size_t i, uint64_t *start, uint64_t *end)
{
	*start = r->items[i].start;
	*end = r->items[i].end;
}

void gp_ranges_free(struct gp_ranges *r)
{
	if (!r)
		return;
	free(r->items);
	free(r);
}
