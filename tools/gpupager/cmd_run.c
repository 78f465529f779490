/* cmd_run.c - `gpupager run`: the main job (see run.h). */
#include <stdio.h>

#include "commands.h"
#include "run.h"

int cmd_run(int argc, char **argv)
{
	struct run_opts o;
	struct run_result r = { 0 };
	int rc = run_parse_args(argc, argv, &o);
	int err;

	if (rc)
		return rc < 0 ? 0 : rc;
	err = run_model(&o, &r);
	if (err) {
		fprintf(stderr, "gpupager run: %s\n", *run_error(&r) ? run_error(&r) : gp_strerror(err));
		run_result_free(&r);
		return 1;
	}
	run_report(&o, &r);
	rc = r.mismatches ? 1 : 0;
	if (rc)
		fprintf(stderr, "gpupager run: %llu of %llu tensor checksums differ from the files\n",
			(unsigned long long)r.mismatches, (unsigned long long)r.verified);
	run_result_free(&r);
	return rc;
}
