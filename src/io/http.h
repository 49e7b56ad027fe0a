/*-------------------------------------------------------------------------
 *
 * http.h
 *	  HTTPS requests from a backend, with libcurl.
 *
 * One request at a time: certificate verification always on (the system
 * CA bundle, or the given CA file), connect and total timeouts, a proxy,
 * a limit on the response size, and query cancel / backend termination
 * honoured within a tenth of a second while waiting.
 *
 * src/io/http.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ECP_HTTP_H
#define ECP_HTTP_H

#include "postgres.h"

#include "lib/stringinfo.h"

typedef struct EcpHttpOptions
{
	const char *ca_file;		/* PEM bundle to verify the server with, or NULL */
	const char *proxy;			/* proxy URL, or NULL for the environment's */
	int			connect_timeout;	/* seconds */
	int			timeout;		/* seconds for the whole request */
	Size		max_bytes;		/* largest response body accepted */
} EcpHttpOptions;

typedef struct EcpHttpResponse
{
	long		status;			/* HTTP status code */
	StringInfoData body;		/* response body, NUL-terminated */
	double		retry_after;	/* Retry-After in seconds, or -1 */
	char	   *error;			/* transfer failure (no response), or NULL */
	bool		timed_out;		/* the failure was a timeout */
} EcpHttpResponse;

/*
 * Send one request (POST when body is not NULL, else GET).  headers is a
 * NULL-terminated array of "Name: value" lines.  what names the request in
 * error messages; the headers are never shown.  A transfer that fails
 * (no connection, timeout, truncated body) sets resp->error for the caller
 * to retry or report; an oversized response raises 54000.
 */
extern void ecp_http_request(const char *url, const char *const *headers,
							 const char *body, const EcpHttpOptions *opts,
							 const char *what, EcpHttpResponse *resp);

#endif							/* ECP_HTTP_H */
