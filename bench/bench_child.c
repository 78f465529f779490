/*
 * bench_child.c - see bench_child.h.  Output goes to memfds rather than
 * pipes, so a chatty child cannot block on a full pipe while we wait.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_child.h"
#include "bench_util.h"
#include "error.h"

#define OUTPUT_MAX (1u << 20)

/* What the child wrote to fd, NUL-terminated, malloc'ed; NULL when out of memory. */
static char *slurp(int fd)
{
	char *buf = malloc(OUTPUT_MAX + 1);
	size_t len = 0;
	ssize_t n;

	if (!buf)
		return NULL;
	while (len < OUTPUT_MAX && (n = pread(fd, buf + len, OUTPUT_MAX - len, (off_t)len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	return buf;
}

int bench_child_run(char *const *argv, char *const *env, struct bench_child *c)
{
	int fd_out = memfd_create("gp-bench-out", MFD_CLOEXEC);
	int fd_err = memfd_create("gp-bench-err", MFD_CLOEXEC);
	double start = bench_now();
	pid_t pid;
	int rc = 0;

	*c = (struct bench_child){ .status = 0 };
	if (fd_out < 0 || fd_err < 0) {
		rc = gp_fail(GP_EIO, "memfd_create: %s", strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		rc = gp_fail(GP_EIO, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		if (dup2(fd_out, STDOUT_FILENO) < 0 || dup2(fd_err, STDERR_FILENO) < 0)
			_exit(127);
		for (char *const *e = env; e && *e; e++)
			if (putenv(*e))
				_exit(127);
		execv(argv[0], argv);
		fprintf(stderr, "%s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &c->status, 0) < 0) {
		if (errno != EINTR) {
			rc = gp_fail(GP_EIO, "waitpid: %s", strerror(errno));
			goto out;
		}
	}
	c->seconds = bench_now() - start;
	c->out = slurp(fd_out);
	c->err = slurp(fd_err);
	if (!c->out || !c->err)
		rc = gp_fail(GP_ENOMEM, "out of memory");
out:
	if (fd_out >= 0)
		close(fd_out);
	if (fd_err >= 0)
		close(fd_err);
	if (rc)
		bench_child_free(c);
	return rc;
}

void bench_child_free(struct bench_child *c)
{
	free(c->out);
	free(c->err);
	c->out = c->err = NULL;
}

int bench_child_ok(const struct bench_child *c)
{
	return WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0;
}

int bench_child_failed(const struct bench_child *c, const char *what, const char *prefix)
{
	const char *msg = c->err ? c->err : "";
	size_t len;

	if (prefix && !strncmp(msg, prefix, strlen(prefix)) && !strncmp(msg + strlen(prefix), ": ", 2))
		msg += strlen(prefix) + 2;
	len = strcspn(msg, "\n");
	if (WIFSIGNALED(c->status))
		return gp_fail(GP_EIO, "%s: killed by signal %d", what, WTERMSIG(c->status));
	if (len)
		return gp_fail(GP_EIO, "%s: %.*s", what, (int)len, msg);
	return gp_fail(GP_EIO, "%s: exit status %d", what, WEXITSTATUS(c->status));
}

int bench_child_json(char *const *argv, char *const *env, const char *prefix, json_t **root)
{
	struct bench_child c;
	json_error_t jerr;
	int err;

	*root = NULL;
	err = bench_child_run(argv, env, &c);
	if (err)
		return err;
	if (!bench_child_ok(&c)) {
		err = bench_child_failed(&c, prefix, prefix);
	} else {
		*root = json_loads(c.out, 0, &jerr);
		if (!json_is_object(*root)) {
			json_decref(*root);
			*root = NULL;
			err = gp_fail(GP_EFORMAT, "%s --json: %s", prefix, jerr.text);
		}
	}
	bench_child_free(&c);
	return err;
}
