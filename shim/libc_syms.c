/*
 * libc_syms.c - glibc's own dlsym and dlvsym.  The shim defines both for
 * the whole process, so every way of asking the dynamic linker for them
 * (including a versioned reference from the shim itself) would find the
 * shim's again.  Instead, the definitions are read from libc.so.6's
 * dynamic symbol table, found through dl_iterate_phdr: public interfaces
 * only, no GLIBC_PRIVATE symbol.
 */
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "shim.h"

struct libc_find {
	const char *names[2];
	void *found[2];
};

/* Symbols in a DT_GNU_HASH table: past the last bucket's chain end. */
static uint32_t gnu_hash_symbols(const uint32_t *h)
{
	uint32_t n_buckets = h[0], sym_offset = h[1], bloom_size = h[2];
	const uint32_t *buckets = h + 4 + bloom_size * (sizeof(ElfW(Addr)) / 4);
	const uint32_t *chain = buckets + n_buckets;
	uint32_t last = 0;

	for (uint32_t i = 0; i < n_buckets; i++)
		if (buckets[i] > last)
			last = buckets[i];
	if (last < sym_offset)
		return sym_offset;
	while (!(chain[last - sym_offset] & 1))
		last++;
	return last + 1;
}

/* The dynamic section's pointers are relocated to addresses on glibc (not on every libc). */
static const void *dyn_ptr(const struct dl_phdr_info *info, ElfW(Addr) value)
{
	return (const void *)(value < info->dlpi_addr ? info->dlpi_addr + value : value);
}

static int scan_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct libc_find *f = arg;
	const ElfW(Sym) *symtab = NULL;
	const char *strtab = NULL;
	const uint32_t *gnu_hash = NULL, *sysv_hash = NULL;
	const ElfW(Dyn) *dyn = NULL;
	uint32_t n_syms;

	(void)size;
	if (!info->dlpi_name || !strstr(info->dlpi_name, "/libc.so.6"))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
			dyn = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
	for (; dyn && dyn->d_tag != DT_NULL; dyn++) {
		if (dyn->d_tag == DT_SYMTAB)
			symtab = dyn_ptr(info, dyn->d_un.d_ptr);
		else if (dyn->d_tag == DT_STRTAB)
			strtab = dyn_ptr(info, dyn->d_un.d_ptr);
		else if (dyn->d_tag == DT_GNU_HASH)
			gnu_hash = dyn_ptr(info, dyn->d_un.d_ptr);
		else if (dyn->d_tag == DT_HASH)
			sysv_hash = dyn_ptr(info, dyn->d_un.d_ptr);
	}
	if (!symtab || !strtab || (!gnu_hash && !sysv_hash))
		return 0;
	n_syms = sysv_hash ? sysv_hash[1] : gnu_hash_symbols(gnu_hash);
	for (uint32_t i = 0; i < n_syms; i++) {
		const ElfW(Sym) *s = &symtab[i];

		if (s->st_shndx == SHN_UNDEF || ELF64_ST_TYPE(s->st_info) != STT_FUNC)
			continue;
		for (int k = 0; k < 2; k++)
			if (!f->found[k] && strcmp(strtab + s->st_name, f->names[k]) == 0)
				f->found[k] = (void *)(info->dlpi_addr + s->st_value);
	}
	return 1;
}

static pthread_once_t libc_once = PTHREAD_ONCE_INIT;
static bool libc_ok;

static void libc_load(void)
{
	struct libc_find f = { { "dlsym", "dlvsym" }, { NULL, NULL } };

	dl_iterate_phdr(scan_object, &f);
	libc_ok = f.found[0] && f.found[1];
	*(void **)&shim_real.dlsym = f.found[0];
	*(void **)&shim_real.dlvsym = f.found[1];
}

bool shim_libc_init(void)
{
	pthread_once(&libc_once, libc_load);
	return libc_ok;
}
