/*
 * timing.c - the copy-time model.
 *
 * A copy occupies a link for bytes / bandwidth: host-to-device and
 * device-to-host are separate links (PCIe is full duplex), each shared by
 * all streams, so two streams copying in the same direction share its
 * bandwidth as on real hardware.  Pageable host memory gets half of the
 * pinned rate (the driver stages it through a pinned buffer).
 */
#include <errno.h>
#include <time.h>

#include "sim.h"

/* Copies inside device memory and memsets (HBM-class speed). */
#define SIM_D2D_GBPS 1000.0

enum sim_link { LINK_H2D, LINK_D2H, LINK_COUNT };

static pthread_mutex_t link_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t link_free_ns[LINK_COUNT];

uint64_t sim_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void sim_sleep_until(uint64_t deadline_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(deadline_ns / 1000000000ull),
		.tv_nsec = (long)(deadline_ns % 1000000000ull),
	};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static uint64_t duration_ns(size_t bytes, double gbps)
{
	/* GB/s is bytes per nanosecond. */
	return (uint64_t)((double)bytes / gbps);
}

uint64_t sim_link_book(enum sim_copy_kind kind, size_t bytes, uint64_t start_ns)
{
	double pinned_gbps = sim_config()->sim_h2d_gbps;
	enum sim_link link;
	double gbps;
	uint64_t end;

	switch (kind) {
	case SIM_COPY_H2D_PINNED:
		link = LINK_H2D;
		gbps = pinned_gbps;
		break;
	case SIM_COPY_H2D_PAGEABLE:
		link = LINK_H2D;
		gbps = pinned_gbps / 2;
		break;
	case SIM_COPY_D2H_PINNED:
		link = LINK_D2H;
		gbps = pinned_gbps;
		break;
	case SIM_COPY_D2H_PAGEABLE:
		link = LINK_D2H;
		gbps = pinned_gbps / 2;
		break;
	case SIM_COPY_D2D:
		return start_ns + duration_ns(bytes, SIM_D2D_GBPS);
	case SIM_COPY_H2H:
	default:
		/* Never crosses the bus: only the real memcpy time counts. */
		return start_ns;
	}
	pthread_mutex_lock(&link_lock);
	if (link_free_ns[link] > start_ns)
		start_ns = link_free_ns[link];
	end = start_ns + duration_ns(bytes, gbps);
	link_free_ns[link] = end;
	pthread_mutex_unlock(&link_lock);
	return end;
}
