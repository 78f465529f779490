/*
 * chart.c - the miss-ratio chart of `pagerstat mrc`: budget (GiB) on x,
 * H2D GiB per step on y, one line per curve, the suggested budget marked.
 * SVG is written as text; PNG is drawn into an indexed-colour raster with a
 * 5x7 font and written by a minimal encoder (one fixed-Huffman deflate block
 * of runs and row-above matches, CRC-32 and Adler-32 computed here), so
 * pagerstat needs no image library.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pagerstat.h"

#define CW 800
#define CH 480
#define ML 80           /* margins: left, right, top, bottom */
#define MR 130
#define MT 30
#define MB 60

static const char *const colour[GP_MRC_CURVES] = { "#d62728", "#ff7f0e", "#2ca02c", "#1f77b4",
						   "#000000" };
static const unsigned char rgb[GP_MRC_CURVES][3] = {
	{ 0xd6, 0x27, 0x28 }, { 0xff, 0x7f, 0x0e }, { 0x2c, 0xa0, 0x2c }, { 0x1f, 0x77, 0xb4 },
	{ 0, 0, 0 },
};

struct frame {
	uint64_t lo, hi, ymax;
};

static double gib(uint64_t b)
{
	return (double)b / (double)(1ull << 30);
}

static void frame_of(const struct gp_mrc *m, const struct gp_mrc_info *info, struct frame *f)
{
	f->lo = UINT64_MAX;
	f->hi = 0;
	f->ymax = 1;
	for (uint32_t i = 0; i < info->n_points; i++)
		for (int c = 0; c < GP_MRC_CURVES; c++) {
			struct gp_mrc_point pt = { .struct_size = sizeof(pt) };

			if (!(info->curves & (1u << c)) || gp_mrc_point(m, c, i, &pt) || !pt.valid)
				continue;
			f->lo = pt.budget < f->lo ? pt.budget : f->lo;
			f->hi = pt.budget > f->hi ? pt.budget : f->hi;
			f->ymax = pt.bytes_per_step > f->ymax ? pt.bytes_per_step : f->ymax;
		}
	if (f->lo > f->hi)
		f->lo = f->hi = 0;
	if (f->hi == f->lo)
		f->hi = f->lo + 1;
}

static double px(const struct frame *f, uint64_t budget)
{
	return ML + (double)(budget - f->lo) * (CW - ML - MR) / (double)(f->hi - f->lo);
}

static double py(const struct frame *f, uint64_t bytes)
{
	return CH - MB - (double)bytes * (CH - MT - MB) / (double)f->ymax;
}

static int open_out(const char *path, FILE **out)
{
	*out = fopen(path, "wb");
	if (!*out) {
		fprintf(stderr, "pagerstat mrc: %s: cannot write: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int close_out(const char *path, FILE *f)
{
	int bad = ferror(f);

	if (fclose(f) || bad) {
		fprintf(stderr, "pagerstat mrc: %s: write failed: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int ps_chart_svg(const char *path, const struct gp_mrc *m, const struct gp_mrc_info *info,
		 const struct gp_mrc_advice *adv)
{
	struct frame fr;
	FILE *f;
	int row = 0;

	if (open_out(path, &f))
		return -1;
	frame_of(m, info, &fr);
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
		"<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", CW, CH, CW, CH, CW, CH);
	/* Axes, ticks and labels. */
	fprintf(f, "<path d=\"M%d %d V%d H%d\" stroke=\"#000\" fill=\"none\"/>\n", ML, MT, CH - MB,
		CW - MR);
	for (int k = 0; k <= 5; k++) {
		uint64_t b = fr.lo + (fr.hi - fr.lo) * (uint64_t)k / 5;
		uint64_t y = fr.ymax * (uint64_t)k / 5;

		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#000\"/>"
			"<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.2f</text>\n",
			px(&fr, b), CH - MB, px(&fr, b), CH - MB + 5, px(&fr, b), CH - MB + 18, gib(b));
		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>"
			"<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.2f</text>\n", ML, py(&fr, y),
			CW - MR, py(&fr, y), ML - 6, py(&fr, y) + 4, gib(y));
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">VRAM budget (GiB)</text>\n",
		(ML + CW - MR) / 2, CH - 20);
	fprintf(f, "<text transform=\"translate(20 %d) rotate(-90)\" text-anchor=\"middle\">"
		"H2D GiB per step</text>\n", (MT + CH - MB) / 2);
	for (int c = 0; c < GP_MRC_CURVES; c++) {
		int first = 1;

		if (!(info->curves & (1u << c)))
			continue;
		fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%s\"%s points=\"",
			colour[c], c == GP_MRC_MIN ? "2" : "1.5",
			c == GP_MRC_MIN ? " stroke-dasharray=\"6 3\"" : "");
		for (uint32_t i = 0; i < info->n_points; i++) {
			struct gp_mrc_point pt = { .struct_size = sizeof(pt) };

			if (gp_mrc_point(m, c, i, &pt) || !pt.valid)
				continue;
			fprintf(f, "%s%.1f,%.1f", first ? "" : " ", px(&fr, pt.budget),
				py(&fr, pt.bytes_per_step));
			first = 0;
		}
		fprintf(f, "\"/>\n<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" "
			"stroke-width=\"2\"/><text x=\"%d\" y=\"%d\">%s</text>\n", CW - MR + 10,
			MT + 10 + 18 * row, CW - MR + 30, MT + 10 + 18 * row, colour[c], CW - MR + 36,
			MT + 14 + 18 * row, gp_mrc_curve_name(c));
		row++;
	}
	if (adv && adv->budget >= fr.lo && adv->budget <= fr.hi)
		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#7f7f7f\" "
			"stroke-dasharray=\"4 4\"/><text x=\"%.1f\" y=\"%d\" fill=\"#555\">suggested "
			"%.2f GiB (%s)</text>\n", px(&fr, adv->budget), MT, px(&fr, adv->budget),
			CH - MB, px(&fr, adv->budget) + 4, MT + 12, gib(adv->budget),
			gp_mrc_curve_name(adv->curve));
	fprintf(f, "</svg>\n");
	return close_out(path, f);
}

/* ------------------------------------------------------------------ PNG */

/* 5x7 glyphs, rows top to bottom, bit 4 the leftmost pixel. */
struct glyph {
	char c;
	unsigned char rows[7];
};

static const struct glyph font[] = {
	{ '0', { 14, 17, 19, 21, 25, 17, 14 } }, { '1', { 4, 12, 4, 4, 4, 4, 14 } },
	{ '2', { 14, 17, 1, 2, 4, 8, 31 } },     { '3', { 31, 2, 4, 2, 1, 17, 14 } },
	{ '4', { 2, 6, 10, 18, 31, 2, 2 } },     { '5', { 31, 16, 30, 1, 1, 17, 14 } },
	{ '6', { 6, 8, 16, 30, 17, 17, 14 } },   { '7', { 31, 1, 2, 4, 8, 8, 8 } },
	{ '8', { 14, 17, 17, 14, 17, 17, 14 } }, { '9', { 14, 17, 17, 15, 1, 2, 12 } },
	{ '.', { 0, 0, 0, 0, 0, 12, 12 } },      { '(', { 2, 4, 8, 8, 8, 4, 2 } },
	{ ')', { 8, 4, 2, 2, 2, 4, 8 } },        { 'a', { 0, 0, 14, 1, 15, 17, 15 } },
	{ 'b', { 16, 16, 22, 25, 17, 17, 30 } }, { 'c', { 0, 0, 14, 16, 16, 17, 14 } },
	{ 'd', { 1, 1, 13, 19, 17, 17, 15 } },   { 'e', { 0, 0, 14, 17, 31, 16, 14 } },
	{ 'g', { 0, 15, 17, 17, 15, 1, 14 } },   { 'i', { 4, 0, 12, 4, 4, 4, 14 } },
	{ 'k', { 16, 16, 18, 20, 24, 20, 18 } }, { 'l', { 12, 4, 4, 4, 4, 4, 14 } },
	{ 'm', { 0, 0, 26, 21, 21, 17, 17 } },   { 'n', { 0, 0, 22, 25, 17, 17, 17 } },
	{ 'o', { 0, 0, 14, 17, 17, 17, 14 } },   { 'p', { 0, 0, 30, 17, 30, 16, 16 } },
	{ 'r', { 0, 0, 22, 25, 16, 16, 16 } },   { 's', { 0, 0, 14, 16, 14, 1, 30 } },
	{ 't', { 8, 8, 28, 8, 8, 9, 6 } },       { 'u', { 0, 0, 17, 17, 17, 19, 13 } },
	{ 'v', { 0, 0, 17, 17, 17, 10, 4 } },    { 'x', { 0, 0, 17, 10, 4, 10, 17 } },
	{ 'B', { 30, 17, 17, 30, 17, 17, 30 } }, { 'G', { 14, 17, 16, 23, 17, 17, 15 } },
	{ 'H', { 17, 17, 17, 31, 17, 17, 17 } }, { 'M', { 17, 27, 21, 21, 17, 17, 17 } },
	{ 'R', { 30, 17, 17, 30, 20, 18, 17 } }, { 'A', { 14, 17, 17, 31, 17, 17, 17 } },
	{ 'V', { 17, 17, 17, 17, 17, 10, 4 } },  { 'D', { 28, 18, 17, 17, 17, 18, 28 } },
};

enum { PAL_WHITE, PAL_BLACK, PAL_GREY, PAL_LIGHT, PAL_CURVE0 };

struct raster {
	unsigned char px[CH][CW];
};

static void plot(struct raster *r, int x, int y, unsigned char c)
{
	if (x >= 0 && x < CW && y >= 0 && y < CH)
		r->px[y][x] = c;
}

static void line(struct raster *r, int x0, int y0, int x1, int y1, unsigned char c, int thick,
		 int dash)
{
	int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
	int e = dx + dy, n = 0;

	for (;;) {
		if (!dash || (n / dash) % 2 == 0)
			for (int k = 0; k < thick; k++) {
				plot(r, x0, y0 + k, c);
				plot(r, x0 + k, y0, c);
			}
		int e2 = 2 * e;

		n++;
		if (x0 == x1 && y0 == y1)
			break;
		if (e2 >= dy) {
			e += dy;
			x0 += sx;
		}
		if (e2 <= dx) {
			e += dx;
			y0 += sy;
		}
	}
}

/* Text at (x, y) top-left; align -1 left, 0 centre, 1 right. */
static void text(struct raster *r, int x, int y, const char *s, int align, unsigned char c)
{
	int w = (int)strlen(s) * 6;

	x -= align == 0 ? w / 2 : align > 0 ? w : 0;
	for (; *s; s++, x += 6) {
		for (size_t g = 0; g < sizeof(font) / sizeof(font[0]); g++) {
			if (font[g].c != *s)
				continue;
			for (int row = 0; row < 7; row++)
				for (int col = 0; col < 5; col++)
					if (font[g].rows[row] & (16 >> col))
						plot(r, x + col, y + row, c);
		}
	}
}

static uint32_t crc_table[256];

static void crc_init(void)
{
	for (uint32_t n = 0; n < 256; n++) {
		uint32_t c = n;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[n] = c;
	}
}

static uint32_t crc_update(uint32_t crc, const unsigned char *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		crc = crc_table[(crc ^ b[i]) & 0xff] ^ (crc >> 8);
	return crc;
}

static void put_be32(unsigned char *b, uint32_t v)
{
	b[0] = (unsigned char)(v >> 24);
	b[1] = (unsigned char)(v >> 16);
	b[2] = (unsigned char)(v >> 8);
	b[3] = (unsigned char)v;
}

static void chunk(FILE *f, const char *type, const unsigned char *data, size_t len)
{
	unsigned char b[4];
	uint32_t crc;

	put_be32(b, (uint32_t)len);
	fwrite(b, 1, 4, f);
	fwrite(type, 1, 4, f);
	if (len)
		fwrite(data, 1, len, f);
	crc = crc_update(0xffffffffu, (const unsigned char *)type, 4);
	crc = crc_update(crc, data, len) ^ 0xffffffffu;
	put_be32(b, crc);
	fwrite(b, 1, 4, f);
}

/* Deflate's bit writer: LSB first; Huffman codes are sent most significant bit first. */
struct bits {
	unsigned char *p;
	uint32_t acc;
	int n;
};

static void put_bits(struct bits *b, uint32_t v, int n)
{
	b->acc |= v << b->n;
	b->n += n;
	while (b->n >= 8) {
		*b->p++ = (unsigned char)b->acc;
		b->acc >>= 8;
		b->n -= 8;
	}
}

static void put_code(struct bits *b, uint32_t code, int n)
{
	uint32_t r = 0;

	for (int i = 0; i < n; i++)
		r |= ((code >> i) & 1) << (n - 1 - i);
	put_bits(b, r, n);
}

/* A literal/length symbol in the fixed Huffman code (RFC 1951, 3.2.6). */
static void put_sym(struct bits *b, unsigned sym)
{
	if (sym < 144)
		put_code(b, 0x30 + sym, 8);
	else if (sym < 256)
		put_code(b, 0x190 + sym - 144, 9);
	else if (sym < 280)
		put_code(b, sym - 256, 7);
	else
		put_code(b, 0xc0 + sym - 280, 8);
}

static void put_match(struct bits *b, unsigned len, unsigned dist)
{
	static const unsigned short lbase[29] = { 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19,
						  23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115,
						  131, 163, 195, 227, 258 };
	static const unsigned char lext[29] = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
						3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0 };
	static const unsigned short dbase[30] = { 1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65,
						  97, 129, 193, 257, 385, 513, 769, 1025, 1537,
						  2049, 3073, 4097, 6145, 8193, 12289, 16385,
						  24577 };
	static const unsigned char dext[30] = { 0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6,
						7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
						13 };
	int l = 28, d = 29;

	while (lbase[l] > len)
		l--;
	while (dbase[d] > dist)
		d--;
	put_sym(b, 257 + (unsigned)l);
	put_bits(b, len - lbase[l], lext[l]);
	put_code(b, (uint32_t)d, 5);
	put_bits(b, dist - dbase[d], dext[d]);
}

/*
 * The zlib stream of the filtered scanlines (filter 0, one palette byte a
 * pixel) in one fixed-Huffman deflate block: greedy matches at distance 1
 * (runs) and one scanline back (what the row above holds), else literals.
 */
static unsigned char *zlib_fixed(const struct raster *r, size_t *out_len)
{
	size_t raw_len = (size_t)CH * (CW + 1), row = CW + 1;
	unsigned char *raw = malloc(raw_len), *z = malloc(raw_len * 9 / 8 + 64);
	struct bits b;
	uint32_t a = 1, s2 = 0;
	size_t i = 0;

	if (!raw || !z) {
		free(raw);
		free(z);
		return NULL;
	}
	for (size_t y = 0; y < CH; y++) {
		raw[y * row] = 0;
		memcpy(raw + y * row + 1, r->px[y], CW);
	}
	for (size_t k = 0; k < raw_len; k++) {
		a = (a + raw[k]) % 65521;
		s2 = (s2 + a) % 65521;
	}
	z[0] = 0x78;
	z[1] = 0x01;
	b = (struct bits){ .p = z + 2 };
	put_bits(&b, 1, 1);     /* final block */
	put_bits(&b, 1, 2);     /* fixed Huffman codes */
	while (i < raw_len) {
		size_t best = 0, dist = 0, max = raw_len - i > 258 ? 258 : raw_len - i;
		size_t cand[2] = { 1, row };

		for (int c = 0; c < 2; c++) {
			size_t n = 0;

			if (i < cand[c])
				continue;
			while (n < max && raw[i + n] == raw[i + n - cand[c]])
				n++;
			if (n > best) {
				best = n;
				dist = cand[c];
			}
		}
		if (best >= 3) {
			put_match(&b, (unsigned)best, (unsigned)dist);
			i += best;
		} else {
			put_sym(&b, raw[i++]);
		}
	}
	put_sym(&b, 256);
	if (b.n)
		put_bits(&b, 0, 8 - b.n);
	put_be32(b.p, (s2 << 16) | a);
	b.p += 4;
	*out_len = (size_t)(b.p - z);
	free(raw);
	return z;
}

int ps_chart_png(const char *path, const struct gp_mrc *m, const struct gp_mrc_info *info,
		 const struct gp_mrc_advice *adv)
{
	static const unsigned char sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	struct raster *r = calloc(1, sizeof(*r));
	unsigned char ihdr[13], pal[3 * (PAL_CURVE0 + GP_MRC_CURVES)], *z;
	struct frame fr;
	size_t zlen;
	char label[64];
	int row = 0, rc;
	FILE *f;

	if (!r) {
		fprintf(stderr, "pagerstat mrc: out of memory\n");
		return -1;
	}
	frame_of(m, info, &fr);
	for (int k = 0; k <= 5; k++) {
		uint64_t b = fr.lo + (fr.hi - fr.lo) * (uint64_t)k / 5, y = fr.ymax * (uint64_t)k / 5;
		int x = (int)px(&fr, b), yy = (int)py(&fr, y);

		line(r, ML, yy, CW - MR, yy, PAL_LIGHT, 1, 0);
		line(r, x, CH - MB, x, CH - MB + 5, PAL_BLACK, 1, 0);
		snprintf(label, sizeof(label), "%.2f", gib(b));
		text(r, x, CH - MB + 9, label, 0, PAL_BLACK);
		snprintf(label, sizeof(label), "%.2f", gib(y));
		text(r, ML - 6, yy - 3, label, 1, PAL_BLACK);
	}
	line(r, ML, MT, ML, CH - MB, PAL_BLACK, 1, 0);
	line(r, ML, CH - MB, CW - MR, CH - MB, PAL_BLACK, 1, 0);
	text(r, (ML + CW - MR) / 2, CH - 24, "VRAM budget (GiB)", 0, PAL_BLACK);
	text(r, 8, MT - 20, "H2D GiB per step", -1, PAL_BLACK);
	for (int c = 0; c < GP_MRC_CURVES; c++) {
		int have = 0, lx = 0, ly = 0;

		if (!(info->curves & (1u << c)))
			continue;
		for (uint32_t i = 0; i < info->n_points; i++) {
			struct gp_mrc_point pt = { .struct_size = sizeof(pt) };
			int x, y;

			if (gp_mrc_point(m, c, i, &pt) || !pt.valid)
				continue;
			x = (int)px(&fr, pt.budget);
			y = (int)py(&fr, pt.bytes_per_step);
			if (have)
				line(r, lx, ly, x, y, (unsigned char)(PAL_CURVE0 + c), 2,
				     c == GP_MRC_MIN ? 6 : 0);
			lx = x;
			ly = y;
			have = 1;
		}
		line(r, CW - MR + 10, MT + 10 + 18 * row, CW - MR + 30, MT + 10 + 18 * row,
		     (unsigned char)(PAL_CURVE0 + c), 2, 0);
		text(r, CW - MR + 36, MT + 7 + 18 * row, gp_mrc_curve_name(c), -1, PAL_BLACK);
		row++;
	}
	if (adv && adv->budget >= fr.lo && adv->budget <= fr.hi) {
		int x = (int)px(&fr, adv->budget);

		line(r, x, MT, x, CH - MB, PAL_GREY, 1, 4);
		snprintf(label, sizeof(label), "suggested %.2f GiB", gib(adv->budget));
		text(r, x + 4, MT + 4, label, -1, PAL_GREY);
	}
	pal[0] = pal[1] = pal[2] = 0xff;
	pal[3] = pal[4] = pal[5] = 0;
	pal[6] = pal[7] = pal[8] = 0x70;
	pal[9] = pal[10] = pal[11] = 0xe0;
	for (int c = 0; c < GP_MRC_CURVES; c++)
		memcpy(&pal[3 * (PAL_CURVE0 + c)], rgb[c], 3);
	put_be32(ihdr, CW);
	put_be32(ihdr + 4, CH);
	ihdr[8] = 8;            /* bit depth */
	ihdr[9] = 3;            /* indexed colour */
	ihdr[10] = ihdr[11] = ihdr[12] = 0;
	z = zlib_fixed(r, &zlen);
	free(r);
	if (!z) {
		fprintf(stderr, "pagerstat mrc: out of memory\n");
		return -1;
	}
	crc_init();
	if (open_out(path, &f)) {
		free(z);
		return -1;
	}
	fwrite(sig, 1, sizeof(sig), f);
	chunk(f, "IHDR", ihdr, sizeof(ihdr));
	chunk(f, "PLTE", pal, sizeof(pal));
	chunk(f, "IDAT", z, zlen);
	chunk(f, "IEND", NULL, 0);
	free(z);
	rc = close_out(path, f);
	return rc;
}
