/* stats_names.c - the counters' names, as pagerstat --json prints them. */
#include "stats.h"

#define NAME_ROW(id, name, doc) [GP_STAT_##id] = #name,
static const char *const counter_names[GP_STAT_COUNT] = { GP_STAT_COUNTER_LIST(NAME_ROW) };
#undef NAME_ROW

const char *gp_stat_counter_name(enum gp_stat_counter c)
{
	if ((unsigned)c >= GP_STAT_COUNT)
		return "unknown";
	return counter_names[c];
}
