/*-------------------------------------------------------------------------
 *
 * defparse.h
 *	  Internal to the definition compiler: the parser's state and the
 *	  readers of JSON values it is built from (defjson.c), each of which
 *	  rejects a bad value with 22023 and the JSON path of the value.
 *
 * Only src/segments/definition.c and defjson.c include this.
 *
 * src/segments/defparse.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ECP_DEFPARSE_H
#define ECP_DEFPARSE_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/jsonb.h"

#include "segments/definition.h"

/* a segment reference met while parsing, with where it was */
typedef struct EcpRef
{
	char	   *slug;
	char	   *path;
} EcpRef;

typedef struct ParseState
{
	EcpProgram *prog;
	StringInfoData path;
	bool		strict;			/* unresolved segment references are errors */
	List	   *refs;			/* EcpRef *, when not strict */
} ParseState;

/* an object member */
typedef struct Pair
{
	char	   *key;
	JsonbValue	val;
} Pair;

/* the JSON path of the value at hand */
extern void defp_bad(ParseState *ps, const char *fmt,...) pg_attribute_printf(2, 3) pg_attribute_noreturn();
extern int	defp_push_key(ParseState *ps, const char *key);
extern int	defp_push_index(ParseState *ps, int i);
extern void defp_pop(ParseState *ps, int len);

/* values */
extern bool defp_is_object(JsonbValue *v);
extern bool defp_is_array(JsonbValue *v);
extern const char *defp_type_name(JsonbValue *v);
extern void defp_container_value(JsonbContainer *c, JsonbValue *out);
extern Pair *defp_object_pairs(ParseState *ps, JsonbValue *v, int *n);
extern JsonbValue *defp_list_items(ParseState *ps, JsonbValue *v, int *n, const char *what);
extern double defp_number_value(JsonbValue *v);
extern double defp_parse_number(ParseState *ps, JsonbValue *v);
extern int32 defp_read_int(ParseState *ps, JsonbValue *v, int32 lo, int32 hi, const char *what);
extern bool defp_read_bool(ParseState *ps, JsonbValue *v);
extern void defp_parse_text_list(ParseState *ps, JsonbValue *v, EcpTextList *out);
extern void defp_parse_id_list(ParseState *ps, JsonbValue *v, EcpFilter *f);
extern DateADT defp_parse_date(ParseState *ps, JsonbValue *v);
extern void defp_parse_period(ParseState *ps, JsonbValue *v, EcpPeriod *p);

/* comparisons (CMP) */
extern int	defp_cmp_op(const char *key);
extern void defp_parse_cmp_pairs(ParseState *ps, Pair *pairs, int n, EcpCmp *cmp);
extern bool defp_is_cmp_key(const char *key);
extern void defp_parse_cmp(ParseState *ps, JsonbValue *v, EcpCmp *cmp);

#endif							/* ECP_DEFPARSE_H */
