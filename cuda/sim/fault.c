/*
 * fault.c - fault injection from GPUPAGER_SIM_FAIL.
 *
 *   spec  := rule { "," rule }
 *   rule  := NAME ":" when [ "=" ERROR ]
 *   when  := N        the Nth call of NAME fails (counting from 1)
 *          | N "+"    the Nth and every later call fails
 *          | P "%"    each call fails with probability P (0 < P <= 100)
 *
 * NAME is a driver function's base name (cuMemCreate, not cuMemCreate_v2),
 * any but those that work before cuInit (cuGetProcAddress, cuGetErrorName...);
 * ERROR is a CUresult name, by default CUDA_ERROR_OUT_OF_MEMORY for
 * functions that allocate and CUDA_ERROR_UNKNOWN for the rest.  Draws are
 * from a fixed-seed generator per rule, so runs are reproducible.  An
 * injected failure happens before the call does anything.
 *
 * With GPUPAGER_FAULT_LOG set (testing only), every fired rule appends
 * "sim fired NAME:N" to that file as it fires, and at exit one line
 * "sim calls NAME COUNT" per driver function called: a fault sweep learns
 * from a clean run which functions to fail, and from each faulted run
 * whether its Nth call was reached.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sim.h"

#define FAULT_NAME_MAX 64
/* More than the driver functions the simulator exports. */
#define FAULT_MAX_COUNTED 256

enum fault_when { FAULT_NTH, FAULT_FROM, FAULT_PERCENT };

struct fault_rule {
	char name[FAULT_NAME_MAX];
	enum fault_when when;
	uint64_t n;
	double percent;
	CUresult error;
	uint64_t calls;
	uint64_t rng;
};

static struct fault_rule *rules;
static size_t n_rules;
static pthread_mutex_t fault_lock = PTHREAD_MUTEX_INITIALIZER;

/* Calls per function (names are the entry points' literals), with GPUPAGER_FAULT_LOG. */
static struct {
	const char *name;
	uint64_t calls;
} counted[FAULT_MAX_COUNTED];
static size_t n_counted;
static const char *fault_log_path;

static const char accepted[] =
	"NAME:N, NAME:N+ or NAME:P%, each optionally =CUDA_ERROR_NAME, comma-separated";

static CUresult bad_spec(const char *spec, const char *rule, size_t len, const char *why)
{
	gp_log_error("GPUPAGER_SIM_FAIL='%s': rule '%.*s': %s; accepted: %s", spec, (int)len, rule,
		     why, accepted);
	return CUDA_ERROR_INVALID_VALUE;
}

static uint64_t name_hash(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 0x100000001b3ull;
	return h;
}

/* splitmix64: one step of the per-rule generator. */
static uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* "when" is the text between ':' and '=' (or the rule's end). */
static const char *parse_when(const char *text, size_t len, struct fault_rule *rule)
{
	char buf[32];
	char *end;

	if (len == 0 || len >= sizeof(buf))
		return "missing or overlong count";
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (buf[len - 1] == '%') {
		buf[len - 1] = '\0';
		errno = 0;
		rule->percent = strtod(buf, &end);
		if (errno || end == buf || *end || !(rule->percent > 0 && rule->percent <= 100))
			return "probability must be a number in (0, 100] followed by '%'";
		rule->when = FAULT_PERCENT;
		return NULL;
	}
	rule->when = FAULT_NTH;
	if (buf[len - 1] == '+') {
		buf[len - 1] = '\0';
		rule->when = FAULT_FROM;
	}
	if (buf[0] < '1' || buf[0] > '9')
		return "call number must be a positive integer";
	errno = 0;
	rule->n = strtoull(buf, &end, 10);
	if (errno || *end)
		return "call number must be a positive integer";
	return NULL;
}

static CUresult parse_rule(const char *spec, const char *text, size_t len, uint64_t seed,
			   struct fault_rule *rule)
{
	const char *colon = memchr(text, ':', len);
	const char *equals = memchr(text, '=', len);
	const char *when_end = equals ? equals : text + len;
	size_t name_len;
	unsigned flags;
	const char *why;

	memset(rule, 0, sizeof(*rule));
	if (!colon || colon > when_end)
		return bad_spec(spec, text, len, "expected NAME:WHEN");
	name_len = (size_t)(colon - text);
	if (name_len == 0 || name_len >= FAULT_NAME_MAX)
		return bad_spec(spec, text, len, "missing or overlong function name");
	memcpy(rule->name, text, name_len);
	if (!sim_proc_known(rule->name, &flags))
		return bad_spec(spec, text, len,
				"not a function of the simulated driver (use the base name, "
				"e.g. cuMemAlloc)");
	if (flags & SIM_PROC_NO_FAULTS)
		return bad_spec(spec, text, len, "this function works before cuInit and never fails");
	why = parse_when(colon + 1, (size_t)(when_end - colon - 1), rule);
	if (why)
		return bad_spec(spec, text, len, why);
	rule->error = (flags & SIM_PROC_ALLOCATES) ? CUDA_ERROR_OUT_OF_MEMORY : CUDA_ERROR_UNKNOWN;
	if (equals) {
		char error_name[FAULT_NAME_MAX];
		size_t error_len = (size_t)(text + len - equals - 1);

		if (error_len == 0 || error_len >= sizeof(error_name))
			return bad_spec(spec, text, len, "missing or overlong error name");
		memcpy(error_name, equals + 1, error_len);
		error_name[error_len] = '\0';
		if (!sim_error_by_name(error_name, &rule->error) || rule->error == CUDA_SUCCESS)
			return bad_spec(spec, text, len,
					"unknown error name (expected e.g. CUDA_ERROR_UNKNOWN)");
	}
	rule->rng = seed ^ name_hash(rule->name);
	return CUDA_SUCCESS;
}

CUresult sim_fault_setup(const char *spec, uint64_t seed)
{
	const char *p = spec;
	size_t count = 1;
	CUresult err;

	fault_log_path = sim_config() ? sim_config()->fault_log : NULL;
	if (!spec)
		return CUDA_SUCCESS;
	for (const char *c = spec; *c; c++)
		count += *c == ',';
	rules = calloc(count, sizeof(*rules));
	if (!rules)
		return CUDA_ERROR_OUT_OF_MEMORY;
	for (size_t i = 0; i < count; i++) {
		size_t len = strcspn(p, ",");

		err = parse_rule(spec, p, len, seed, &rules[i]);
		if (err)
			goto fail;
		p += len + 1;
	}
	n_rules = count;
	return CUDA_SUCCESS;
fail:
	free(rules);
	rules = NULL;
	return err;
}

static bool rule_fires(struct fault_rule *rule)
{
	uint64_t call = ++rule->calls;

	switch (rule->when) {
	case FAULT_NTH:
		return call == rule->n;
	case FAULT_FROM:
		return call >= rule->n;
	case FAULT_PERCENT:
		/* 53 random bits as a fraction in [0, 1). */
		return (double)(next_random(&rule->rng) >> 11) * 0x1p-53 * 100.0 < rule->percent;
	}
	return false;
}

/* Append one line to GPUPAGER_FAULT_LOG; no allocation (malloc may be failing too). */
static void fault_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void fault_log(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int fd, len;

	va_start(ap, fmt);
	len = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fd = open(fault_log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, line, (size_t)len) != len)
		len = -1;
	close(fd);
}

static void count_call(const char *func)
{
	size_t i;

	for (i = 0; i < n_counted; i++)
		if (counted[i].name == func || strcmp(counted[i].name, func) == 0)
			break;
	if (i == n_counted) {
		if (n_counted == FAULT_MAX_COUNTED)
			return;
		counted[n_counted++].name = func;
	}
	counted[i].calls++;
}

__attribute__((destructor)) static void report_calls(void)
{
	if (!fault_log_path)
		return;
	pthread_mutex_lock(&fault_lock);
	for (size_t i = 0; i < n_counted; i++)
		fault_log("sim calls %s %llu\n", counted[i].name,
			  (unsigned long long)counted[i].calls);
	pthread_mutex_unlock(&fault_lock);
}

CUresult sim_fault_check(const char *func)
{
	CUresult err = CUDA_SUCCESS;

	if (n_rules == 0 && !fault_log_path)
		return CUDA_SUCCESS;
	pthread_mutex_lock(&fault_lock);
	if (fault_log_path)
		count_call(func);
	for (size_t i = 0; i < n_rules; i++) {
		if (strcmp(rules[i].name, func) == 0 && rule_fires(&rules[i]) && !err) {
			err = rules[i].error;
			if (fault_log_path)
				fault_log("sim fired %s:%llu\n", func,
					  (unsigned long long)rules[i].calls);
		}
	}
	pthread_mutex_unlock(&fault_lock);
	if (err)
		gp_log_debug("simulated device: %s: injected fault (GPUPAGER_SIM_FAIL)", func);
	return err;
}
