/*-------------------------------------------------------------------------
 *
 * csv.c
 *	  RFC 4180 CSV reader over an in-memory buffer.
 *
 * Shopify admin exports are RFC 4180 files: comma separated, CRLF or LF
 * line ends, fields quoted with double quotes when they contain a comma, a
 * quote or a line break (notes and addresses do), quotes doubled inside
 * quoted fields.  The reader hands out one record at a time; field values
 * live in a buffer that the next call overwrites, so callers copy what they
 * keep.  Records are numbered like spreadsheet rows (the header is row 1);
 * because quoted fields may span lines, the line each record starts on is
 * tracked too.
 *
 * src/io/csv.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "io/csv.h"

#include "miscadmin.h"

/*
 * csv_init
 *		Prepare to read the len bytes at data.  "what" names the file in
 *		error messages (e.g. "orders export").  Allocations are made in the
 *		current memory context.
 */
void
csv_init(CsvReader *reader, const char *data, size_t len, const char *what)
{
	memset(reader, 0, sizeof(CsvReader));
	reader->data = data;
	reader->len = len;
	reader->line = 1;
	reader->what = what;
	/* skip a UTF-8 byte order mark (Excel round trips add one) */
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
		reader->pos = 3;
	reader->maxfields = 64;
	reader->fields = palloc(sizeof(char *) * reader->maxfields);
	reader->lengths = palloc(sizeof(int) * reader->maxfields);
	reader->offsets = palloc(sizeof(int) * reader->maxfields);
	initStringInfo(&reader->buf);
}

/*
 * end_field
 *		Terminate the field being collected in the buffer and start another.
 */
static void
end_field(CsvReader *reader, int start)
{
	if (reader->nfields >= reader->maxfields)
	{
		if (reader->maxfields >= 100000)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("row %lld of the %s has more than %d fields",
							(long long) reader->row, reader->what,
							reader->maxfields)));
		reader->maxfields *= 2;
		reader->fields = repalloc(reader->fields,
								  sizeof(char *) * reader->maxfields);
		reader->lengths = repalloc(reader->lengths,
								   sizeof(int) * reader->maxfields);
		reader->offsets = repalloc(reader->offsets,
								   sizeof(int) * reader->maxfields);
	}
	reader->offsets[reader->nfields] = start;
	reader->lengths[reader->nfields] = reader->buf.len - start;
	reader->nfields++;
	appendStringInfoChar(&reader->buf, '\0');
}

/*
 * csv_next
 *		Read the next non-empty record.  Returns false at the end of the
 *		data.  Malformed quoting is a user error (22P02) naming the row.
 */
bool
csv_next(CsvReader *reader)
{
	const char *p = reader->data;
	size_t		len = reader->len;
	size_t		pos = reader->pos;
	int			start;
	int			i;

	/* skip empty lines */
	while (pos < len && (p[pos] == '\n' || p[pos] == '\r'))
	{
		if (p[pos] == '\n')
			reader->line++;
		pos++;
	}
	if (pos >= len)
	{
		reader->pos = pos;
		return false;
	}

	CHECK_FOR_INTERRUPTS();
	reader->row++;
	reader->row_line = reader->line;
	reader->nfields = 0;
	resetStringInfo(&reader->buf);
	start = 0;

	for (;;)
	{
		if (pos < len && p[pos] == '"')
		{
			/* quoted field: runs to the matching quote, "" is a quote */
			int64		open_line = reader->line;

			pos++;
			for (;;)
			{
				size_t		run = pos;

				while (pos < len && p[pos] != '"')
				{
					if (p[pos] == '\n')
						reader->line++;
					pos++;
				}
				appendBinaryStringInfo(&reader->buf, p + run, pos - run);
				if (pos >= len)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
							 errmsg("unterminated quoted field in row %lld, field %d of the %s",
									(long long) reader->row, reader->nfields + 1,
									reader->what),
							 errdetail("The quoted field opens on line %lld and the file ends before its closing quote.",
									   (long long) open_line)));
				if (pos + 1 < len && p[pos + 1] == '"')
				{
					appendStringInfoChar(&reader->buf, '"');
					pos += 2;
					continue;
				}
				pos++;			/* closing quote */
				break;
			}
			if (pos < len && p[pos] != ',' && p[pos] != '\n' && p[pos] != '\r')
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
						 errmsg("unexpected character after a closing quote in row %lld, field %d of the %s",
								(long long) reader->row, reader->nfields + 1,
								reader->what),
						 errdetail("Line %lld has text between a closing quote and the next comma; quotes inside a quoted field must be doubled.",
								   (long long) reader->line)));
		}
		else
		{
			/* unquoted field: a stray quote inside is taken literally */
			size_t		run = pos;

			while (pos < len && p[pos] != ',' && p[pos] != '\n' && p[pos] != '\r')
				pos++;
			appendBinaryStringInfo(&reader->buf, p + run, pos - run);
		}

		end_field(reader, start);
		start = reader->buf.len;

		if (pos < len && p[pos] == ',')
		{
			pos++;
			continue;
		}
		/* end of record: CRLF, LF, lone CR, or end of data */
		if (pos < len && p[pos] == '\r')
			pos++;
		if (pos < len && p[pos] == '\n')
		{
			pos++;
			reader->line++;
		}
		break;
	}

	/* the buffer may have moved while growing: point into it only now */
	for (i = 0; i < reader->nfields; i++)
		reader->fields[i] = reader->buf.data + reader->offsets[i];
	reader->pos = pos;
	return true;
}
