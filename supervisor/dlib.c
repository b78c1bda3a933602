/* dlib.c: a library's functions looked up into a table (see dlib.h). */
#include "dlib.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

void *dlib_load(const char *soname, const char *package, const struct dlib_symbol *symbols,
		size_t n, void *table, char *why, size_t size)
{
	void *lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

	if (!lib) {
		snprintf(why,
			 size,
			 "cannot load %s (install the Debian package %s): %s",
			 soname,
			 package,
			 dlerror());
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		void *f = dlsym(lib, symbols[i].name);

		if (!f) {
			snprintf(why,
				 size,
				 "%s lacks %s (install the Debian package %s)",
				 soname,
				 symbols[i].name,
				 package);
			dlclose(lib);
			return NULL;
		}
		memcpy((char *)table + symbols[i].offset, &f, sizeof(f));
	}
	return lib;
}
