/*-------------------------------------------------------------------------
 *
 * store.c
 *	  Store settings, the store-local calendar, and money in cents.
 *
 * Every date, day, month, weekday and hour is computed in the
 * store's time zone.  Converting 10 million order timestamps through
 * timestamp2tm() would cost seconds, so EcpCalendar keeps a table of the
 * UTC instants at which each local day begins and answers a lookup with a
 * division and at most a step of adjustment, whatever the DST rules.
 *
 * Money is int64 cents inside C.  ecp_numeric_to_cents() reads numeric's
 * on-disk format directly (the format is fixed by pg_upgrade compatibility)
 * because numeric arithmetic per row would dominate a scan.
 *
 * src/core/store.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "core/ecpower.h"

#include "catalog/namespace.h"
#include "common/int.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

/* days added on each side whenever the calendar table has to grow */
#define CALENDAR_GROW_DAYS	732

/*
 * ecp_store_timezone
 *		The store time zone from ecpower.settings ('UTC' when the settings
 *		row is missing), palloc'd in the caller's context.
 */
char *
ecp_store_timezone(void)
{
	MemoryContext caller = CurrentMemoryContext;
	char	   *result = NULL;
	int			ret;

	SPI_connect();
	ret = SPI_execute("SELECT store_timezone FROM ecpower.settings LIMIT 1",
					  true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read ecpower.settings: %s",
			 SPI_result_code_string(ret));
	if (SPI_processed == 1)
	{
		char	   *val = SPI_getvalue(SPI_tuptable->vals[0],
									   SPI_tuptable->tupdesc, 1);

		if (val != NULL)
			result = MemoryContextStrdup(caller, val);
	}
	SPI_finish();

	if (result == NULL)
		result = MemoryContextStrdup(caller, "UTC");
	return result;
}

/*
 * ecp_calendar_create
 *		A calendar for the named time zone, in the current memory context.
 *		An unknown zone is a user error (the settings row is user data).
 */
EcpCalendar *
ecp_calendar_create(const char *tzname)
{
	EcpCalendar *cal;
	pg_tz	   *tz;

	tz = pg_tzset(tzname);
	if (tz == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("store time zone \"%s\" is not recognized", tzname),
				 errhint("Set ecpower.settings.store_timezone to a name from pg_timezone_names.")));

	cal = palloc0(sizeof(EcpCalendar));
	cal->tz = tz;
	strlcpy(cal->tzname, tzname, sizeof(cal->tzname));
	cal->mcxt = CurrentMemoryContext;
	return cal;
}

/*
 * ecp_store_calendar
 *		Calendar of the store time zone.
 */
EcpCalendar *
ecp_store_calendar(void)
{
	return ecp_calendar_create(ecp_store_timezone());
}

/* UTC instant at which local date 'day' begins in 'tz' */
static TimestampTz
local_midnight(pg_tz *tz, DateADT day)
{
	struct pg_tm tm;
	int			tzoff;
	TimestampTz result;

	memset(&tm, 0, sizeof(tm));
	j2date(day + POSTGRES_EPOCH_JDATE, &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
	tzoff = DetermineTimeZoneOffset(&tm, tz);
	if (tm2timestamp(&tm, 0, &tzoff, &result) != 0 ||
		!IS_VALID_TIMESTAMP(result))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("date out of range for the store calendar")));
	return result;
}

/* make the table cover [lo, hi] (local dates), rebuilding it if needed */
static void
calendar_cover(EcpCalendar *cal, DateADT lo, DateADT hi)
{
	DateADT		first;
	DateADT		last;
	int			n;
	TimestampTz *m;

	if (cal->ndays > 0 && lo >= cal->first_day &&
		hi < cal->first_day + cal->ndays)
		return;

	if (lo < -POSTGRES_EPOCH_JDATE + 1 || hi > 2000000)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("date out of range for the store calendar")));

	first = lo - CALENDAR_GROW_DAYS;
	last = hi + CALENDAR_GROW_DAYS;
	if (cal->ndays > 0)
	{
		first = Min(first, cal->first_day);
		last = Max(last, cal->first_day + cal->ndays - 1);
	}
	first = Max(first, -POSTGRES_EPOCH_JDATE + 1);
	n = last - first + 1;

	m = MemoryContextAlloc(cal->mcxt, sizeof(TimestampTz) * (n + 1));
	for (int i = 0; i <= n; i++)
		m[i] = local_midnight(cal->tz, first + i);
	if (cal->midnights)
		pfree(cal->midnights);
	cal->midnights = m;
	cal->first_day = first;
	cal->ndays = n;
}

/*
 * ecp_local_date
 *		Store-local date of an instant.
 */
DateADT
ecp_local_date(EcpCalendar *cal, TimestampTz ts)
{
	for (;;)
	{
		int64		idx;

		if (TIMESTAMP_NOT_FINITE(ts))
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("timestamp out of range")));

		if (cal->ndays > 0)
		{
			int64		delta = ts - cal->midnights[0];

			idx = delta / USECS_PER_DAY;
			if (delta < 0 && delta % USECS_PER_DAY != 0)
				idx--;
			if (idx >= 0 && idx < cal->ndays)
			{
				while (idx > 0 && cal->midnights[idx] > ts)
					idx--;
				while (idx < cal->ndays - 1 && cal->midnights[idx + 1] <= ts)
					idx++;
				if (cal->midnights[idx] <= ts && ts < cal->midnights[idx + 1])
					return cal->first_day + (DateADT) idx;
			}
		}
		/* outside the table: grow around the instant's UTC date */
		{
			DateADT		guess = (DateADT) (ts / USECS_PER_DAY);

			if (ts < 0 && ts % USECS_PER_DAY != 0)
				guess--;
			calendar_cover(cal, guess - 2, guess + 2);
		}
	}
}

/*
 * ecp_day_start
 *		UTC instant at which a store-local date begins.
 */
TimestampTz
ecp_day_start(EcpCalendar *cal, DateADT day)
{
	if (DATE_NOT_FINITE(day))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("date out of range for the store calendar")));
	calendar_cover(cal, day, day + 1);
	return cal->midnights[day - cal->first_day];
}

/*
 * ecp_local_hour
 *		Store-local hour (0..23) of an instant.
 */
int
ecp_local_hour(EcpCalendar *cal, TimestampTz ts)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz;

	if (timestamp2tm(ts, &tz, &tm, &fsec, NULL, cal->tz) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	return tm.tm_hour;
}

/* ISO weekday of a date: 1 = Monday .. 7 = Sunday */
int
ecp_iso_weekday(DateADT day)
{
	int			wd = j2day(day + POSTGRES_EPOCH_JDATE);	/* 0 = Sunday */

	return wd == 0 ? 7 : wd;
}

/* first day of the date's month */
DateADT
ecp_month_start(DateADT day)
{
	int			y,
				m,
				d;

	j2date(day + POSTGRES_EPOCH_JDATE, &y, &m, &d);
	return date2j(y, m, 1) - POSTGRES_EPOCH_JDATE;
}

/* year * 12 + month - 1: consecutive months differ by one */
int
ecp_month_index(DateADT day)
{
	int			y,
				m,
				d;

	j2date(day + POSTGRES_EPOCH_JDATE, &y, &m, &d);
	return y * 12 + m - 1;
}

/*
 * ecp_add_months
 *		date + 'n months' as PostgreSQL computes it: the day of month is
 *		kept, or clamped to the last day of a shorter month.
 */
DateADT
ecp_add_months(DateADT day, int months)
{
	int			y,
				m,
				d;
	int			idx;
	int			mdays;

	j2date(day + POSTGRES_EPOCH_JDATE, &y, &m, &d);
	idx = y * 12 + (m - 1) + months;
	y = idx >= 0 ? idx / 12 : -((-idx + 11) / 12);
	m = idx - y * 12 + 1;
	mdays = day_tab[isleap(y)][m - 1];
	if (d > mdays)
		d = mdays;
	return date2j(y, m, d) - POSTGRES_EPOCH_JDATE;
}

/*
 * Numeric on-disk header, as in utils/adt/numeric.c.  The format is part of
 * the on-disk representation and cannot change without breaking pg_upgrade.
 */
#define ECP_NBASE			10000
#define ECP_NUMERIC_SIGN_MASK	0xC000
#define ECP_NUMERIC_NEG			0x4000
#define ECP_NUMERIC_SHORT		0x8000
#define ECP_NUMERIC_SPECIAL		0xC000
#define ECP_SHORT_SIGN_MASK		0x2000
#define ECP_SHORT_WEIGHT_SIGN	0x0040
#define ECP_SHORT_WEIGHT_MASK	0x003F

/*
 * ecp_numeric_to_cents
 *		A numeric datum as int64 cents, rounded half away from zero like
 *		numeric's own rounding.  NaN, infinity and values beyond int64 cents
 *		are errors (22003).
 */
int64
ecp_numeric_to_cents(Datum num)
{
	struct varlena *v = (struct varlena *) PG_DETOAST_DATUM_PACKED(num);
	const char *p = VARDATA_ANY(v);
	int			len = VARSIZE_ANY_EXHDR(v);
	uint16		header;
	int			weight;
	bool		neg;
	int			ndigits;
	int64		cents = 0;
	int64		frac = 0;		/* part below one cent, in 1e-8 cents */

	memcpy(&header, p, sizeof(uint16));
	if ((header & ECP_NUMERIC_SIGN_MASK) == ECP_NUMERIC_SPECIAL)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("cannot use NaN or infinity as an amount")));

	if (header & ECP_NUMERIC_SHORT)
	{
		neg = (header & ECP_SHORT_SIGN_MASK) != 0;
		weight = (header & ECP_SHORT_WEIGHT_MASK);
		if (header & ECP_SHORT_WEIGHT_SIGN)
			weight |= ~ECP_SHORT_WEIGHT_MASK;
		p += sizeof(uint16);
		len -= sizeof(uint16);
	}
	else
	{
		int16		w;

		neg = (header & ECP_NUMERIC_SIGN_MASK) == ECP_NUMERIC_NEG;
		memcpy(&w, p + sizeof(uint16), sizeof(int16));
		weight = w;
		p += sizeof(uint16) + sizeof(int16);
		len -= sizeof(uint16) + sizeof(int16);
	}
	ndigits = len / sizeof(int16);

	for (int i = 0; i < ndigits; i++)
	{
		int16		d;
		int			e = weight - i; /* this digit counts d * NBASE^e */

		memcpy(&d, p + i * sizeof(int16), sizeof(int16));
		if (d == 0)
			continue;
		if (e >= 0)
		{
			int64		scaled = (int64) d * 100;

			for (int k = 0; k < e; k++)
			{
				if (pg_mul_s64_overflow(scaled, ECP_NBASE, &scaled))
					goto overflow;
			}
			if (pg_add_s64_overflow(cents, scaled, &cents))
				goto overflow;
		}
		else if (e == -1)
		{
			cents += d / 100;
			frac += (int64) (d % 100) * 1000000;
		}
		else if (e == -2)
			frac += (int64) d * 100;
		/* lower digits add less than 1e-8 cent: they never reach a half */
	}
	if (frac >= 50000000)
		cents += 1;
	return neg ? -cents : cents;

overflow:
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("amount out of range")));
	return 0;					/* keep compiler quiet */
}

/*
 * ecp_column_attnum
 *		Attribute number of a column by name; the columns ecpower reads
 *		directly always exist, so a missing one cannot happen.
 */
AttrNumber
ecp_column_attnum(TupleDesc desc, const char *name)
{
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			return att->attnum;
	}
	elog(ERROR, "column \"%s\" not found", name);
	return InvalidAttrNumber;	/* keep compiler quiet */
}

/*
 * ecp_date_text
 *		A date as text for messages: YYYY-MM-DD whatever DateStyle says, so
 *		that messages read the same in every session.
 */
char *
ecp_date_text(DateADT day)
{
	int			y,
				m,
				d;

	if (DATE_NOT_FINITE(day))
		return DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(day)));
	j2date(day + POSTGRES_EPOCH_JDATE, &y, &m, &d);
	if (y <= 0)
		return DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(day)));
	return psprintf("%04d-%02d-%02d", y, m, d);
}

/*
 * ecp_cents_to_numeric
 *		int64 cents as a numeric with two decimals.
 */
Datum
ecp_cents_to_numeric(int64 cents)
{
	return NumericGetDatum(int64_div_fast_to_numeric(cents, 2));
}

/*
 * ecp_phase_done
 *		Log (DEBUG1) the time a phase of 'what' took, and start timing the
 *		next one.
 */
void
ecp_phase_done(instr_time *start, const char *what, const char *phase)
{
	instr_time	now;

	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, *start);
	elog(DEBUG1, "ecpower %s: %s took %.3f s", what, phase, INSTR_TIME_GET_DOUBLE(now));
	INSTR_TIME_SET_CURRENT(*start);
}

/*
 * ecp_relid
 *		OID of an ecpower table (the schema is fixed: relocatable = false).
 */
Oid
ecp_relid(const char *relname)
{
	Oid			nsp = get_namespace_oid("ecpower", false);
	Oid			relid = get_relname_relid(relname, nsp);

	if (!OidIsValid(relid))
		elog(ERROR, "relation ecpower.%s does not exist", relname);
	return relid;
}
