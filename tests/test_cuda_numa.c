/* test_cuda_numa.c - the GPU's NUMA node from a fake sysfs tree, and its override. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cuda_env.h"

static char root[64];

static void make_root(void)
{
	strcpy(root, "/tmp/gp-numa-XXXXXX");
	cr_assert_not_null(mkdtemp(root));
}

static void remove_root(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(numa, .init = make_root, .fini = remove_root);

/* Create <root>/bus/pci/devices/<bus_id>/numa_node holding text. */
static void fake_device(const char *bus_id, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "mkdir -p '%s/bus/pci/devices/%s'", root, bus_id);
	cr_assert_eq(system(path), 0);
	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/numa_node", root, bus_id);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

Test(numa, reads_the_node_of_the_lower_cased_bus_id)
{
	int node = -7;

	fake_device("0000:3b:00.0", "1\n");
	fake_device("0000:5e:00.0", "0\n");
	/* The driver reports upper-case hex. */
	cr_assert_eq(gp_numa_node_lookup(root, "0000:3B:00.0", &node), 0, "%s", gp_last_error());
	cr_expect_eq(node, 1);
	cr_assert_eq(gp_numa_node_lookup(root, "0000:5E:00.0", &node), 0, "%s", gp_last_error());
	cr_expect_eq(node, 0);
}

Test(numa, minus_one_and_missing_mean_unknown)
{
	int node = 5;

	fake_device("0000:01:00.0", "-1\n");
	cr_assert_eq(gp_numa_node_lookup(root, "0000:01:00.0", &node), 0, "%s", gp_last_error());
	cr_expect_eq(node, -1);
	node = 5;
	cr_assert_eq(gp_numa_node_lookup(root, "0000:02:00.0", &node), 0, "%s", gp_last_error());
	cr_expect_eq(node, -1);
}

Test(numa, garbage_is_an_error_naming_the_file)
{
	static const char *bad[] = { "one\n", "", "2x\n", "-2\n", "99999\n" };
	int node;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fake_device("0000:03:00.0", bad[i]);
		cr_assert_eq(gp_numa_node_lookup(root, "0000:03:00.0", &node), GP_EFORMAT,
			     "'%s' accepted", bad[i]);
		cr_expect(strstr(gp_last_error(), "0000:03:00.0/numa_node"), "%s",
			  gp_last_error());
	}
}

Test(numa, bus_id_cannot_escape_the_tree)
{
	int node;

	cr_expect_eq(gp_numa_node_lookup(root, "../../../etc", &node), GP_EINVAL);
	cr_expect(strstr(gp_last_error(), "invalid PCI bus id"), "%s", gp_last_error());
	cr_expect_eq(gp_numa_node_lookup(root, "", &node), GP_EINVAL);
}

Test(numa, environment_overrides_sysfs)
{
	struct gp_gpu *gpu;

	gp_test_cuda_env();
	setenv("GPUPAGER_NUMA_NODE", "3", 1);
	gpu = gp_test_gpu_open();
	cr_expect_eq(gpu->numa_node, 3);
	gp_gpu_close(gpu);
}

Test(numa, device_node_comes_from_sysfs_by_default)
{
	struct gp_gpu *gpu;
	int node;

	gp_test_cuda_env();
	unsetenv("GPUPAGER_NUMA_NODE");
	gpu = gp_test_gpu_open();
	cr_assert_eq(gp_numa_node_lookup("/sys", gpu->pci_bus_id, &node), 0, "%s",
		     gp_last_error());
	cr_expect_eq(gpu->numa_node, node, "device %s: node %d, sysfs says %d", gpu->pci_bus_id,
		     gpu->numa_node, node);
	gp_gpu_close(gpu);
}
