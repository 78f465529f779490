/* cli_run.c - run a built program (gpupager, pagerstat) from a test and capture what it prints. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_run.h"

static char *read_all(FILE *f)
{
	long size;
	char *text;

	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	rewind(f);
	text = malloc((size_t)size + 1);
	cr_assert_not_null(text);
	cr_assert_eq(fread(text, 1, (size_t)size, f), (size_t)size);
	text[size] = '\0';
	fclose(f);
	return text;
}

struct gp_test_cli gp_test_cli_run(const char *const *args, rlim_t fsize_limit)
{
	return gp_test_cli_run_bin(GP_TEST_GPUPAGER, args, fsize_limit);
}

struct gp_test_cli gp_test_cli_run_bin(const char *bin, const char *const *args,
				       rlim_t fsize_limit)
{
	const char *argv[32] = { bin };
	FILE *out = tmpfile(), *err = tmpfile();
	struct gp_test_cli r;
	size_t n = 1;
	int wstatus;
	pid_t pid;

	cr_assert(out && err, "tmpfile: %s", strerror(errno));
	cr_assert_eq(access(bin, X_OK), 0, "%s not built: %s", bin, strerror(errno));
	for (; *args; args++) {
		cr_assert_lt(n, 31, "too many arguments");
		argv[n++] = *args;
	}
	argv[n] = NULL;
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (dup2(fileno(out), STDOUT_FILENO) < 0 || dup2(fileno(err), STDERR_FILENO) < 0)
			_exit(126);
		if (fsize_limit) {
			struct rlimit rl = { fsize_limit, fsize_limit };

			/* Writes past the limit then fail with EFBIG instead of killing the process. */
			signal(SIGXFSZ, SIG_IGN);
			setrlimit(RLIMIT_FSIZE, &rl);
		}
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	cr_assert_eq(waitpid(pid, &wstatus, 0), pid);
	r.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
	r.out = read_all(out);
	r.err = read_all(err);
	return r;
}

void gp_test_cli_free(struct gp_test_cli *r)
{
	free(r->out);
	free(r->err);
}
