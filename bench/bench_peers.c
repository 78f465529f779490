/* bench_peers.c - peer loaders of `gpupager bench load --peers` (tools/bench/peers/peer_load.py). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "bench_peers.h"
#include "error.h"

#define SCRIPT GP_SOURCE_DIR "/tools/bench/peers/peer_load.py"
#define LIB GP_BUILD_DIR "/lib/libgpupager.so"
#define OUT_MAX (64u << 10)

const struct bench_peer bench_peers[BENCH_N_PEERS] = {
	{ "runai", "runai", "Run:ai streamer", 0, false },
	{ "runai-c16", "runai", "Run:ai streamer, 16-way", 16, false },
	{ "fastsafetensors", "fastsafetensors", "fastsafetensors (no GDS)", 0, false },
	{ "safetensors", "safetensors", "safetensors safe_open+clone", 0, false },
	{ "runai+prealloc", "runai", "Run:ai, dest. before timer", 0, true },
	{ "runai-c16+prealloc", "runai", "Run:ai 16-way, dest. before", 16, true },
	{ "fastsafetensors+prealloc", "fastsafetensors", "fastsafetensors, dest. before", 0, true },
	{ "safetensors+prealloc", "safetensors", "safetensors, dest. before", 0, true },
};

struct child_out {
	char out[OUT_MAX];
	char err[OUT_MAX];
	int status;             /* exit status, or -1 when it did not exit */
};

/* Read fd to its end into buf (cut at len - 1 bytes, NUL-terminated). */
static void drain(int fd, char *buf, size_t len)
{
	size_t at = 0;
	ssize_t n;
	char sink[4096];

	while ((n = read(fd, at + 1 < len ? buf + at : sink,
			 at + 1 < len ? len - 1 - at : sizeof(sink))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (at + 1 < len)
			at += (size_t)n;
	}
	buf[at] = 0;
}

/* Run argv, stdout collected through a pipe, stderr through a file (no pipe to fill up). */
static int run_child(char *const argv[], struct child_out *c)
{
	FILE *err = tmpfile();
	int out[2], st;
	pid_t pid;
	size_t n;

	if (!err)
		return gp_fail(GP_EIO, "tmpfile: %s", strerror(errno));
	if (pipe(out)) {
		fclose(err);
		return gp_fail(GP_EIO, "pipe: %s", strerror(errno));
	}
	pid = fork();
	if (pid < 0) {
		close(out[0]);
		close(out[1]);
		fclose(err);
		return gp_fail(GP_EIO, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(fileno(err), 2);
		close(out[0]);
		execv(argv[0], argv);
		fprintf(stderr, "%s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(out[1]);
	drain(out[0], c->out, sizeof(c->out));
	close(out[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	c->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	rewind(err);
	n = fread(c->err, 1, sizeof(c->err) - 1, err);
	c->err[n] = 0;
	fclose(err);
	return 0;
}

/* The last line of text (trailing newlines dropped), in place. */
static const char *last_line(char *text)
{
	size_t n = strlen(text);
	char *nl;

	while (n && text[n - 1] == '\n')
		text[--n] = 0;
	nl = strrchr(text, '\n');
	return nl ? nl + 1 : text;
}

int bench_peer_probe(const char *python, const struct bench_peer *peer, char *version,
		     size_t version_len, char *why, size_t why_len)
{
	char *argv[] = { (char *)python, SCRIPT, "--probe", (char *)peer->method, NULL };
	struct child_out *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return gp_fail(GP_ENOMEM, "out of memory");
	err = run_child(argv, c);
	if (!err && c->status == 0) {
		snprintf(version, version_len, "%s", last_line(c->out));
	} else if (!err && c->status == 3) {
		snprintf(why, why_len, "%s", last_line(c->err));
		err = 1;
	} else if (!err) {
		err = gp_fail(GP_EIO, "%s %s --probe %s: exit %d: %s", python, SCRIPT, peer->method,
			      c->status, last_line(c->err));
	}
	free(c);
	return err;
}

int bench_peer_run(const char *python, const struct bench_peer *peer,
		   const struct gp_model_desc *desc, struct bench_run *r)
{
	char conc[16], **argv = calloc(desc->n_files + 10, sizeof(*argv));
	struct child_out *c = calloc(1, sizeof(*c));
	const char *hex;
	json_t *root;
	size_t n = 0;
	int err;

	if (!c || !argv) {
		free(c);
		free(argv);
		return gp_fail(GP_ENOMEM, "out of memory");
	}
	snprintf(conc, sizeof(conc), "%u", peer->concurrency);
	argv[n++] = (char *)python;
	argv[n++] = SCRIPT;
	argv[n++] = "--method";
	argv[n++] = (char *)peer->method;
	argv[n++] = "--concurrency";
	argv[n++] = conc;
	argv[n++] = "--lib";
	argv[n++] = LIB;
	if (peer->prealloc)
		argv[n++] = "--prealloc";
	for (uint32_t k = 0; k < desc->n_files; k++)
		argv[n++] = desc->files[k].path;
	argv[n] = NULL;
	err = run_child(argv, c);
	free(argv);
	if (!err && c->status != 0)
		err = gp_fail(GP_EIO, "%s: exit %d: %s", peer->name, c->status, last_line(c->err));
	if (err) {
		free(c);
		return err;
	}
	root = json_loads(last_line(c->out), 0, NULL);
	hex = root ? json_string_value(json_object_get(root, "checksum")) : NULL;
	if (!hex || !json_is_number(json_object_get(root, "seconds"))) {
		err = gp_fail(GP_EIO, "%s: unexpected output '%s'", peer->name, last_line(c->out));
	} else {
		r->seconds = json_number_value(json_object_get(root, "seconds"));
		r->bytes = (uint64_t)json_integer_value(json_object_get(root, "bytes"));
		r->sum = strtoull(hex, NULL, 16);
	}
	json_decref(root);
	free(c);
	return err;
}
