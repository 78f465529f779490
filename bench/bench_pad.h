/*
 * bench_pad.h - `gpupager bench load --pad-header`: a scratch copy of a
 * model whose files' headers are padded with spaces to a 4 KiB boundary,
 * so that their tensor data starts aligned; the data is the same bytes.
 */
#ifndef GP_TOOLS_BENCH_PAD_H
#define GP_TOOLS_BENCH_PAD_H

#include "model.h"

#define BENCH_PAD_ALIGN 4096u

/*
 * Write the copy of desc in a new directory under parent; *dir is that
 * directory (for bench_pad_remove), *model what to open: the directory, or
 * the copied index or file when desc was opened from one.  Each file is
 * synced, so its pages can be dropped for cold runs.
 */
int bench_pad_model(const struct gp_model_desc *desc, const char *parent, char **dir, char **model);
/* Remove the copy's files and directory; frees dir. */
void bench_pad_remove(char *dir);

#endif
