/* numa.c - the NUMA node of a PCI device, from sysfs. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gpu.h"

static int parse_node(const char *path, const char *text, int *node)
{
	char *end;
	long value;

	errno = 0;
	value = strtol(text, &end, 10);
	while (isspace((unsigned char)*end))
		end++;
	if (errno || end == text || *end || value < -1 || value > 4095)
		return gp_fail(GP_EFORMAT, "%s: '%.32s' is not a NUMA node number", path, text);
	*node = (int)value;
	return 0;
}

int gp_numa_node_lookup(const char *sysfs_root, const char *bus_id, int *node)
{
	char path[512], text[64];
	size_t n, len;
	FILE *f;
	int err;

	n = (size_t)snprintf(path, sizeof(path), "%s/bus/pci/devices/", sysfs_root);
	len = strlen(bus_id);
	if (len == 0 || n + len + sizeof("/numa_node") > sizeof(path) || strchr(bus_id, '/'))
		return gp_fail(GP_EINVAL, "invalid PCI bus id '%s'", bus_id);
	/* The driver reports upper-case hex ("0000:3B:00.0"); sysfs names are lower case. */
	for (size_t i = 0; i < len; i++)
		path[n + i] = (char)tolower((unsigned char)bus_id[i]);
	strcpy(path + n + len, "/numa_node");

	*node = -1;
	f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		return gp_fail(GP_EIO, "%s: %s", path, strerror(errno));
	}
	if (!fgets(text, sizeof(text), f))
		err = gp_fail(GP_EFORMAT, "%s: empty", path);
	else
		err = parse_node(path, text, node);
	fclose(f);
	return err;
}
