/*
 * libc_syms.c - glibc's own dlsym and dlvsym.  The shim defines both for
 * the whole process, so every way of asking the dynamic linker for them
 * (including a versioned reference from the shim itself) would find the
 * shim's again.  Instead, the definitions are read from libc.so.6's
 * dynamic symbol table, found through the dynamic linker's public link
 * map list (_r_debug): no GLIBC_PRIVATE symbol.
 *
 * This runs on the first dlsym in the process, which can be a sanitizer
 * runtime's own lookups before it is initialised: nothing here is
 * instrumented, and it calls no libc function (no locks: two threads
 * racing here find and store the same addresses).
 */
#include <elf.h>
#include <link.h>
#include <stdint.h>

#include "shim.h"

/* Walk the table of a link map's object for two function names. */
struct libc_find {
	const char *names[2];
	void *found[2];
};

SHIM_NO_SAN static bool same_name(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

/* path ends in "/libc.so.6" */
SHIM_NO_SAN static bool is_libc(const char *path)
{
	static const char tail[] = "/libc.so.6";
	size_t n = 0, t = sizeof(tail) - 1;

	if (!path)
		return false;
	while (path[n])
		n++;
	return n >= t && same_name(path + n - t, tail);
}

/* Symbols in a DT_GNU_HASH table: past the last bucket's chain end. */
SHIM_NO_SAN static uint32_t gnu_hash_symbols(const uint32_t *h)
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

/* glibc relocates the dynamic section's pointers in place; other loaders may not. */
SHIM_NO_SAN static const void *dyn_ptr(const struct link_map *l, ElfW(Addr) value)
{
	return (const void *)(value < l->l_addr ? l->l_addr + value : value);
}

SHIM_NO_SAN static void scan_object(const struct link_map *l, struct libc_find *f)
{
	const ElfW(Sym) *symtab = NULL;
	const char *strtab = NULL;
	const uint32_t *gnu_hash = NULL, *sysv_hash = NULL;
	uint32_t n_syms;

	for (const ElfW(Dyn) *d = l->l_ld; d && d->d_tag != DT_NULL; d++) {
		if (d->d_tag == DT_SYMTAB)
			symtab = dyn_ptr(l, d->d_un.d_ptr);
		else if (d->d_tag == DT_STRTAB)
			strtab = dyn_ptr(l, d->d_un.d_ptr);
		else if (d->d_tag == DT_GNU_HASH)
			gnu_hash = dyn_ptr(l, d->d_un.d_ptr);
		else if (d->d_tag == DT_HASH)
			sysv_hash = dyn_ptr(l, d->d_un.d_ptr);
	}
	if (!symtab || !strtab || (!gnu_hash && !sysv_hash))
		return;
	n_syms = sysv_hash ? sysv_hash[1] : gnu_hash_symbols(gnu_hash);
	for (uint32_t i = 0; i < n_syms; i++) {
		const ElfW(Sym) *s = &symtab[i];

		if (s->st_shndx == SHN_UNDEF || ELF64_ST_TYPE(s->st_info) != STT_FUNC)
			continue;
		for (int k = 0; k < 2; k++)
			if (!f->found[k] && same_name(strtab + s->st_name, f->names[k]))
				f->found[k] = (void *)(l->l_addr + s->st_value);
	}
}

SHIM_NO_SAN bool shim_libc_init(void)
{
	struct libc_find f = { { "dlsym", "dlvsym" }, { NULL, NULL } };

	if (__atomic_load_n(&shim_real.dlsym, __ATOMIC_ACQUIRE))
		return true;
	for (const struct link_map *l = _r_debug.r_map; l && !f.found[0]; l = l->l_next)
		if (is_libc(l->l_name))
			scan_object(l, &f);
	if (!f.found[0] || !f.found[1])
		return false;
	__atomic_store_n((void **)&shim_real.dlvsym, f.found[1], __ATOMIC_RELEASE);
	__atomic_store_n((void **)&shim_real.dlsym, f.found[0], __ATOMIC_RELEASE);
	return true;
}
