/*
 * verify.c - a model's bytes on the device against its files: the checksum
 * kernel adds each tensor's checksum to that tensor's result word in device
 * memory; collect copies the words back and compares their change since
 * the previous collect with the file checksums (times the number of
 * checksums queued), so the words are never reset and nothing waits while
 * a step is queued.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "abi.h"
#include "error.h"
#include "kernels.h"
#include "pager.h"

struct gp_verify {
	pthread_mutex_t lock;
	uint64_t words;                 /* device: one word per tensor (0: not made yet) */
	uint64_t *pinned;               /* registered host copy of the words */
	uint64_t *base;                 /* the words at the last collect */
	uint32_t *queued;               /* checksums queued per tensor since then */
	uint64_t *expected;             /* per tensor, from the files; NULL until prepared */
};

static pthread_mutex_t verify_create_lock = PTHREAD_MUTEX_INITIALIZER;

static int need_pager(const struct gp_model *m, const char *call)
{
	if (!m)
		return gp_fail(GP_EINVAL, "%s: model is NULL", call);
	if (!m->pager)
		return gp_fail(GP_ESTATE, "%s: %s was opened without a pager (a description only); "
			       "open it with gp_model_open(pager, ...) to use the device", call,
			       m->desc->source);
	return 0;
}

static int state_get(struct gp_model *m, struct gp_verify **out)
{
	struct gp_verify *v;
	int err = 0;

	pthread_mutex_lock(&verify_create_lock);
	v = m->verify;
	if (!v) {
		v = calloc(1, sizeof(*v));
		if (v) {
			pthread_mutex_init(&v->lock, NULL);
			m->verify = v;
		} else {
			err = gp_fail(GP_ENOMEM, "%s: out of memory for verification", m->desc->source);
		}
	}
	pthread_mutex_unlock(&verify_create_lock);
	*out = v;
	return err;
}

/* The result words in device memory and their starting values (v->lock held). */
static int device_init(struct gp_model *m, struct gp_verify *v)
{
	struct gp_pager *p = m->pager;
	uint32_t n = m->desc->n_tensors ? m->desc->n_tensors : 1;
	size_t bytes = sizeof(uint64_t) * n;
	int err;

	if (v->words)
		return 0;
	v->base = calloc(n, sizeof(*v->base));
	v->queued = calloc(n, sizeof(*v->queued));
	if (posix_memalign((void **)&v->pinned, 4096, bytes))
		v->pinned = NULL;
	if (!v->base || !v->queued || !v->pinned) {
		err = gp_fail(GP_ENOMEM, "%s: out of memory for verification", m->desc->source);
		goto fail;
	}
	err = gp_gpu_host_register(p->gpu, v->pinned, bytes);
	if (err)
		goto fail_free;
	err = gp_pager_alloc(p, bytes, &v->words);
	if (!err)
		err = gp_copy_d2h(p->gpu, v->pinned, v->words, bytes, p->own_stream);
	if (!err)
		err = gp_stream_sync(p->gpu, p->own_stream);
	if (err) {
		if (v->words)
			gp_pager_free(p, v->words, NULL);
		v->words = 0;
		gp_gpu_host_unregister(p->gpu, v->pinned);
		goto fail_free;
	}
	memcpy(v->base, v->pinned, bytes);
	return 0;
fail_free:
	gp_fail_context(err, "%s: verification's result words", m->desc->source);
fail:
	free(v->base);
	free(v->queued);
	free(v->pinned);
	v->base = v->pinned = NULL;
	v->queued = NULL;
	return err;
}

/* Every tensor's checksum, read from the files with mmap (v->lock held). */
static int expected_init(struct gp_model *m, struct gp_verify *v)
{
	const struct gp_model_desc *d = m->desc;
	uint64_t *expected;

	if (v->expected)
		return 0;
	expected = calloc(d->n_tensors ? d->n_tensors : 1, sizeof(*expected));
	if (!expected)
		return gp_fail(GP_ENOMEM, "%s: out of memory", d->source);
	for (uint32_t f = 0; f < d->n_files; f++) {
		int fd = open(d->files[f].path, O_RDONLY | O_CLOEXEC);
		void *map;

		if (fd < 0) {
			free(expected);
			return gp_fail(GP_EIO, "%s: %s", d->files[f].path, strerror(errno));
		}
		map = mmap(NULL, d->files[f].size, PROT_READ, MAP_PRIVATE, fd, 0);
		close(fd);
		if (map == MAP_FAILED) {
			free(expected);
			return gp_fail(GP_EIO, "%s: mmap: %s", d->files[f].path, strerror(errno));
		}
		madvise(map, d->files[f].size, MADV_SEQUENTIAL);
		for (uint32_t t = 0; t < d->n_tensors; t++)
			if (d->tensors[t].file == f)
				expected[t] = gp_checksum((const uint8_t *)map +
							  d->tensors[t].file_offset,
							  d->tensors[t].nbytes);
		munmap(map, d->files[f].size);
	}
	v->expected = expected;
	return 0;
}

GP_API int gp_model_verify_prepare(struct gp_model *m)
{
	struct gp_verify *v;
	int err = need_pager(m, "gp_model_verify_prepare");

	if (!err)
		err = state_get(m, &v);
	if (err)
		return err;
	pthread_mutex_lock(&v->lock);
	err = expected_init(m, v);
	if (!err)
		err = device_init(m, v);
	pthread_mutex_unlock(&v->lock);
	return err;
}

GP_API int gp_model_verify_group(struct gp_model *m, uint32_t group, gp_stream_t stream)
{
	const struct gp_group *grp;
	struct gp_kernels *k;
	struct gp_verify *v;
	uint64_t base;
	CUstream s;
	int err = need_pager(m, "gp_model_verify_group");

	if (err)
		return err;
	if (group >= m->desc->n_groups)
		return gp_fail(GP_ENOENT, "gp_model_verify_group: %s: no group %u (the model has %u)",
			       m->desc->source, group, m->desc->n_groups);
	err = gp_pinfo_kernels(m->pager, &k);
	if (!err)
		err = state_get(m, &v);
	if (err)
		return err;
	grp = &m->desc->groups[group];
	base = gp_model_device_base(m);
	s = gp_pager_user_stream(m->pager, stream);
	pthread_mutex_lock(&v->lock);
	err = device_init(m, v);
	for (uint32_t i = 0; !err && i < grp->n_tensors; i++) {
		uint32_t t = grp->tensors[i];
		const struct gp_st_tensor *ten = &m->desc->tensors[t];

		if (!ten->nbytes)
			continue;
		err = gp_kernel_checksum(k, s, base + ten->range_offset, ten->nbytes, 0,
					 v->words + 8ull * t);
		if (!err)
			v->queued[t]++;
	}
	pthread_mutex_unlock(&v->lock);
	return err;
}

GP_API int gp_model_verify_collect(struct gp_model *m, gp_stream_t stream,
				   struct gp_verify_result *result)
{
	struct gp_verify_result full = { .struct_size = sizeof(full) };
	const struct gp_model_desc *d;
	struct gp_verify *v;
	CUstream s;
	int err = need_pager(m, "gp_model_verify_collect");

	if (!err && !result)
		err = gp_fail(GP_EINVAL, "gp_model_verify_collect: result is NULL");
	if (!err && result->struct_size < GP_ABI_V1(struct gp_verify_result, file_checksum))
		err = gp_fail(GP_EINVAL, "gp_model_verify_collect: result->struct_size %u is too "
			      "small: set it to sizeof(struct gp_verify_result)", result->struct_size);
	if (!err)
		err = state_get(m, &v);
	if (err)
		return err;
	d = m->desc;
	s = gp_pager_user_stream(m->pager, stream);
	pthread_mutex_lock(&v->lock);
	err = expected_init(m, v);
	if (!err)
		err = device_init(m, v);
	if (!err && d->n_tensors)
		err = gp_copy_d2h(m->pager->gpu, v->pinned, v->words,
				  sizeof(uint64_t) * d->n_tensors, s);
	if (!err)
		err = gp_stream_sync(m->pager->gpu, s);
	for (uint32_t t = 0; !err && t < d->n_tensors; t++) {
		uint64_t got = v->pinned[t] - v->base[t];
		uint64_t want = v->expected[t] * v->queued[t];

		v->base[t] = v->pinned[t];
		if (!v->queued[t])
			continue;
		full.tensors_checked += v->queued[t];
		v->queued[t] = 0;
		if (got == want)
			continue;
		if (!full.mismatches++) {
			full.first_mismatch = d->tensors[t].name;
			full.device_checksum = got;
			full.file_checksum = want;
		}
	}
	pthread_mutex_unlock(&v->lock);
	if (err)
		return err;
	return gp_abi_out(result, &full, sizeof(full),
			  GP_ABI_V1(struct gp_verify_result, file_checksum),
			  "gp_model_verify_collect");
}

void gp_verify_free(struct gp_model *m)
{
	struct gp_verify *v = m->verify;

	if (!v)
		return;
	if (v->words) {
		/* Checksums still queued must be done (collect or synchronize first). */
		gp_pager_free(m->pager, v->words, NULL);
		gp_gpu_host_unregister(m->pager->gpu, v->pinned);
	}
	free(v->pinned);
	free(v->base);
	free(v->queued);
	free(v->expected);
	pthread_mutex_destroy(&v->lock);
	free(v);
	m->verify = NULL;
}
