/* groups.c - `pagerstat --groups`: how much of each group of each model is resident. */
#include "pagerstat.h"

#define BAR_WIDTH 40

static void print_bar(FILE *out, uint32_t resident, uint32_t chunks)
{
	int fill = chunks ? (int)((uint64_t)resident * BAR_WIDTH / chunks) : 0;

	/* Anything resident shows at least one mark. */
	if (resident && !fill)
		fill = 1;
	fputc('[', out);
	for (int i = 0; i < BAR_WIDTH; i++)
		fputc(i < fill ? '#' : '.', out);
	fputc(']', out);
}

void ps_print_groups(FILE *out, const struct ps_sample *s)
{
	int shown = 0;

	for (uint32_t i = 0; i < s->proc.model_slots; i++) {
		struct gp_stats_model_info m = { .struct_size = sizeof(m) };

		if (gp_stats_snapshot_model(s->snap, i, &m))
			continue;
		fprintf(out, "model %u: %s: %u groups, %llu KiB chunks, %llu of %llu chunks resident "
			     "(%.1f%%)\n", i, m.name, m.n_groups,
			(unsigned long long)(m.chunk_size / 1024), (unsigned long long)m.resident,
			(unsigned long long)m.chunks,
			m.chunks ? 100.0 * (double)m.resident / (double)m.chunks : 0.0);
		for (uint32_t g = 0; g < m.n_groups; g++) {
			uint32_t chunks = 0, resident = 0;

			gp_stats_snapshot_group(s->snap, i, g, &chunks, &resident);
			fprintf(out, "  group %4u ", g);
			print_bar(out, resident, chunks);
			fprintf(out, " %6u/%-6u %5.1f%%\n", resident, chunks,
				chunks ? 100.0 * resident / chunks : 0.0);
		}
		shown++;
	}
	if (!shown)
		fprintf(out, "process %d has no model open\n", s->proc.pid);
	fprintf(out, "\n");
}
