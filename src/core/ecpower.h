/*-------------------------------------------------------------------------
 *
 * ecpower.h
 *	  Shared definitions of the ecpower extension: store settings, the
 *	  store-local calendar, and money in int64 cents.
 *
 * Every date, month, weekday and hour ecpower reports is computed in the
 * store's time zone (ecpower.settings.store_timezone).  Money is carried as
 * int64 cents inside C code and converted to numeric only on output.
 *
 * src/core/ecpower.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ECPOWER_H
#define ECPOWER_H

#include "postgres.h"

#include "portability/instr_time.h"

#include "datatype/timestamp.h"
#include "pgtime.h"
#include "utils/date.h"
#include "access/tupdesc.h"
#include "utils/numeric.h"

/*
 * Store-local calendar: maps instants to local dates and back.
 *
 * midnights[i] is the UTC instant at which local date (first_day + i)
 * begins; the table grows on demand, so lookups are a subtraction, a
 * division and at most a step or two of adjustment.
 */
typedef struct EcpCalendar
{
	pg_tz	   *tz;
	char		tzname[TZ_STRLEN_MAX + 1];
	DateADT		first_day;		/* local date of midnights[0] */
	int			ndays;			/* number of days covered */
	TimestampTz *midnights;		/* ndays + 1 entries */
	MemoryContext mcxt;			/* where midnights lives */
} EcpCalendar;

/* store.c: settings */
extern char *ecp_store_timezone(void);
extern EcpCalendar *ecp_calendar_create(const char *tzname);
extern EcpCalendar *ecp_store_calendar(void);

/* store.c: calendar arithmetic */
extern DateADT ecp_local_date(EcpCalendar *cal, TimestampTz ts);
extern TimestampTz ecp_day_start(EcpCalendar *cal, DateADT day);
extern int	ecp_local_hour(EcpCalendar *cal, TimestampTz ts);
extern int	ecp_iso_weekday(DateADT day);	/* 1 = Monday .. 7 = Sunday */
extern DateADT ecp_month_start(DateADT day);
extern DateADT ecp_add_months(DateADT day, int months);
extern int	ecp_month_index(DateADT day);	/* year * 12 + month - 1 */
extern char *ecp_date_text(DateADT day);

/*
 * ecp_hash_int64
 *		splitmix64 finaliser: a well-mixed 32-bit hash of an int64 key, for
 *		the simplehash tables keyed on customer, order and product ids.
 */
static inline uint32
ecp_hash_int64(int64 v)
{
	uint64		h = (uint64) v;

	h ^= h >> 30;
	h *= UINT64CONST(0xbf58476d1ce4e5b9);
	h ^= h >> 27;
	h *= UINT64CONST(0x94d049bb133111eb);
	h ^= h >> 31;
	return (uint32) h;
}

/* store.c: catalog helpers */
extern Oid	ecp_relid(const char *relname);
extern AttrNumber ecp_column_attnum(TupleDesc desc, const char *name);

/* store.c: money */
extern int64 ecp_numeric_to_cents(Datum num);

/* log (DEBUG1) the time since *start as "what: phase took N s"; restart */
extern void ecp_phase_done(instr_time *start, const char *what, const char *phase);
extern Datum ecp_cents_to_numeric(int64 cents);

#endif							/* ECPOWER_H */
