/* GET /metrics: the node's numbers in Prometheus's text format. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node.h"

static const char *const inst_state_names[INST_STATES] = {"starting", "ready", "stopping",
								"standby"};

static void hist_print(FILE *f, const char *metric, const char *labels, const struct hist *h)
{
	uint64_t cum = 0;
	for (int i = 0; i <= HIST_BUCKETS; i++) {
		cum += h->count[i];
		if (i < HIST_BUCKETS)
			fprintf(f, "%s_bucket{%s,le=\"%g\"} %llu\n", metric, labels, hist_bounds[i],
				(unsigned long long)cum);
		else
			fprintf(f, "%s_bucket{%s,le=\"+Inf\"} %llu\n", metric, labels,
				(unsigned long long)cum);
	}
	fprintf(f, "%s_sum{%s} %.6f\n%s_count{%s} %llu\n", metric, labels, h->sum, metric, labels,
		(unsigned long long)cum);
}

/* What a sandbox holds: the proportional set size of its processes (the
 * sentry, and under it the gofer, the gateway and the guest's stub). */
static uint64_t tree_pss(pid_t pid, int depth)
{
	char p[96];
	uint64_t total = 0;
	snprintf(p, sizeof(p), "/proc/%d/smaps_rollup", pid);
	FILE *f = fopen(p, "re");
	if (f) {
		char line[256];
		unsigned long long kb;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "Pss: %llu kB", &kb) == 1)
				total += kb * 1024;
		fclose(f);
	}
	snprintf(p, sizeof(p), "/proc/%d/task/%d/children", pid, pid);
	if (depth < 4 && (f = fopen(p, "re"))) {
		int child;
		while (fscanf(f, "%d", &child) == 1)
			total += tree_pss(child, depth + 1);
		fclose(f);
	}
	return total;
}

char *ex_node_metrics(struct ex_node *node)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	node_lock(node);
	fprintf(f, "# HELP husk_functions Functions deployed.\n# TYPE husk_functions gauge\n"
		   "husk_functions %u\n",
		node->nfns);
	fprintf(f, "# HELP husk_requests_total Requests answered, by function and status class.\n"
		   "# TYPE husk_requests_total counter\n");
	for (struct ex_fn *fn = node->fns; fn; fn = fn->next)
		for (int c = 1; c <= 5; c++)
			fprintf(f, "husk_requests_total{function=\"%s\",code=\"%dxx\"} %llu\n", fn->name,
				c, (unsigned long long)fn->by_code[c]);
	fprintf(f, "# HELP husk_request_duration_seconds Time from a request's head to the end of "
		   "its response.\n# TYPE husk_request_duration_seconds histogram\n");
	char labels[128];
	for (struct ex_fn *fn = node->fns; fn; fn = fn->next) {
		snprintf(labels, sizeof(labels), "function=\"%s\"", fn->name);
		hist_print(f, "husk_request_duration_seconds", labels, &fn->latency);
	}
	fprintf(f, "# HELP husk_cold_starts_total Instances started, by kind (restore: from the "
		   "snapshot; boot: the deploy's).\n# TYPE husk_cold_starts_total counter\n");
	for (struct ex_fn *fn = node->fns; fn; fn = fn->next) {
		uint64_t boots = 0;
		for (int i = 0; i <= HIST_BUCKETS; i++)
			boots += fn->cold_boot.count[i];
		fprintf(f, "husk_cold_starts_total{function=\"%s\",kind=\"restore\"} %llu\n"
			   "husk_cold_starts_total{function=\"%s\",kind=\"boot\"} %llu\n"
			   "husk_cold_starts_total{function=\"%s\",kind=\"failed\"} %llu\n",
			fn->name, (unsigned long long)fn->cold_starts_restore, fn->name,
			(unsigned long long)boots, fn->name,
			(unsigned long long)fn->cold_starts_failed);
	}
	fprintf(f, "# HELP husk_cold_start_duration_seconds Time to start an instance: a restore "
		   "until it is ready, a boot until its snapshot is written.\n"
		   "# TYPE husk_cold_start_duration_seconds histogram\n");
	for (struct ex_fn *fn = node->fns; fn; fn = fn->next) {
		snprintf(labels, sizeof(labels), "function=\"%s\",kind=\"restore\"", fn->name);
		hist_print(f, "husk_cold_start_duration_seconds", labels, &fn->cold_restore);
		snprintf(labels, sizeof(labels), "function=\"%s\",kind=\"boot\"", fn->name);
		hist_print(f, "husk_cold_start_duration_seconds", labels, &fn->cold_boot);
	}
	fprintf(f, "# HELP husk_instances Instances, by function and state.\n"
		   "# TYPE husk_instances gauge\n");
	for (struct ex_fn *fn = node->fns; fn; fn = fn->next) {
		uint32_t n[INST_STATES] = {0};
		for (struct ex_rev *r = fn->revs; r; r = r->next)
			for (struct ex_inst *in = r->insts; in; in = in->next)
				n[in->state]++;
		for (int s = 0; s < INST_STATES; s++)
			fprintf(f, "husk_instances{function=\"%s\",state=\"%s\"} %u\n", fn->name,
				inst_state_names[s], n[s]);
	}
	fprintf(f, "# HELP husk_queued_requests Requests waiting for an instance.\n"
		   "# TYPE husk_queued_requests gauge\n");
	for (struct ex_fn *fn = node->fns; fn; fn = fn->next)
		fprintf(f, "husk_queued_requests{function=\"%s\"} %u\n", fn->name, fn->nqueued);
	fprintf(f, "# HELP husk_sandbox_memory_bytes Memory the function's sandboxes hold "
		   "(proportional set size of their processes).\n"
		   "# TYPE husk_sandbox_memory_bytes gauge\n");
	for (struct ex_fn *fn = node->fns; fn; fn = fn->next) {
		uint64_t bytes = 0;
		for (struct ex_rev *r = fn->revs; r; r = r->next)
			for (struct ex_inst *in = r->insts; in; in = in->next)
				if (!in->exited && in->proc.pid > 0)
					bytes += tree_pss(in->proc.pid, 0);
		fprintf(f, "husk_sandbox_memory_bytes{function=\"%s\"} %llu\n", fn->name,
			(unsigned long long)bytes);
	}
	node_unlock(node);
	fclose(f);
	return text;
}
