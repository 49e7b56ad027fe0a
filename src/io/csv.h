/*-------------------------------------------------------------------------
 *
 * csv.h
 *	  RFC 4180 CSV reader over an in-memory buffer.
 *
 * The reader walks a text buffer record by record: fields separated by
 * commas, records by LF or CRLF, fields optionally enclosed in double quotes
 * (inside which commas, line breaks and doubled quotes "" are data).  A
 * leading UTF-8 byte order mark is skipped and empty lines are ignored.
 *
 * src/io/csv.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ECP_CSV_H
#define ECP_CSV_H

#include "postgres.h"

#include "lib/stringinfo.h"

typedef struct CsvReader
{
	const char *data;			/* the whole file */
	size_t		len;
	size_t		pos;			/* next byte to read */
	int64		line;			/* line number of data[pos], 1-based */
	const char *what;			/* file name used in error messages */

	/* the record last returned by csv_next() */
	int64		row;			/* record number, 1-based (header = 1) */
	int64		row_line;		/* line the record starts on */
	int			nfields;
	char	  **fields;			/* NUL-terminated, unquoted field values */
	int		   *lengths;

	/* private */
	int			maxfields;
	int		   *offsets;
	StringInfoData buf;
} CsvReader;

extern void csv_init(CsvReader *reader, const char *data, size_t len,
					 const char *what);
extern bool csv_next(CsvReader *reader);

#endif							/* ECP_CSV_H */
