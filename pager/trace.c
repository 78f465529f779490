/*
 * trace.c - the access trace: one text line per group access,
 *   "<ns since start> <model path> <group index> <group name> <offset> <length>"
 * after a "# gpupager trace v1" header.
 */
#include <errno.h>
#include <string.h>

#include "error.h"
#include "pager.h"

GP_API int gp_trace_start(struct gp_pager *p, const char *path)
{
	FILE *f;

	if (!p || !path)
		return gp_fail(GP_EINVAL, "gp_trace_start: NULL argument");
	f = fopen(path, "w");
	if (!f)
		return gp_fail(errno == ENOENT ? GP_ENOENT : GP_EIO, "%s: cannot write the trace: %s",
			       path, strerror(errno));
	fprintf(f, "# gpupager trace v1: ns model group name offset length\n");
	pthread_mutex_lock(&p->lock);
	if (p->trace) {
		pthread_mutex_unlock(&p->lock);
		fclose(f);
		return gp_fail(GP_ESTATE, "gp_trace_start: a trace is already being written");
	}
	p->trace = f;
	p->trace_start_ns = gp_now_ns();
	pthread_mutex_unlock(&p->lock);
	return 0;
}

GP_API int gp_trace_stop(struct gp_pager *p)
{
	FILE *f;

	if (!p)
		return gp_fail(GP_EINVAL, "gp_trace_stop: pager is NULL");
	pthread_mutex_lock(&p->lock);
	f = p->trace;
	p->trace = NULL;
	pthread_mutex_unlock(&p->lock);
	if (!f)
		return gp_fail(GP_ESTATE, "gp_trace_stop: no trace is being written");
	if (fclose(f))
		return gp_fail(GP_EIO, "trace: write failed: %s", strerror(errno));
	return 0;
}

void gp_trace_access(struct gp_model *m, uint32_t group, uint64_t offset, uint64_t len)
{
	struct gp_pager *p = m->pager;

	fprintf(p->trace, "%llu %s %u %s %llu %llu\n",
		(unsigned long long)(gp_now_ns() - p->trace_start_ns), m->desc->source, group,
		m->desc->groups[group].name, (unsigned long long)offset, (unsigned long long)len);
}
