/*
 * bench_peers.h - `gpupager bench load --peers`: the loaders users would
 * pick instead, run by tools/bench/peers/peer_load.py in the Python given
 * with --python, one process per run, on the model's files.
 */
#ifndef GP_TOOLS_BENCH_PEERS_H
#define GP_TOOLS_BENCH_PEERS_H

#include <stdbool.h>

#include "bench_cmd.h"

/* Run:ai default and 16-way, fastsafetensors, safetensors; each also with --prealloc. */
#define BENCH_N_PEERS 8

struct bench_peer {
	const char *name;       /* way name: "runai", "runai-c16+prealloc", ... */
	const char *method;     /* peer_load.py --method */
	const char *text;       /* for the table */
	unsigned concurrency;   /* 0: the peer's default */
	bool prealloc;
};

extern const struct bench_peer bench_peers[BENCH_N_PEERS];

/*
 * Whether peer's method runs in python: 0 (version filled), 1 when it
 * cannot be imported (why filled: the script's "skip: ..." line), or an
 * error code when the script could not be run at all.
 */
int bench_peer_probe(const char *python, const struct bench_peer *peer, char *version,
		     size_t version_len, char *why, size_t why_len);

/* One timed run of peer over desc's files into r (seconds, bytes, sum). */
int bench_peer_run(const char *python, const struct bench_peer *peer,
		   const struct gp_model_desc *desc, struct bench_run *r);

#endif
