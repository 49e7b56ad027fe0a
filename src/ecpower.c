/*-------------------------------------------------------------------------
 *
 * ecpower.c
 *	  Module entry point of the ecpower extension.
 *
 * Each concept lives in its own file with its own header; _PG_init only
 * calls their initialisers.  Where to look:
 *
 *	store.c			settings, store-local calendar, money in cents
 *	demo.c			deterministic demo store generator
 *
 * src/ecpower.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

#include "ecpower.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * Module load callback
 */
void
_PG_init(void)
{
}
