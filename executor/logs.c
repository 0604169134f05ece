/* A function's logs (its guests' output, a line at a time, with when,
 * which revision and which instance: the last LOG_LINES_MAX kept) and
 * the latency histograms of its metrics. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node.h"

void log_add(struct ex_fn *fn, uint32_t rev, uint32_t inst, bool err, const char *text, size_t len)
{
	if (len && text[len - 1] == '\r')
		len--;
	char *t = malloc(len + 1);
	if (!t)
		return;
	/* Kept as text the API's JSON can carry: valid UTF-8 as it is,
	 * anything else with its control and non-ASCII bytes shown as '?'. */
	json_t *valid = json_stringn(text, len);
	bool keep = valid && !memchr(text, 0, len);
	json_decref(valid);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)text[i];
		t[i] = keep || ch == '\t' || (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	t[len] = 0;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct log_line *l;
	if (fn->log_count == LOG_LINES_MAX) {
		l = &fn->logs[fn->log_first];
		free(l->text);
		fn->log_first = (fn->log_first + 1) % LOG_LINES_MAX;
	} else {
		l = &fn->logs[(fn->log_first + fn->log_count++) % LOG_LINES_MAX];
	}
	*l = (struct log_line){.when_ms = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000, .inst = inst,
			       .rev = rev, .err = err, .text = t};
}

/* Upper bounds of the buckets, in seconds (Knative's are similar). */
const double hist_bounds[HIST_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
					  0.1,   0.25,   0.5,   1,    2.5,   10};

void hist_add(struct hist *h, double seconds)
{
	int i = 0;
	while (i < HIST_BUCKETS && seconds > hist_bounds[i])
		i++;
	h->count[i]++;
	h->sum += seconds;
}
