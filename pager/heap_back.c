/*
 * heap_back.c - which chunks of a heap hold file bytes.  The shim reports
 * every copy into the heap: from a view of a .safetensors file (the piece
 * is recorded) or from anything else (the chunk is anonymous).  A chunk
 * whose every written byte came from files (never-written bytes read as
 * zeros) is file-backed: on eviction it is dropped once a device checksum
 * equals the checksum of its file image (computed once, as that image
 * passes through the host tier), else it is anonymous from then on and
 * swapped.  Kernels may write anywhere unseen: the checksum is the proof.
 *
 * The heap keeps its own descriptor of each file, so renaming or deleting
 * the file changes nothing; a file changed in place (size, mtime, inode)
 * fails the re-read with GP_EIO rather than load other bytes.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "heap.h"
#include "kernels.h"
#include "log.h"
#include "model.h"
#include "pager.h"

struct gp_heap_file {
	struct gp_io_file *io;
	int fd;                         /* ours, for the identity check */
	uint64_t dev, ino, size;
	struct timespec mtime;
	struct gp_model_desc *desc;     /* its tensors and their groups; NULL: header unreadable */
};

struct piece {
	uint64_t off, len, file_off;    /* off: in the chunk */
	struct gp_heap_file *file;
};

enum { BACK_UNTOUCHED, BACK_FILE, BACK_ANON };

struct back_chunk {
	uint8_t kind;
	bool sum_known;
	uint64_t sum;                   /* gp_checksum of its file image */
	uint32_t n, cap;
	struct piece *pieces;
};

struct gp_heap_back {
	bool evict_anon;
	bool regroup;                   /* a chunk's kind or pieces changed since gp_heap_regroup */
	uint32_t last_reported;         /* the group gp_heap_back_reports last let through */
	struct back_chunk *chunks;      /* [n_chunks] */
	struct gp_heap_file **files;
	size_t n_files;
	struct gp_kernels *kernels;
	uint64_t word;                  /* the checksum kernel's running sum */
	uint64_t word_last;             /* its value after the previous checksum */
	struct gp_heap_back_stats st;
};

int gp_heap_back_enable(struct gp_model *m, bool evict_anon)
{
	struct gp_pager *p = m->pager;
	struct gp_heap_back *b = calloc(1, sizeof(*b));
	int err;

	if (!b)
		return gp_fail(GP_ENOMEM, "out of memory");
	b->evict_anon = evict_anon;
	b->last_reported = UINT32_MAX;
	b->chunks = calloc(m->n_chunks, sizeof(*b->chunks));
	if (!b->chunks) {
		err = gp_fail(GP_ENOMEM, "out of memory");
		goto fail;
	}
	err = gp_pinfo_kernels(p, &b->kernels);
	if (!err)
		err = gp_pager_alloc(p, sizeof(uint64_t), &b->word);
	if (!err)
		err = gp_copy_d2h(p->gpu, &b->word_last, b->word, sizeof(b->word_last),
				  p->own_stream);
	if (!err)
		err = gp_stream_sync(p->gpu, p->own_stream);
	if (err)
		goto fail;
	pthread_mutex_lock(&p->lock);
	m->back = b;
	pthread_mutex_unlock(&p->lock);
	return 0;
fail:
	if (b->word)
		gp_pager_free(p, b->word, NULL);
	free(b->chunks);
	free(b);
	return gp_fail_context(err, "%s: file-backed chunks", m->desc->source);
}

static void clear_pieces(struct back_chunk *bc, uint8_t kind)
{
	free(bc->pieces);
	bc->pieces = NULL;
	bc->n = bc->cap = 0;
	bc->kind = kind;
	bc->sum_known = false;
}

/* Chunk c holds other bytes now (lock held): its group may change. */
static void set_kind(struct gp_heap_back *b, uint32_t c, uint8_t kind)
{
	if (b->chunks[c].kind != kind)
		b->regroup = true;
	clear_pieces(&b->chunks[c], kind);
}

void gp_heap_back_free(struct gp_model *m)
{
	struct gp_heap_back *b = m->back;

	if (!b)
		return;
	pthread_mutex_lock(&m->pager->lock);
	m->back = NULL;
	pthread_mutex_unlock(&m->pager->lock);
	for (uint32_t c = 0; c < m->n_chunks; c++)
		free(b->chunks[c].pieces);
	for (size_t i = 0; i < b->n_files; i++) {
		gp_io_remove_file(m->pager->io, b->files[i]->io);
		close(b->files[i]->fd);
		gp_model_desc_free(b->files[i]->desc);
		free(b->files[i]);
	}
	gp_pager_free(m->pager, b->word, NULL);
	free(b->files);
	free(b->chunks);
	free(b);
}

static bool same_file(const struct gp_heap_file *f, const struct stat *st)
{
	return f->dev == st->st_dev && f->ino == st->st_ino && f->size == (uint64_t)st->st_size &&
	       f->mtime.tv_sec == st->st_mtim.tv_sec && f->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/*
 * The file's tensors and their groups (the model's own group detection), so
 * that chunks can be grouped by the tensors they hold.  Best effort: a file
 * whose header does not parse still backs its chunks, grouped alone.
 */
static void read_tensor_names(struct gp_heap_file *f, const char *path)
{
	if (gp_model_desc_open(path, &f->desc) || gp_model_group(f->desc, NULL)) {
		gp_log_info("%s: its tensor names are unknown (%s); the chunks it backs are "
			    "grouped alone", path, gp_last_error());
		gp_clear_error();
		gp_model_desc_free(f->desc);
		f->desc = NULL;
	}
}

/* Open our own descriptor of fd's file, which must be inode (dev, ino). */
static int file_open(struct gp_pager *p, int fd, uint64_t dev, uint64_t ino,
		     struct gp_heap_file **out)
{
	struct gp_heap_file *f = calloc(1, sizeof(*f));
	char path[64];
	struct stat st;
	int err;

	if (!f)
		return gp_fail(GP_ENOMEM, "out of memory");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0 || fstat(f->fd, &st) || st.st_dev != dev || st.st_ino != ino) {
		err = gp_fail(GP_ENOENT, "the file the app mapped is not at %s any more", path);
		goto fail;
	}
	f->dev = dev;
	f->ino = ino;
	f->size = (uint64_t)st.st_size;
	f->mtime = st.st_mtim;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", f->fd);
	err = gp_io_add_file(p->io, path, f->size, &f->io);
	if (err)
		goto fail;
	read_tensor_names(f, path);
	*out = f;
	return 0;
fail:
	if (f->fd >= 0)
		close(f->fd);
	free(f);
	return err;
}

int gp_heap_file_get(struct gp_model *m, int fd, uint64_t dev, uint64_t ino,
		     struct gp_heap_file **out)
{
	struct gp_pager *p = m->pager;
	struct gp_heap_back *b;
	struct gp_heap_file **grown;
	int err = 0;

	pthread_mutex_lock(&p->lock);
	b = m->back;
	if (!b) {
		err = gp_fail(GP_EINVAL, "%s: file backing is off", m->desc->source);
		goto out;
	}
	for (size_t i = 0; i < b->n_files; i++) {
		if (b->files[i]->dev == dev && b->files[i]->ino == ino) {
			*out = b->files[i];
			goto out;
		}
	}
	grown = realloc(b->files, (b->n_files + 1) * sizeof(*grown));
	if (!grown) {
		err = gp_fail(GP_ENOMEM, "out of memory");
		goto out;
	}
	b->files = grown;
	err = file_open(p, fd, dev, ino, out);
	if (!err)
		b->files[b->n_files++] = *out;
out:
	pthread_mutex_unlock(&p->lock);
	return err;
}

/* The bytes change: a cached host image of chunk c is stale (lock held). */
static void changed(struct gp_model *m, uint32_t c)
{
	gp_host_pool_drop(m->pager->host, m->host_owner, c);
	m->back->chunks[c].sum_known = false;
}

/* Record piece pc in bc; false when it overlaps another (the chunk is then anonymous). */
static bool add_piece(struct back_chunk *bc, struct piece pc, bool *added)
{
	*added = false;
	for (uint32_t i = 0; i < bc->n; i++) {
		const struct piece *o = &bc->pieces[i];

		/* The same bytes again from the same place: an app reloading its weights. */
		if (o->off == pc.off && o->len == pc.len && o->file == pc.file &&
		    o->file_off == pc.file_off)
			return true;
		if (pc.off < o->off + o->len && o->off < pc.off + pc.len)
			return false;   /* written twice: rare, and anonymous is always right */
	}
	if (bc->n == bc->cap) {
		uint32_t cap = bc->cap ? bc->cap * 2 : 4;
		struct piece *n = realloc(bc->pieces, cap * sizeof(*n));

		if (!n)
			return false;
		bc->pieces = n;
		bc->cap = cap;
	}
	bc->pieces[bc->n++] = pc;
	*added = true;
	return true;
}

void gp_heap_note_file(struct gp_model *m, uint64_t off, uint64_t len, struct gp_heap_file *file,
		       uint64_t file_off)
{
	struct gp_pager *p = m->pager;
	uint64_t cs = p->chunk_size;

	pthread_mutex_lock(&p->lock);
	for (uint64_t pos = off; m->back && pos < off + len;) {
		uint32_t c = (uint32_t)(pos / cs);
		uint64_t end = (uint64_t)(c + 1) * cs < off + len ? (uint64_t)(c + 1) * cs : off + len;
		struct back_chunk *bc = &m->back->chunks[c];
		struct piece pc = { pos - (uint64_t)c * cs, end - pos, file_off + (pos - off), file };
		bool added;

		if (bc->kind != BACK_ANON && add_piece(bc, pc, &added)) {
			if (added) {
				changed(m, c);
				bc->kind = BACK_FILE;
				m->back->regroup = true;
			}
		} else {
			changed(m, c);
			set_kind(m->back, c, BACK_ANON);
		}
		pos = end;
	}
	pthread_mutex_unlock(&p->lock);
}

void gp_heap_note_write(struct gp_model *m, uint64_t off, uint64_t len)
{
	struct gp_pager *p = m->pager;
	uint64_t cs = p->chunk_size;

	pthread_mutex_lock(&p->lock);
	for (uint64_t c = off / cs; m->back && len && c <= (off + len - 1) / cs; c++) {
		if (m->back->chunks[c].kind == BACK_ANON)
			continue;
		changed(m, (uint32_t)c);
		set_kind(m->back, (uint32_t)c, BACK_ANON);
	}
	pthread_mutex_unlock(&p->lock);
}

void gp_heap_back_get_stats(struct gp_model *m, struct gp_heap_back_stats *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&m->pager->lock);
	if (m->back) {
		*out = m->back->st;
		for (uint32_t c = 0; c < m->n_chunks; c++)
			out->file_chunks += m->back->chunks[c].kind == BACK_FILE;
	}
	pthread_mutex_unlock(&m->pager->lock);
}

bool gp_heap_back_is_file(const struct gp_model *m, uint32_t c)
{
	return m->back && m->back->chunks[c].kind == BACK_FILE;
}

/* The file is still the one the app mapped: same inode, size and mtime. */
static int file_check(const struct gp_heap_file *f)
{
	struct stat st;

	if (fstat(f->fd, &st) == 0 && same_file(f, &st))
		return 0;
	return gp_fail(GP_EIO, "%s: the .safetensors file the app loaded weights from was "
		       "changed in place since (size, mtime or inode): its bytes cannot be "
		       "re-read", gp_io_file_path(f->io));
}

int gp_heap_back_reads(struct gp_model *m, uint32_t c, uint8_t *image,
		       int (*add)(struct gp_io_req **, size_t *, size_t *, struct gp_io_req),
		       struct gp_io_req **reqs, size_t *n, size_t *cap, uint64_t *bytes)
{
	const struct back_chunk *bc = &m->back->chunks[c];
	int err = 0;

	memset(image, 0, m->pager->chunk_size);
	for (uint32_t i = 0; i < bc->n && !err; i++) {
		const struct piece *pc = &bc->pieces[i];

		err = file_check(pc->file);
		if (!err)
			err = add(reqs, n, cap, (struct gp_io_req){ pc->file->io, pc->file_off,
								    pc->len, image + pc->off, 0 });
		*bytes += pc->len;
	}
	return err;
}

void gp_heap_back_filled(struct gp_model *m, uint32_t c, const uint8_t *image)
{
	struct back_chunk *bc = &m->back->chunks[c];

	if (!bc->sum_known) {
		bc->sum = gp_checksum(image, m->pager->chunk_size);
		bc->sum_known = true;
	}
}

bool gp_heap_back_evictable(const struct gp_model *m, uint32_t c)
{
	return !m->back || m->back->evict_anon || m->back->chunks[c].kind == BACK_FILE;
}

/* Checksum of resident chunk c on the device (the GPU is past its last use). */
static int device_sum(struct gp_model *m, uint32_t c, uint64_t *out)
{
	struct gp_pager *p = m->pager;
	struct gp_heap_back *b = m->back;
	uint64_t word = 0;
	int err;

	err = gp_kernel_checksum(b->kernels, p->copy_stream,
				 m->range->base + (uint64_t)c * p->chunk_size, p->chunk_size, 0,
				 b->word);
	if (!err)
		err = gp_copy_d2h(p->gpu, &word, b->word, sizeof(word), p->copy_stream);
	if (!err)
		err = gp_stream_sync(p->gpu, p->copy_stream);
	if (err)
		return err;
	*out = word - b->word_last;
	b->word_last = word;
	return 0;
}

bool gp_heap_back_may_drop(struct gp_model *m, uint32_t c)
{
	struct back_chunk *bc;
	uint64_t got = 0;
	uint32_t slot;
	int err;

	if (!gp_heap_back_is_file(m, c))
		return false;
	bc = &m->back->chunks[c];
	if (!bc->sum_known) {
		/* The file image passes through the host tier once (and stays cached there). */
		err = gp_res_fill_host(m, &c, &slot, 1);
		if (!err)
			gp_host_pool_put(m->pager->host, slot);
		if (!err && !bc->sum_known)
			err = gp_fail(GP_EIO, "chunk %u: its host image has no file checksum", c);
		if (err)
			goto swap;
	}
	err = device_sum(m, c, &got);
	if (!err && got == bc->sum) {
		m->back->st.dropped++;
		gp_stats_add(m->pager->stats, GP_STAT_WEIGHTS_DROPPED, 1);
		return true;
	}
	if (!err) {
		m->back->st.written++;
		gp_stats_add(m->pager->stats, GP_STAT_WEIGHTS_WRITTEN, 1);
	}
swap:
	if (err) {
		gp_log_warn("%s: chunk %u cannot be proved unchanged (%s); swapped instead",
			    m->desc->source, c, gp_last_error());
		gp_clear_error();
	}
	changed(m, c);
	set_kind(m->back, c, BACK_ANON);
	return false;
}

void gp_heap_back_reset(struct gp_model *m, uint32_t c)
{
	if (m->back)
		set_kind(m->back, c, BACK_UNTOUCHED);
}

/* The tensor of f holding byte file_off, or NULL (header, padding, unknown names). */
static const struct gp_st_tensor *tensor_at(const struct gp_heap_file *f, uint64_t file_off)
{
	const struct gp_model_desc *d = f->desc;
	uint32_t lo = 0, hi = d ? d->n_tensors : 0;

	/* Tensors are in file order: the last one starting at or before file_off. */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (d->tensors[mid].file_offset <= file_off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || file_off >= d->tensors[lo - 1].file_offset + d->tensors[lo - 1].nbytes)
		return NULL;
	return &d->tensors[lo - 1];
}

/* The group of the tensor holding a piece's byte at k, or NULL. */
static const struct gp_group *group_at(const struct piece *pc, uint64_t k)
{
	const struct gp_st_tensor *t = tensor_at(pc->file, pc->file_off + k);

	return t ? &pc->file->desc->groups[t->group] : NULL;
}

const struct gp_group *gp_heap_back_group(const struct gp_model *m, uint32_t c)
{
	const struct gp_group *group = NULL;
	const struct back_chunk *bc;

	if (!gp_heap_back_is_file(m, c))
		return NULL;
	bc = &m->back->chunks[c];
	/* Every piece's first and last byte in one group: a copy spanning groups mixes them. */
	for (uint32_t i = 0; i < bc->n; i++) {
		const struct gp_group *a = group_at(&bc->pieces[i], 0);
		const struct gp_group *b = group_at(&bc->pieces[i], bc->pieces[i].len - 1);

		if (!a || !b || strcmp(a->name, b->name) || (group && strcmp(group->name, a->name)))
			return NULL;
		group = a;
	}
	return group;
}

bool gp_heap_back_take_regroup(struct gp_model *m)
{
	bool was = m->back && m->back->regroup;

	if (was) {
		m->back->regroup = false;
		m->back->last_reported = UINT32_MAX;
	}
	return was;
}

bool gp_heap_back_reports(struct gp_model *m, uint32_t group)
{
	struct gp_heap_back *b = m->back;
	uint32_t c;

	if (!b)
		return true;
	if (group == b->last_reported)
		return false;
	if (!b->evict_anon) {
		/* Only file-backed chunks can go: the rest is no part of the order to learn. */
		c = m->group_first_chunk[group];
		if (b->chunks[c].kind != BACK_FILE)
			return false;
	}
	b->last_reported = group;
	return true;
}
