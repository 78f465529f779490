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
	const struct gp_stats_segment *seg = &s->seg;
	int shown = 0;

	for (uint32_t i = 0; i < seg->n_models; i++) {
		const struct gp_stats_model *m = &seg->models[i];
		uint64_t chunks, resident;

		if (!m->name[0])
			continue;
		ps_model_totals(m, &chunks, &resident);
		fprintf(out, "model %u: %s: %u groups, %u KiB chunks, %llu of %llu chunks resident "
			     "(%.1f%%)\n", i, m->name, m->n_groups, m->chunk_size_kib,
			(unsigned long long)resident, (unsigned long long)chunks,
			chunks ? 100.0 * (double)resident / (double)chunks : 0.0);
		for (uint32_t g = 0; g < m->n_groups; g++) {
			fprintf(out, "  group %4u ", g);
			print_bar(out, m->group_resident[g], m->group_chunks[g]);
			fprintf(out, " %6u/%-6u %5.1f%%\n", m->group_resident[g], m->group_chunks[g],
				m->group_chunks[g] ?
				100.0 * m->group_resident[g] / m->group_chunks[g] : 0.0);
		}
		shown++;
	}
	if (!shown)
		fprintf(out, "process %d has no model open\n", seg->pid);
	fprintf(out, "\n");
}
