/*
 * io_fault.c - injected EIO and short reads, applied at completion time
 * (io_fault.h): per reader for the reader's tests, and process-wide from
 * GPUPAGER_IO_FAIL for fault sweeps (testing only).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "io_fault.h"
#include "io_internal.h"

/* Read completions of every reader of the process, for GPUPAGER_IO_FAIL. */
static _Atomic uint64_t process_completions;

void gp_io_inject(struct gp_io *io, enum gp_io_fault kind, uint64_t after_n_requests,
		  uint64_t count)
{
	uint64_t from = atomic_load(&io->completions) + after_n_requests;

	atomic_store(&io->fault_to, 0);
	atomic_store(&io->fault_kind, kind);
	atomic_store(&io->fault_from, from);
	atomic_store(&io->fault_to, from + count);
}

static const struct gp_config *fault_config(void)
{
	const struct gp_config *cfg;

	return gp_config_get(&cfg) == 0 ? cfg : NULL;
}

/* One line appended to GPUPAGER_FAULT_LOG (no allocation: it may be an injected one). */
static void fault_log(const struct gp_config *cfg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fault_log(const struct gp_config *cfg, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int fd, len;

	if (!cfg || !cfg->fault_log)
		return;
	va_start(ap, fmt);
	len = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fd = open(cfg->fault_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, line, (size_t)len) != len)
		len = -1;
	close(fd);
}

/* Mangle a completion into a short one: half its bytes, the rest overwritten. */
static int64_t cut_short(int64_t res, char *buf, uint64_t asked)
{
	int64_t cut;

	if (res < 2 || (uint64_t)res > asked)
		return res;
	cut = res / 2;
	memset(buf + cut, 0xa5, res - cut);
	return cut;
}

static int64_t process_fault(int64_t res, char *buf, uint64_t asked)
{
	const struct gp_config *cfg = fault_config();
	uint64_t n;

	if (!cfg || (cfg->io_fail_kind == GP_IO_FAIL_NONE && !cfg->fault_log))
		return res;
	n = atomic_fetch_add(&process_completions, 1) + 1;
	if (cfg->io_fail_kind == GP_IO_FAIL_NONE || n != cfg->io_fail_n)
		return res;
	if (cfg->io_fail_kind == GP_IO_FAIL_EIO) {
		fault_log(cfg, "io fired eio:%llu\n", (unsigned long long)n);
		return -EIO;
	}
	fault_log(cfg, "io fired short:%llu\n", (unsigned long long)n);
	return cut_short(res, buf, asked);
}

int64_t gp_io_fault_apply(struct gp_io *io, int64_t res, char *buf, uint64_t asked)
{
	uint64_t n = atomic_fetch_add(&io->completions, 1);

	res = process_fault(res, buf, asked);
	if (n < atomic_load(&io->fault_from) || n >= atomic_load(&io->fault_to))
		return res;
	if (atomic_load(&io->fault_kind) == GP_IO_FAULT_EIO)
		return -EIO;
	return cut_short(res, buf, asked);
}

/* The count a sweep needs to know where to stop. */
__attribute__((destructor)) static void report_completions(void)
{
	uint64_t n = atomic_load(&process_completions);

	if (n)
		fault_log(fault_config(), "io calls completions %llu\n", (unsigned long long)n);
}
