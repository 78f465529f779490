/*
 * io_queue.c - the queue of pieces between gp_io_read and the I/O
 * threads, and the threads' NUMA placement.
 */
#include <numa.h>

#include "io_internal.h"
#include "log.h"

void gp_io_queue_push(struct gp_io *io, struct gp_io_piece *head, struct gp_io_piece *tail)
{
	tail->next = NULL;
	pthread_mutex_lock(&io->qlock);
	if (io->qtail)
		io->qtail->next = head;
	else
		io->qhead = head;
	io->qtail = tail;
	pthread_cond_broadcast(&io->qcond);
	pthread_mutex_unlock(&io->qlock);
}

struct gp_io_piece *gp_io_queue_take(struct gp_io *io, unsigned max, int wait, unsigned *n)
{
	struct gp_io_piece *head, *last;
	unsigned k = 1;

	*n = 0;
	pthread_mutex_lock(&io->qlock);
	while (wait && !io->qhead && !io->stopping)
		pthread_cond_wait(&io->qcond, &io->qlock);
	head = io->qhead;
	if (head) {
		for (last = head; k < max && last->next; k++)
			last = last->next;
		io->qhead = last->next;
		if (!io->qhead)
			io->qtail = NULL;
		last->next = NULL;
		*n = k;
	}
	pthread_mutex_unlock(&io->qlock);
	return head;
}

void gp_io_bind_thread(const struct gp_io *io)
{
	if (io->numa_node < 0)
		return;
	if (numa_available() < 0 || io->numa_node > numa_max_node() ||
	    numa_run_on_node(io->numa_node)) {
		gp_log_debug("io: cannot run I/O threads on NUMA node %d, running anywhere",
			     io->numa_node);
	}
}
