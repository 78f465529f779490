/*
 * io_split.c - a request cut into pieces of at most request_size.
 *
 * Buffered files: straight into the destination.  O_DIRECT files: the
 * aligned superset [floor(off), ceil(end)) is read.  A scratch request
 * whose destination is placed as the file is (io.h) gets the whole
 * superset straight into its memory, floor(off) landing on an aligned
 * address.  Otherwise, when the destination of the aligned middle
 * [ceil(off), floor(end)) is aligned in memory, the middle goes straight
 * there and only the partial head and tail blocks go through bounce
 * buffers; else every piece is bounced.
 */
#include "io_internal.h"

static uint64_t align_down(uint64_t x, uint64_t a)
{
	return x & ~(a - 1);
}

static uint64_t align_up(uint64_t x, uint64_t a)
{
	return align_down(x + a - 1, a);
}

struct splitter {
	const struct gp_io_req *r;
	struct gp_io_piece *out;
	struct gp_io_batch *b;
	size_t n;
};

/* One piece [c0, c1) of the file: straight into the destination, or bounced. */
static void piece(struct splitter *s, uint64_t c0, uint64_t c1, int direct, int bounce)
{
	const struct gp_io_req *r = s->r;
	uint64_t end = r->offset + r->len;
	uint64_t u0 = c0 > r->offset ? c0 : r->offset;
	uint64_t u1 = c1 < end ? c1 : end;
	struct gp_io_piece *p;

	if (s->out) {
		p = &s->out[s->n];
		p->batch = s->b;
		p->file = r->file;
		p->off = c0;
		p->len = c1 - c0;
		p->need = u1 - c0;
		/* c0 is before r->offset only for a scratch superset: its head lands before dst. */
		p->dst = bounce ? NULL : (char *)r->dst - (int64_t)(r->offset - c0);
		p->copy_dst = (char *)r->dst + (u0 - r->offset);
		p->skip = u0 - c0;
		p->copy_len = u1 - u0;
		p->direct = direct;
	}
	s->n++;
}

/*
 * [a, b) in pieces of size.  A piece read into the caller's memory takes a
 * remainder of up to size / 16 along: a superset one block longer than a
 * chunk is one read, not a chunk and a block.
 */
static void range(struct splitter *s, uint64_t a, uint64_t b, uint64_t size, int direct,
		  int bounce)
{
	uint64_t most = bounce ? size : size + size / 16;

	for (uint64_t o = a; o < b; o += size) {
		if (b - o <= most) {
			piece(s, o, b, direct, bounce);
			break;
		}
		piece(s, o, o + size, direct, bounce);
	}
}

size_t gp_io_split(const struct gp_io *io, const struct gp_io_req *r,
		   struct gp_io_piece *out, struct gp_io_batch *b, int direct)
{
	struct splitter s = { .r = r, .out = out, .b = b };
	const struct gp_io_file *f = r->file;
	uint64_t rs = io->request_size, end = r->offset + r->len;
	uint64_t a, m, a0, a1, m0, m1, w;

	if (!r->len)
		return 0;
	if (f->dfd < 0 || !direct) {
		range(&s, r->offset, end, rs, 0, 0);
		return s.n;
	}
	a = f->off_align;
	m = f->mem_align;
	/* The scratch superset starts on a block both the file and the memory accept. */
	w = a > m ? a : m;
	a0 = align_down(r->offset, w);
	if (r->scratch && w <= GP_IO_PLACE_ALIGN &&
	    ((uintptr_t)r->dst - (r->offset - a0)) % w == 0) {
		range(&s, a0, align_up(end, a), rs, 1, 0);
		return s.n;
	}
	a0 = align_down(r->offset, a);
	a1 = align_up(end, a);
	m0 = align_up(r->offset, a);
	m1 = align_down(end, a);
	if (m1 > m0 && ((uintptr_t)r->dst + (m0 - r->offset)) % m == 0) {
		range(&s, a0, m0, rs, 1, 1);
		range(&s, m0, m1, rs, 1, 0);
		range(&s, m1, a1, rs, 1, 1);
	} else {
		range(&s, a0, a1, rs, 1, 1);
	}
	return s.n;
}
