/*-------------------------------------------------------------------------
 *
 * http.c
 *	  HTTPS requests from a backend, with libcurl (see http.h).
 *
 * The transfer runs on libcurl's multi interface so that the backend
 * wakes up every 100 ms to check for interrupts: a query cancel or
 * pg_terminate_backend() stops a request that is waiting on a slow or
 * stalled server within that time.  The handles are released on every
 * exit path, errors included.
 *
 * Certificate verification cannot be turned off: a server with a private
 * CA is trusted by pointing ca_file at that CA.  Request headers (they
 * carry the access token) appear in no message.
 *
 * src/io/http.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "io/http.h"

#include <curl/curl.h>

#include "miscadmin.h"
#include "utils/memutils.h"

static bool curl_ready = false;

/* what the write and header callbacks need */
typedef struct Transfer
{
	EcpHttpResponse *resp;
	Size		max_bytes;
	bool		too_large;
} Transfer;

/*
 * write_body
 *		libcurl write callback: append to the response body, refusing more
 *		than max_bytes (returning a short count aborts the transfer).
 */
static size_t
write_body(char *data, size_t size, size_t nmemb, void *arg)
{
	Transfer   *t = (Transfer *) arg;
	size_t		n = size * nmemb;

	if ((Size) t->resp->body.len + n > t->max_bytes)
	{
		t->too_large = true;
		return 0;
	}
	appendBinaryStringInfo(&t->resp->body, data, (int) n);
	return n;
}

/*
 * read_header
 *		libcurl header callback: remember Retry-After (seconds form).
 */
static size_t
read_header(char *data, size_t size, size_t nmemb, void *arg)
{
	Transfer   *t = (Transfer *) arg;
	size_t		n = size * nmemb;
	static const char name[] = "retry-after:";

	if (n > sizeof(name) && pg_strncasecmp(data, name, sizeof(name) - 1) == 0)
	{
		char		buf[32];
		size_t		len = Min(n - (sizeof(name) - 1), sizeof(buf) - 1);
		char	   *end;
		double		v;

		memcpy(buf, data + sizeof(name) - 1, len);
		buf[len] = '\0';
		v = strtod(buf, &end);
		if (end != buf && v >= 0)
			t->resp->retry_after = v;
	}
	return n;
}

/*
 * ecp_http_request
 *		See http.h.
 */
void
ecp_http_request(const char *url, const char *const *headers,
				 const char *body, const EcpHttpOptions *opts,
				 const char *what, EcpHttpResponse *resp)
{
	CURL	   *easy;
	CURLM	   *multi;
	struct curl_slist *volatile list = NULL;
	Transfer	t;
	char		errbuf[CURL_ERROR_SIZE];
	volatile CURLcode result = CURLE_OK;
	volatile bool done = false;

	if (!curl_ready)
	{
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
			elog(ERROR, "could not initialize libcurl");
		curl_ready = true;
	}

	initStringInfo(&resp->body);
	resp->status = 0;
	resp->retry_after = -1;
	resp->error = NULL;
	resp->timed_out = false;
	t.resp = resp;
	t.max_bytes = opts->max_bytes;
	t.too_large = false;
	errbuf[0] = '\0';

	easy = curl_easy_init();
	multi = curl_multi_init();
	if (easy == NULL || multi == NULL)
	{
		if (easy)
			curl_easy_cleanup(easy);
		if (multi)
			curl_multi_cleanup(multi);
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not start an HTTP request for %s", what)));
	}

	PG_TRY();
	{
		int			i;

		for (i = 0; headers != NULL && headers[i] != NULL; i++)
		{
			struct curl_slist *l = curl_slist_append(list, headers[i]);

			if (l == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_OUT_OF_MEMORY),
						 errmsg("out of memory building the request for %s", what)));
			list = l;
		}
		curl_easy_setopt(easy, CURLOPT_URL, url);
		curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "https");
		curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, body == NULL ? 1L : 0L);
		curl_easy_setopt(easy, CURLOPT_MAXREDIRS, 5L);
		curl_easy_setopt(easy, CURLOPT_HTTPHEADER, list);
		curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
		if (opts->ca_file != NULL)
			curl_easy_setopt(easy, CURLOPT_CAINFO, opts->ca_file);
		if (opts->proxy != NULL)
			curl_easy_setopt(easy, CURLOPT_PROXY, opts->proxy);
		curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, (long) opts->connect_timeout);
		curl_easy_setopt(easy, CURLOPT_TIMEOUT, (long) opts->timeout);
		curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
		curl_easy_setopt(easy, CURLOPT_USERAGENT, "ecpower");
		curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
		curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, write_body);
		curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t);
		curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, read_header);
		curl_easy_setopt(easy, CURLOPT_HEADERDATA, &t);
		if (body != NULL)
		{
			curl_easy_setopt(easy, CURLOPT_POST, 1L);
			curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
			curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) strlen(body));
		}
		curl_multi_add_handle(multi, easy);

		while (!done)
		{
			int			running = 0;
			CURLMsg    *msg;
			int			left;

			CHECK_FOR_INTERRUPTS();
			if (curl_multi_perform(multi, &running) != CURLM_OK)
				elog(ERROR, "curl_multi_perform failed");
			while ((msg = curl_multi_info_read(multi, &left)) != NULL)
			{
				if (msg->msg == CURLMSG_DONE)
				{
					result = msg->data.result;
					done = true;
				}
			}
			if (!done && running == 0)
				done = true;
			if (!done)
				curl_multi_poll(multi, NULL, 0, 100, NULL);
		}
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &resp->status);
	}
	PG_FINALLY();
	{
		curl_multi_remove_handle(multi, easy);
		curl_easy_cleanup(easy);
		curl_multi_cleanup(multi);
		curl_slist_free_all(list);
	}
	PG_END_TRY();

	if (t.too_large)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the response to %s is larger than %zu bytes", what,
						(size_t) opts->max_bytes),
				 errhint("Raise the server option max_response_mb.")));
	if (result != CURLE_OK)
	{
		resp->error = pstrdup(errbuf[0] ? errbuf : curl_easy_strerror(result));
		resp->timed_out = (result == CURLE_OPERATION_TIMEDOUT);
		resp->status = 0;
	}
}
