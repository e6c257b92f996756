/* /metrics: the shared counters (lib/metrics.h) as Prometheus text
 * (exposition format 0.0.4): a HELP and a TYPE line per family, every
 * label combination of the fixed enums written even when zero (so rates
 * start from a known point), histograms as cumulative _bucket lines
 * ending at le="+Inf", then _sum and _count.  docs/metrics.md lists
 * every family. */
#ifndef FERRY_ADMIN_METRICS_H
#define FERRY_ADMIN_METRICS_H
#include <stdint.h>

struct fbuf;
struct metrics_region;

/* The content type to answer /metrics with. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Appends the whole exposition of m (normally metrics_shm) to b. */
void metrics_render(struct fbuf *b, struct metrics_region *m);
/* Appends s as a label value: backslash, double quote and line feed
 * escaped as the format wants (\\, \", \n); other bytes as they are. */
void metrics_escape(struct fbuf *b, const char *s);

#endif
